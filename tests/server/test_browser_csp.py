"""Headless Chromium reads every kind of page under its Content-Security-Policy: no violation.

The policy must allow exactly what the pages use. Chromium reports each refused
script, style, image or fetch on the console, so each page is loaded and its
console read. The query page is also loaded with YASGUI served as the CDN would
serve it (the files of the pinned npm package, over TLS, with cdn.jsdelivr.net
mapped to a loopback server), so the editor itself runs under the policy. The browsers
come from conftest.py (`browser`, `start_chromium`), which keeps their console logs.
"""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import tarfile
import threading
from collections.abc import Iterator

import pytest

pytest.importorskip("selenium", reason="selenium is not installed")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

PAGES = [
    "/",
    "/sparql",
    "/sparql?query=SELECT+*+WHERE+%7B+%3Fs+%3Fp+%3Fo+%7D+LIMIT+5&format=html",
    "/id/commune/69123",  # with its map
    "/id/epci/200046977",
    "/api",
    "/api/queries/find-territory?name=Lyon&format=html",
    "/ontology",
    "/vocab",
    "/shapes",
    "/validate",
    "/validate/latest",
    # /dumps and /.well-known/void are left out: their first load builds the dumps (a
    # minute), and they use nothing the pages above do not.
]
YASGUI_VERSION = "4.2.28"


def violations(driver) -> list[str]:
    """The console's Content-Security-Policy messages since the last call."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]


@pytest.mark.parametrize("path", PAGES)
def test_pages_run_without_violations(server, browser, path):
    browser.get(f"{server.url}{path}")
    WebDriverWait(browser, 30).until(
        expected_conditions.presence_of_element_located((By.TAG_NAME, "nav"))
    )
    assert violations(browser) == []


# -- YASGUI under the policy -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_cdn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """cdn.jsdelivr.net's two YASGUI files, from the npm package, served over TLS on loopback."""
    npm, openssl = shutil.which("npm"), shutil.which("openssl")
    if npm is None or openssl is None:
        pytest.skip("needs npm and openssl to serve YASGUI as the CDN does")
    folder = tmp_path_factory.mktemp("cdn")
    packed = subprocess.run(
        [npm, "pack", f"@triply/yasgui@{YASGUI_VERSION}", "--offline", "--silent"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    tarball = folder / f"triply-yasgui-{YASGUI_VERSION}.tgz"
    if packed.returncode != 0 or not tarball.exists():
        pytest.skip(f"the YASGUI package is not in npm's cache: {packed.stderr[-300:]}")
    root = folder / "npm" / f"@triply/yasgui@{YASGUI_VERSION}" / "build"
    root.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        for name in ("yasgui.min.js", "yasgui.min.css"):
            member = archive.extractfile(f"package/build/{name}")
            assert member is not None
            (root / name).write_bytes(member.read())
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=cdn.jsdelivr.net", "-keyout", str(folder / "key.pem")]
        + ["-out", str(folder / "cert.pem")],
        check=True,
        capture_output=True,
    )

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def end_headers(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")  # as jsDelivr does
            super().end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_yasgui_runs_under_the_policy(server, fake_cdn, start_chromium):
    driver = start_chromium(
        f"--host-resolver-rules=MAP cdn.jsdelivr.net:443 127.0.0.1:{fake_cdn}",
        "--ignore-certificate-errors",
    )
    try:
        driver.get(f"{server.url}/sparql")
        WebDriverWait(driver, 60).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#yasgui .yasqe"))
        )
        assert driver.execute_script("return typeof window.Yasgui") == "function"
        # Run the editor's query: it posts to this endpoint (connect-src 'self').
        driver.find_element(By.CSS_SELECTOR, "#yasgui .yasqe_queryButton").click()
        WebDriverWait(driver, 60).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#yasgui .yasr"))
        )
        found = violations(driver)
        assert found == [], found
    finally:
        driver.quit()

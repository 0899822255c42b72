"""The deployment guide (docs/deployment.md), tested as written.

The configuration files and shell recipes are read from the guide itself (the fenced block
after each `<!-- tested: NAME -->` marker), so that the guide and these tests cannot drift:

- nginx: the guide's site, under Debian's nginx with a self-signed certificate, in front of
  `alliance serve` started by the guide's systemd unit; pages, SPARQL, dumps and absolute URLs
  through the proxy;
- backups of the embedded store: the copy recipe while serving, wipe, the restore recipe; and
  `alliance dump`, wipe, `alliance restore`; the named queries answer the same before and after;
- several instances over one remote store (`oxigraph serve`): two instances answer the same,
  and a dump of the remote store restores it.
"""

from __future__ import annotations

import base64
import fcntl
import gzip
import hashlib
import http.client
import json
import os
import re
import shlex
import shutil
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from alliance.cli import main as alliance_main

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "deployment.md"
PUBLIC_HOST = "alliance.example.org"

#: Named queries (with parameters) whose answers must survive a backup and a restore.
NAMED_QUERIES: list[tuple[str, list[str]]] = [
    ("cq1-pilot-contracts", []),
    ("cq3-pact-signatories", []),
    ("cq6-pilot-urban-territories", []),
    ("cq7-provenance", []),
    ("cq8-metropoles-not-signatories", []),
    ("epci-communes", ["epci=https://w3id.org/alliance/id/epci/200046977"]),
    ("departement-epci", ["departement=https://w3id.org/alliance/id/departement/69"]),
    ("find-territory", ["name=Lyon"]),
]


live = sys.modules["alliance_tests_live"]  # loaded by conftest.py


# -- the guide's blocks ------------------------------------------------------------------------


def guide_block(name: str) -> str:
    """The fenced block that follows `<!-- tested: NAME -->` in the guide."""
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(
        rf"<!-- tested: {re.escape(name)} -->\s*```[\w-]*\n(.*?)^```", text, re.S | re.M
    )
    assert found, f"no block marked 'tested: {name}' in {GUIDE}"
    return found.group(1)


def with_variables(script: str, **values: str) -> str:
    """A shell recipe with the values of its leading `NAME=…` assignments replaced."""
    for name, value in values.items():
        script, count = re.subn(
            rf"^{name}=.*$", f"{name}={shlex.quote(value)}", script, count=1, flags=re.M
        )
        assert count == 1, f"the recipe assigns no {name}"
    return script


def run_recipe(script: str, **values: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", with_variables(script, **values)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_guide_marks_every_tested_block() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    marked = set(re.findall(r"<!-- tested: ([\w-]+) -->", text))
    assert marked == {
        "systemd-unit",
        "nginx-site",
        "nginx-upstream",
        "embedded-backup",
        "embedded-restore",
    }
    for name in marked:
        assert guide_block(name).strip()


# -- answers to compare ------------------------------------------------------------------------


def alliance(*args: str, env: dict[str, str] | None = None) -> str:
    """`alliance ARGS…` in this process; its output (fails the test on a non-zero exit)."""
    result = CliRunner().invoke(alliance_main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, f"alliance {' '.join(args)}: {result.output}"
    return result.output


def named_answers(store_args: list[str], env: dict[str, str] | None = None) -> dict[str, str]:
    """The CSV answer of every query of NAMED_QUERIES, rows sorted."""
    answers = {}
    for name, params in NAMED_QUERIES:
        args = ["query", *store_args, "--format", "csv", name]
        for param in params:
            args += ["--param", param]
        lines = alliance(*args, env=env).splitlines()
        answers[name] = "\n".join([lines[0], *sorted(lines[1:])])
    return answers


def assert_not_empty(answers: dict[str, str]) -> None:
    """Every query has rows: comparing empty answers would prove nothing."""
    empty = [name for name, text in answers.items() if "\n" not in text]
    assert not empty, f"no rows: {empty}"


def http_answers(base_url: str) -> dict[str, str]:
    """The CSV answer of every query of NAMED_QUERIES through the web API, rows sorted."""
    answers = {}
    for name, params in NAMED_QUERIES:
        query = [("format", "csv"), *(tuple(p.split("=", 1)) for p in params)]
        reply = live.http("GET", f"{base_url}/api/queries/{name}", params=query)
        assert reply.status == 200, (name, reply.status, reply.text[:500])
        lines = reply.text.replace("\r\n", "\n").splitlines()
        answers[name] = "\n".join([lines[0], *sorted(lines[1:])])
    return answers


def copy_store(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


# -- nginx in front of the systemd unit's command ----------------------------------------------


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )


@dataclass
class Proxy:
    http_port: int
    https_port: int
    process: subprocess.Popen
    folder: Path
    config: str

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body=None,
        source: str | None = None,
    ) -> live.Reply:
        """One HTTPS exchange with nginx, as a client of https://alliance.example.org/."""
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(
            "127.0.0.1",
            self.https_port,
            timeout=120,
            context=context,
            source_address=(source, 0) if source else None,
        )
        try:
            connection.request(
                method, path, body=body, headers={"Host": PUBLIC_HOST, **(headers or {})}
            )
            response = connection.getresponse()
            headers: dict[str, str] = {}
            for key, value in response.getheaders():  # repeated headers (Vary) joined
                key = key.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            return live.Reply(response.status, headers, response.read())
        finally:
            connection.close()


def unit_command(unit: str, port: int, store: Path, cache: Path) -> tuple[list[str], dict]:
    """The unit's ExecStart and Environment, for this machine: our Python, a free port."""
    environment = dict(re.findall(r"^Environment=(\w+)=(.*)$", unit, re.M))
    assert environment["ALLIANCE_STORE"] == "/var/lib/alliance/store"
    environment.update(ALLIANCE_STORE=str(store), ALLIANCE_CACHE_DIR=str(cache))
    (exec_start,) = re.findall(r"^ExecStart=(.*)$", unit, re.M)
    argv = shlex.split(exec_start)
    assert argv[0] == "/opt/alliance/venv/bin/alliance"
    assert argv[argv.index("--port") + 1] == "8000"
    argv[argv.index("--port") + 1] = str(port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
    env.update(environment)
    return [sys.executable, "-m", "alliance.cli", *argv[1:]], env


def wait_for(url: str, process: subprocess.Popen, log_path: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited {process.returncode}: {log_path.read_text()[-3000:]}")
        try:
            if live.http("GET", url, headers={"Accept": "text/turtle"}, timeout=5).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer: {log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="module")
def unit_server(bundled_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """`alliance serve` as the guide's systemd unit starts it, over the bundled store."""
    folder = tmp_path_factory.mktemp("unit-server")
    port = live.free_port()
    command, env = unit_command(
        guide_block("systemd-unit"), port, bundled_store_dir, folder / "cache"
    )
    log_path = folder / "server.log"
    with open(log_path, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/sparql", process, log_path)
        yield port, log_path
    finally:
        stop(process)


def start_proxy(folder: Path, backend_ports: list[int]) -> Proxy:
    """Debian's nginx with the guide's site, on free loopback ports.

    One backend: the site as written. Several: with the guide's `upstream` block listing
    them, and both `proxy_pass` lines pointed at it, as the guide says.
    """
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian package nginx)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-subj", f"/CN={PUBLIC_HOST}", "-keyout", str(folder / "key.pem")]
        + ["-out", str(folder / "cert.pem")],
        check=True,
        capture_output=True,
    )
    http_port, https_port = live.free_port(), live.free_port()
    site = guide_block("nginx-site")
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        f"/etc/letsencrypt/live/{PUBLIC_HOST}/fullchain.pem": str(folder / "cert.pem"),
        f"/etc/letsencrypt/live/{PUBLIC_HOST}/privkey.pem": str(folder / "key.pem"),
    }
    if len(backend_ports) == 1:
        replacements["http://127.0.0.1:8000"] = f"http://127.0.0.1:{backend_ports[0]}"
    else:
        assert site.count("proxy_pass http://127.0.0.1:8000;") == 2
        replacements["proxy_pass http://127.0.0.1:8000;"] = "proxy_pass http://alliance;"
    for old, new in replacements.items():
        assert old in site, f"the guide's nginx site no longer has {old!r}"
        site = site.replace(old, new)
    if len(backend_ports) > 1:
        upstream = guide_block("nginx-upstream")
        listed = re.findall(r"^\s*server 10\.0\.0\.\d+:8000;\n", upstream, re.M)
        assert len(listed) == 2, upstream
        servers = "".join(f"    server 127.0.0.1:{port};\n" for port in backend_ports)
        upstream = upstream.replace(listed[0], servers).replace(listed[1], "")
        site = upstream + site
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers may read our temp folders
    config = (
        f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\nevents {{ worker_connections 256; }}\n"
        "http {\n    include /etc/nginx/mime.types;\n"
        f"    access_log {folder}/access.log;\n"
        f"    client_body_temp_path {temp['body']};\n    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n{site}}}\n"
    )
    conf = folder / "nginx.conf"
    conf.write_text(config)
    check = subprocess.run(
        [binary, "-t", "-c", str(conf), "-e", str(folder / "error.log")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-e", str(folder / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    running = Proxy(http_port, https_port, process, folder, site)
    deadline = time.monotonic() + 30
    while True:
        try:
            running.request("GET", "/sparql", headers={"Accept": "text/turtle"})
            return running
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                stop(process)
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module")
def proxy(unit_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """The guide's nginx site in front of unit_server."""
    running = start_proxy(tmp_path_factory.mktemp("nginx"), [unit_server[0]])
    try:
        yield running
    finally:
        stop(running.process)


JOIN = (
    "SELECT ?c ?name { ?c <https://w3id.org/alliance/ontology#memberOf> "
    "<https://w3id.org/alliance/id/epci/200046977> ; <http://rdf.insee.fr/def/geo#nom> ?name }"
)


@pytest.mark.slow
def test_http_redirects_to_https(proxy: Proxy) -> None:
    reply = live.http(
        "GET",
        f"http://127.0.0.1:{proxy.http_port}/sparql?query=ASK%7B%7D",
        headers={"Host": PUBLIC_HOST},
    )
    assert reply.status == 301
    assert reply.headers["location"] == f"https://{PUBLIC_HOST}/sparql?query=ASK%7B%7D"


@pytest.mark.slow
def test_sparql_through_the_proxy(proxy: Proxy) -> None:
    accept = {"Accept": "application/sparql-results+json"}
    by_get = proxy.request(
        "GET", "/sparql?" + urllib.parse.urlencode({"query": JOIN}), headers=accept
    )
    assert by_get.status == 200, by_get.text[:500]
    rows = json.loads(by_get.body)["results"]["bindings"]
    assert len(rows) > 50  # the communes of the Métropole de Lyon
    by_post = proxy.request(
        "POST",
        "/sparql",
        body=JOIN.encode(),
        headers={**accept, "Content-Type": "application/sparql-query"},
    )
    assert by_post.status == 200
    assert json.loads(by_post.body)["results"]["bindings"] == rows
    # The answer is compressed for clients that ask, and says it varies with the request.
    zipped = proxy.request(
        "GET",
        "/sparql?" + urllib.parse.urlencode({"query": JOIN}),
        headers={**accept, "Accept-Encoding": "gzip"},
    )
    assert zipped.headers.get("content-encoding") == "gzip"
    assert "accept-encoding" in zipped.headers.get("vary", "").lower()
    assert json.loads(gzip.decompress(zipped.body))["results"]["bindings"] == rows


@pytest.mark.slow
def test_the_service_sees_the_client_address(proxy: Proxy, unit_server) -> None:
    # A client on 127.0.0.2 (the whole of 127/8 is loopback) sends a forged X-Forwarded-For;
    # nginx appends the address it sees, and the service believes only that last entry.
    _, log_path = unit_server
    marker = f"ASK {{ ?s ?p ?o }} # client-address-{time.time_ns()}"
    reply = proxy.request(
        "GET",
        "/sparql?" + urllib.parse.urlencode({"query": marker}),
        headers={"X-Forwarded-For": "203.0.113.9", "Accept": "application/sparql-results+json"},
        source="127.0.0.2",
    )
    assert reply.status == 200
    needle = urllib.parse.quote_plus(marker)[:40]
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in log_path.read_text().splitlines() if needle in line]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert lines, "the request is not in the access log"
    entry = json.loads(lines[-1][lines[-1].index("{") :])
    assert entry["client"] == "127.0.0.2"


@pytest.mark.slow
def test_body_size_limit(proxy: Proxy) -> None:
    # A body over client_max_body_size is refused by nginx before it reaches the service.
    padding = "#" + "x" * (10 * 1024 * 1024 + 10) + "\nASK {}"
    reply = proxy.request(
        "POST",
        "/sparql",
        body=padding.encode(),
        headers={"Content-Type": "application/sparql-query"},
    )
    assert reply.status == 413


@pytest.mark.slow
def test_proxy_timeout_outlasts_the_query_limit(proxy: Proxy) -> None:
    from alliance.server.settings import Settings

    timeouts = [int(t) for t in re.findall(r"proxy_read_timeout (\d+)s;", proxy.config)]
    assert timeouts and min(timeouts) > Settings().query_timeout
    # And nginx's body limit is the service's own.
    (size,) = re.findall(r"client_max_body_size (\d+)m;", proxy.config)
    assert int(size) * 1024 * 1024 == Settings().max_body


@pytest.mark.slow
def test_linked_data_page_through_the_proxy(proxy: Proxy) -> None:
    page = proxy.request("GET", "/id/commune/69123", headers={"Accept": "text/html"})
    assert page.status == 200
    assert "Lyon" in page.text
    assert "127.0.0.1" not in page.text  # no backend address leaks into the page
    turtle = proxy.request("GET", "/id/commune/69123", headers={"Accept": "text/turtle"})
    assert turtle.status == 200
    assert turtle.media_type == "text/turtle"
    # The IRIs are the public base's, whatever host serves them.
    assert "https://w3id.org/alliance/id/commune/69123" in turtle.text or (
        "<commune/69123>" in turtle.text and "@base <https://w3id.org/alliance/id/>" in turtle.text
    )


@pytest.mark.slow
def test_absolute_urls_name_the_public_host(proxy: Proxy) -> None:
    public = f"https://{PUBLIC_HOST}/"
    listing = proxy.request("GET", "/dumps", headers={"Accept": "application/json"})
    assert listing.status == 200
    body = json.loads(listing.body)
    assert body["void"] == f"{public}.well-known/void"
    assert {d["url"] for d in body["dumps"]} == {
        f"{public}dumps/alliance.nq.gz",
        f"{public}dumps/alliance.ttl",
    }
    void = proxy.request("GET", "/.well-known/void", headers={"Accept": "application/n-triples"})
    assert f"<{public}sparql>" in void.text
    assert f"<{public}dumps/alliance.nq.gz>" in void.text
    assert "127.0.0.1" not in void.text and "http://alliance" not in void.text
    description = proxy.request("GET", "/sparql", headers={"Accept": "application/n-triples"})
    assert description.status == 200
    assert f"<{public}sparql>" in description.text
    assert "127.0.0.1" not in description.text


@pytest.mark.slow
def test_dump_through_the_proxy(proxy: Proxy, bundled_store_dir: Path, tmp_path: Path) -> None:
    reply = proxy.request("GET", "/dumps/alliance.nq.gz")
    assert reply.status == 200
    assert reply.media_type == "application/gzip"
    assert "content-encoding" not in reply.headers  # not compressed twice
    digest = base64.b64encode(hashlib.sha256(reply.body).digest()).decode()
    assert reply.headers["repr-digest"] == f"sha-256=:{digest}:"
    # The same quads as `alliance dump` writes: a download is a backup too.
    backup = tmp_path / "backup.nq.gz"
    alliance("dump", "--store", str(bundled_store_dir), str(backup))
    assert gzip.decompress(reply.body) == gzip.decompress(backup.read_bytes())
    again = proxy.request(
        "GET", "/dumps/alliance.nq.gz", headers={"If-None-Match": reply.headers["etag"]}
    )
    assert again.status == 304


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = guide_block("systemd-unit")
    (exec_start,) = re.findall(r"^ExecStart=(\S+)", unit, re.M)
    # The paths of this machine; `User=` must name an existing user.
    unit = unit.replace(exec_start, shutil.which("alliance") or sys.executable)
    unit = unit.replace("User=alliance", "User=root")
    path = tmp_path / "alliance.service"
    path.write_text(unit)
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0 and "System has not been booted with systemd" in result.stderr:
        pytest.skip("systemd-analyze cannot run here")
    problems = [
        line
        for line in result.stderr.splitlines()
        if "alliance.service" in line and "Unit configured to use KillMode=none" not in line
    ]
    assert result.returncode == 0 and not problems, result.stderr


# -- updating while serving ----------------------------------------------------------------------


@pytest.mark.slow
def test_ingest_while_serving(bundled_store_dir: Path, tmp_path: Path) -> None:
    store = copy_store(bundled_store_dir, tmp_path / "store")
    extra = tmp_path / "extra.ttl"
    extra.write_text(
        '<https://example.org/deployment> <http://www.w3.org/2000/01/rdf-schema#label> "x" .\n'
    )
    ask = {"query": "ASK { <https://example.org/deployment> ?p ?o }"}
    accept = {"Accept": "application/sparql-results+json"}
    server = live.start_server(store, tmp_path / "server.log")
    try:
        reply = live.http("GET", server.sparql, params=ask, headers=accept)
        assert json.loads(reply.body)["boolean"] is False
        # A second writer is refused while one holds the lock.
        with open(store / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            refused = CliRunner().invoke(
                alliance_main, ["ingest", "--store", str(store), str(extra)]
            )
        assert refused.exit_code != 0
        assert f"another process is writing to {store}" in refused.output
        # An ingest while serving: the running server answers from the new generation.
        alliance("ingest", "--store", str(store), str(extra))
        reply = live.http("GET", server.sparql, params=ask, headers=accept)
        assert json.loads(reply.body)["boolean"] is True
    finally:
        server.stop()


# -- backups of the embedded store -------------------------------------------------------------


@pytest.mark.slow
def test_embedded_backup_wipe_restore(bundled_store_dir: Path, tmp_path: Path) -> None:
    store = copy_store(bundled_store_dir, tmp_path / "store")
    before = named_answers(["--store", str(store)])
    assert_not_empty(before)
    server = live.start_server(store, tmp_path / "server.log")
    try:
        served = http_answers(server.url)
        backup = tmp_path / "backups" / "store-copy"
        # While a writer holds the lock, the recipe gives up and copies nothing.
        with open(store / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            refused = run_recipe(
                guide_block("embedded-backup"), STORE=str(store), BACKUP=str(backup)
            )
        assert refused.returncode != 0
        assert not (backup / "CURRENT").exists()
        # While the server serves, the recipe copies the published generation.
        result = run_recipe(guide_block("embedded-backup"), STORE=str(store), BACKUP=str(backup))
        assert result.returncode == 0, result.stderr
        assert served == http_answers(server.url)
    finally:
        server.stop()
    generation = (store / "CURRENT").read_text().strip()
    assert (backup / "CURRENT").read_text().strip() == generation
    assert [p.name for p in (backup / "generations").iterdir()] == [generation]
    assert [p.name for p in (backup / "unions").iterdir()] == [generation]

    shutil.rmtree(store)  # wiped
    restore = guide_block("embedded-restore")
    assert "systemctl stop alliance" in restore and "systemctl start alliance" in restore
    restore = restore.replace("systemctl stop alliance", ":").replace(
        "systemctl start alliance", ":"
    )
    result = run_recipe(restore, STORE=str(store), BACKUP=str(backup))
    assert result.returncode == 0, result.stderr
    assert (store / "unions" / generation).is_dir()  # the union index came back too
    assert named_answers(["--store", str(store)]) == before
    server = live.start_server(store, tmp_path / "server-restored.log")
    try:
        assert http_answers(server.url) == served
    finally:
        server.stop()


@pytest.mark.slow
def test_embedded_dump_wipe_restore(bundled_store_dir: Path, tmp_path: Path) -> None:
    store = copy_store(bundled_store_dir, tmp_path / "store")
    before = named_answers(["--store", str(store)])
    assert_not_empty(before)
    backup = tmp_path / "alliance.nq.gz"
    alliance("dump", "--store", str(store), str(backup))
    shutil.rmtree(store)  # wiped
    alliance("restore", "--store", str(store), str(backup))
    assert named_answers(["--store", str(store)]) == before
    assert "nothing changed" in alliance("ingest", "--store", str(store))


# -- several instances over one remote store ----------------------------------------------------


@pytest.fixture(scope="module")
def engines() -> ModuleType:
    return sys.modules["alliance_tests_engines"]


@pytest.mark.slow
def test_instances_over_one_remote_store(
    engines: ModuleType,
    unit_server,  # noqa: ANN001
    bundled_store_dir: Path,
    tmp_path: Path,
    oxigraph_engine,  # noqa: ANN001 - tests/conftest.py
    oxigraph_summary,  # noqa: ANN001 - the bundled sources ingested there
) -> None:
    """The guide's remote deployment, on the session's Oxigraph server, which the suite has
    filled with the bundled sources; this test leaves it as it found it (wiped, then
    restored from the backup)."""
    expected = named_answers(["--store", str(bundled_store_dir)])
    assert_not_empty(expected)
    expected_http = http_answers(f"http://127.0.0.1:{unit_server[0]}")
    engine = oxigraph_engine
    assert {o.source for o in oxigraph_summary.outcomes} == {
        "ontology",
        "territories",
        "territory-history",
        "facts",
    }
    instances: list[subprocess.Popen] = []
    try:
        # As the guide says: the store's endpoints in the environment, then `alliance ingest`
        # (the store already holds the bundled sources: nothing to publish).
        env = {
            "ALLIANCE_STORE": engine.query,
            "ALLIANCE_STORE_UPDATE": engine.update,
            "ALLIANCE_STORE_GSP": engine.gsp,
        }
        assert "nothing changed" in alliance("ingest", env=env)
        assert named_answers([], env=env) == expected
        # Two read-only instances, given only the query endpoint, each with its own cache.
        urls = []
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
        for number in (1, 2):
            port = live.free_port()
            log_path = tmp_path / f"instance-{number}.log"
            with open(log_path, "wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "alliance.cli", "serve", "--no-ingest"]
                    + ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                    env={
                        **base_env,
                        "ALLIANCE_STORE": engine.query,
                        "ALLIANCE_CACHE_DIR": str(tmp_path / f"cache-{number}"),
                    },
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            instances.append(process)
            wait_for(f"http://127.0.0.1:{port}/sparql", process, log_path)
            urls.append(f"http://127.0.0.1:{port}")
        first, second = (http_answers(url) for url in urls)
        assert first == second == expected_http
        # nginx in front of both, with the guide's upstream: requests reach both instances.
        logs = [tmp_path / f"instance-{number}.log" for number in (1, 2)]
        before = [log.read_text().count("/api/queries/") for log in logs]
        (tmp_path / "nginx").mkdir()
        balancer = start_proxy(tmp_path / "nginx", [int(u.rsplit(":", 1)[1]) for u in urls])
        instances.append(balancer.process)
        for name, params in NAMED_QUERIES:
            query = urllib.parse.urlencode([("format", "csv"), *(p.split("=", 1) for p in params)])
            for _ in range(2):
                reply = balancer.request("GET", f"/api/queries/{name}?{query}")
                assert reply.status == 200
                lines = reply.text.replace("\r\n", "\n").splitlines()
                assert "\n".join([lines[0], *sorted(lines[1:])]) == expected_http[name]
        after = [log.read_text().count("/api/queries/") for log in logs]
        assert all(a > b for a, b in zip(after, before, strict=True)), (before, after)

        # Back up through a dump, wipe the remote store, restore: the same answers.
        backup = tmp_path / "remote.nq.gz"
        alliance("dump", str(backup), env=env)
        wiped = live.http(
            "POST",
            engine.update,
            data="DROP ALL",
            headers={"Content-Type": "application/sparql-update"},
        )
        assert wiped.status in (200, 204)
        assert named_answers([], env=env) != expected
        alliance("restore", str(backup), env=env)
        assert named_answers([], env=env) == expected
        for url in urls:
            assert http_answers(url) == expected_http
        # Oxigraph's own download of every quad (the guide's curl) holds the same quads, and
        # Alliance's private graphs: its state (version marker, union pointer) and the union.
        every = live.http("GET", engine.gsp, headers={"Accept": "application/n-quads"})
        assert every.status == 200
        private = [q for q in every.body.splitlines() if b"<urn:x-alliance:" in q]
        state = [q for q in private if q.endswith(b"<urn:x-alliance:state> .")]
        pointer = [q for q in state if b"<urn:x-alliance:union> " in q]
        assert len(pointer) == 1
        union = pointer[0].split(b"<urn:x-alliance:union> ", 1)[1].split(b" ", 1)[0]
        assert union.startswith(b"<urn:x-alliance:union:")
        assert all(q in state or q.endswith(b" " + union + b" .") for q in private)
        public = sorted(q for q in every.body.splitlines() if b"<urn:x-alliance:" not in q)
        assert public == sorted(gzip.decompress(backup.read_bytes()).splitlines())
    finally:
        for process in instances:
            stop(process)

    # The engine's own tools, server stopped: `oxigraph dump`, then `oxigraph load` into a
    # fresh folder served by a new `oxigraph serve`: the same answers.
    binary = shutil.which("oxigraph")
    engine_dump = tmp_path / "engine.nq"
    engine.stop()
    try:
        subprocess.run(
            [binary, "dump", "--location", str(engine.folder / "data")]
            + ["--file", str(engine_dump)],
            check=True,
            capture_output=True,
        )
    finally:
        engines.restart_oxigraph(engine)  # the session's server, for the tests after this one
    fresh = tmp_path / "oxigraph-restored"
    fresh.mkdir()
    subprocess.run(
        [binary, "load", "--location", str(fresh / "data"), "--file", str(engine_dump)],
        check=True,
        capture_output=True,
    )
    loaded = engines.start_oxigraph(fresh)
    try:
        assert named_answers([], env={"ALLIANCE_STORE": loaded.query}) == expected
    finally:
        loaded.stop()


@pytest.mark.slow
def test_virtuoso_store_steps(engines: ModuleType, tmp_path: Path) -> None:
    """The guide's Virtuoso steps: the password change, the endpoints, anonymous reads only."""
    if engines.virtuoso_binary() is None or shutil.which("isql-vt") is None:
        pytest.skip("Virtuoso is not installed (Debian virtuoso-opensource-7-bin)")
    text = GUIDE.read_text(encoding="utf-8")
    (command,) = re.findall(r"`(isql-vt 127\.0\.0\.1:1111 dba dba exec=\"[^\"]+\")`", text)
    assert "NEWPASSWORD" in command
    table = dict(re.findall(r"\| `(--store[\w-]*)` \| `http://10\.0\.0\.5:8890(/[\w-]+)` \|", text))
    assert set(table) == {"--store", "--store-update", "--store-gsp"}
    engine = engines.start_virtuoso(tmp_path)
    try:
        base = engine.query.rsplit("/", 1)[0]
        argv = shlex.split(command.replace("1111", engine.extra["sql_port"]))
        argv = [a.replace("NEWPASSWORD", "s3cret-pw") for a in argv]
        changed = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60)
        assert "Done." in changed.stdout and "Error" not in changed.stdout + changed.stderr
        # Anonymous writes on /sparql are refused.
        refused = live.http(
            "POST",
            base + table["--store"],
            data="INSERT DATA { GRAPH <https://example.org/g> { <urn:a> <urn:b> <urn:c> } }",
            headers={"Content-Type": "application/sparql-update"},
        )
        assert refused.status >= 400
        env = {
            "ALLIANCE_STORE": base + table["--store"],
            "ALLIANCE_STORE_UPDATE": base + table["--store-update"],
            "ALLIANCE_STORE_GSP": base + table["--store-gsp"],
            "ALLIANCE_STORE_USER": "dba",
        }
        # The old password no longer writes; the new one does (HTTP digest).
        old = CliRunner().invoke(
            alliance_main, ["ingest", "ontology"], env={**env, "ALLIANCE_STORE_PASSWORD": "dba"}
        )
        assert old.exit_code != 0
        alliance("ingest", "ontology", env={**env, "ALLIANCE_STORE_PASSWORD": "s3cret-pw"})
        answer = alliance(
            "query",
            "--format",
            "csv",
            "SELECT (COUNT(*) AS ?n) { ?s a <http://www.w3.org/2002/07/owl#Class> }",
            env=env,
        )
        assert int(answer.splitlines()[1]) > 10
    finally:
        engine.stop()

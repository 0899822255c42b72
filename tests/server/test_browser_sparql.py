"""The query page as a person uses it: headless Chromium fills the plain form and reads rows.

Runs with no network beyond loopback, so it also shows that the page works when
YASGUI's CDN cannot be reached.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1200,1000",
]


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads: Path) -> Iterator:
    profile = tempfile.mkdtemp(prefix="alliance-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def wait_for(driver, selector: str):
    return WebDriverWait(driver, 30).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector))
    )


def test_plain_form_shows_result_rows(server, browser):
    browser.get(server.sparql)
    wait_for(browser, "#sparql-form")
    browser.find_element(By.ID, "example-pact-metropoles").click()
    textarea = wait_for(browser, "textarea#query")
    assert "pacte-etat-metropoles" in textarea.get_attribute("value")
    assert Select(browser.find_element(By.ID, "format")).first_selected_option.text == (
        "Table (HTML)"
    )
    browser.find_element(By.ID, "run").click()
    wait_for(browser, "table#results")
    rows = browser.find_elements(By.CSS_SELECTOR, "table#results tbody tr")
    assert len(rows) == 15
    names = {row.find_elements(By.TAG_NAME, "td")[1].text for row in rows}
    assert any(name.startswith("Métropole de Lyon") for name in names)
    # Our own IRIs lead to this server's resource pages.
    first = rows[0].find_element(By.TAG_NAME, "a").get_attribute("href")
    assert first.startswith(f"{server.url}/id/epci/")


def test_edited_query_downloaded_as_csv(server, browser, downloads: Path):
    browser.get(server.sparql)
    textarea = wait_for(browser, "textarea#query")
    textarea.clear()
    textarea.send_keys(
        "SELECT (COUNT(?c) AS ?n) WHERE { ?c <https://w3id.org/alliance/ontology#memberOf> "
        "<https://w3id.org/alliance/id/epci/200046977> }"
    )
    Select(browser.find_element(By.ID, "format")).select_by_value("csv")
    browser.find_element(By.ID, "run").click()
    deadline = time.monotonic() + 30
    files: list[Path] = []
    while time.monotonic() < deadline:
        files = [f for f in downloads.iterdir() if f.suffix == ".csv"]
        if files:
            break
        time.sleep(0.2)
    assert files, "the browser downloaded no CSV file"
    assert files[0].read_text().split() == ["n", "58"]

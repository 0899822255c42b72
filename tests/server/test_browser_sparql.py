"""The query page as a person uses it without scripts: headless Chromium, its JavaScript
off, fills the plain form, reads rows, downloads, and gets its errors beside the query.

The same page with scripts on (YASGUI) is tested in test_browser_editor.py. `server`
and `start_chromium` come from conftest.py.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("selenium", reason="selenium is not installed")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

chromium = sys.modules["alliance_tests_chromium"]


@pytest.fixture(scope="module")
def browser(start_chromium) -> Iterator:
    """A headless Chromium that runs no script, cut off from the network."""
    driver = start_chromium("--blink-settings=scriptEnabled=false", *chromium.OFFLINE)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def downloads(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh folder where the session's browser saves downloads, without asking."""
    folder = tmp_path_factory.mktemp("downloads")
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)}
    )
    yield folder
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "default"})


def wait_for(driver, selector: str):
    return WebDriverWait(driver, 30).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector))
    )


def test_plain_form_shows_result_rows(server, browser):
    browser.get(server.sparql)
    wait_for(browser, "#sparql-form")
    # The page's scripts did not run (selenium's own still can): no editor.
    assert browser.execute_script("return typeof window.Yasgui") == "undefined"
    assert browser.find_elements(By.CSS_SELECTOR, "#yasgui *") == []
    assert browser.find_element(By.ID, "query").is_displayed()
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


def test_plain_form_error_is_shown_beside_the_kept_query(server, browser):
    typed = "SELECT ?c ?n WHERE { ?c a igeo:Commune ; igeo:nom ?n } LIMIT 3"
    browser.get(server.sparql)
    textarea = wait_for(browser, "textarea#query")
    textarea.clear()
    textarea.send_keys(typed)
    browser.find_element(By.ID, "run").click()
    error = wait_for(browser, "#query-error")
    assert browser.find_element(By.ID, "query").get_attribute("value") == typed
    assert error.find_element(By.CLASS_NAME, "message").text == (
        "Line 1, column 27: the prefix igeo: is not declared; add this line at the top of the "
        "query:"
    )
    assert error.find_element(By.CLASS_NAME, "declaration").text == (
        "PREFIX igeo: <http://rdf.insee.fr/def/geo#>"
    )
    error.find_element(By.CLASS_NAME, "add-declaration").click()
    wait_for(browser, "table#results")
    assert len(browser.find_elements(By.CSS_SELECTOR, "table#results tbody tr")) == 3

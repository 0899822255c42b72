"""The validation form as a curator uses it: headless Chromium on the real server.

Paste broken data, submit, read the grouped report, follow its links. Needs Debian's chromium
and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) and selenium; skipped with the
reason when any is missing. Both paths are given to selenium, so it never downloads anything.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip(
        f"headless Chromium needs {CHROMIUM} and {CHROMEDRIVER} "
        "(apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

RURAL_EN = "The reciprocity contract has no party with the rural or periurban role."
#: A reciprocity contract whose only party is urban (so it also has a single party).
BROKEN = """\
@prefix alli: <https://w3id.org/alliance/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix pr: <https://w3id.org/alliance/vocab/party-role/> .

<agreement/browser-test> a alli:ReciprocityContract ;
    rdfs:label "Contrat du navigateur"@fr , "Browser contract"@en ;
    dcterms:source <source/lab-periurbain-reciprocite> ;
    alli:implementsInstrument <instrument/contrat-de-reciprocite> ;
    alli:hasParty <epci/200046977> ;
    alli:participation <agreement/browser-test/party/epci-200046977> .

<agreement/browser-test/party/epci-200046977> a alli:Participation ;
    rdfs:label "Métropole de Lyon, partie"@fr , "Métropole de Lyon, party"@en ;
    dcterms:source <source/lab-periurbain-reciprocite> ;
    alli:party <epci/200046977> ;
    alli:partyRole pr:urban .
"""


def _load(name: str) -> ModuleType:
    """A helper module of this folder (pytest's importlib mode puts none on sys.path)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ld_serve = _load("ld_serve")


@pytest.fixture(scope="module")
def served(bundled_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """`alliance serve --no-ingest --workers 1` over the bundled store, stopped by its pid."""
    folder = tmp_path_factory.mktemp("validate-server")
    server = ld_serve.start(bundled_store_dir, folder / "server.log", cache_dir=folder / "cache")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1024",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-validate-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


@pytest.mark.slow
def test_paste_submit_and_read_the_grouped_report(browser, served) -> None:  # noqa: ANN001
    browser.get(f"{served.url}/validate?lang=en")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Validate data")
    textarea = browser.find_element(By.ID, "data")
    textarea.send_keys(BROKEN)
    Select(browser.find_element(By.ID, "syntax")).select_by_value("turtle")
    Select(browser.find_element(By.ID, "lang")).select_by_value("en")
    browser.find_element(By.ID, "submit").click()

    WebDriverWait(browser, 120).until(
        expected_conditions.presence_of_element_located((By.ID, "report"))
    )
    report = browser.find_element(By.ID, "report")
    status = report.find_element(By.CSS_SELECTOR, ".status")
    assert status.is_displayed() and status.text.startswith("Does not conform")
    groups = report.find_elements(By.CSS_SELECTOR, "section.shape")
    headings = [g.find_element(By.TAG_NAME, "h3").text for g in groups]
    # no rural party, a single party (Violations, first), no description (an Info, last)
    assert len(groups) == 3, headings
    assert headings[-1].startswith("Info description"), headings
    assert {h.split(" ", 1)[0] for h in headings[:2]} == {"Violation"}
    assert any("rural or periurban party" in h for h in headings), headings
    assert RURAL_EN in report.text
    focus = report.find_elements(By.CSS_SELECTOR, "td.focus")
    assert any("Browser contract" in cell.text for cell in focus)
    # the pasted data is still in the form, to fix and submit again
    assert "agreement/browser-test" in browser.find_element(By.ID, "data").get_attribute("value")

    # the shape's name leads to its documentation
    link = report.find_element(By.LINK_TEXT, "rural or periurban party")
    link.click()
    WebDriverWait(browser, 60).until(expected_conditions.url_contains("/shapes"))
    section = browser.find_element(By.ID, "ReciprocityContract-ruralOrPeriurban")
    assert "At least one participation with the rural or periurban role." in section.text
    assert RURAL_EN in section.text


@pytest.mark.slow
def test_last_ingest_page_lists_each_graph(browser, served) -> None:  # noqa: ANN001
    browser.get(f"{served.url}/validate/latest?lang=en")
    sections = browser.find_elements(By.CSS_SELECTOR, "section.graph-validation")
    assert len(sections) == 3
    assert all(s.find_element(By.CSS_SELECTOR, ".status").is_displayed() for s in sections)

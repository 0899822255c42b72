"""The validation form as a curator uses it: headless Chromium on the real server.

Paste broken data, submit, read the grouped report, follow its links. `browser` and `server`
come from conftest.py; without Chromium, its driver or selenium the tests are skipped with the
reason.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("selenium", reason="selenium is not installed")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

chromium = sys.modules["alliance_tests_chromium"]  # loaded by conftest.py

RURAL_EN = "The reciprocity contract has no party with the rural or periurban role."
KNOWN_BAD = (Path(__file__).resolve().parents[1] / "data" / "broken-contract.ttl").read_text(
    encoding="utf-8"
)
#: The reciprocity contract of the shared known-bad data, whose only party is urban (so it also
#: has a single party), without its description and without the commitment.
BROKEN = "\n".join(
    line
    for line in KNOWN_BAD[: KNOWN_BAD.index("<commitment/")].splitlines()
    if "dcterms:description" not in line
)


@pytest.fixture()
def browser(browser) -> Iterator:
    """The session's browser (conftest.py), given two minutes to load a page: validating is slow."""
    browser.set_page_load_timeout(120)
    yield browser
    browser.set_page_load_timeout(chromium.PAGE_LOAD_SECONDS)


@pytest.mark.slow
def test_paste_submit_and_read_the_grouped_report(browser, server) -> None:  # noqa: ANN001
    browser.get(f"{server.url}/validate?lang=en")
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
    assert any("Test contract" in cell.text for cell in focus)
    # the pasted data is still in the form, to fix and submit again
    assert "agreement/test-contract" in browser.find_element(By.ID, "data").get_attribute("value")

    # the shape's name leads to its documentation
    link = report.find_element(By.LINK_TEXT, "rural or periurban party")
    link.click()
    WebDriverWait(browser, 60).until(expected_conditions.url_contains("/shapes"))
    section = browser.find_element(By.ID, "ReciprocityContract-ruralOrPeriurban")
    assert "At least one participation with the rural or periurban role." in section.text
    assert RURAL_EN in section.text


@pytest.mark.slow
def test_last_ingest_page_lists_each_graph(browser, server) -> None:  # noqa: ANN001
    browser.get(f"{server.url}/validate/latest?lang=en")
    sections = browser.find_elements(By.CSS_SELECTOR, "section.graph-validation")
    assert len(sections) == 4
    assert all(s.find_element(By.CSS_SELECTOR, ".status").is_displayed() for s in sections)

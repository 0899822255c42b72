"""Resource pages as a person sees them: headless Chromium on the real server.

`browser` and `server` come from conftest.py; without Chromium, its driver or selenium the
tests are skipped with the reason.
"""

from __future__ import annotations

import pytest

pytest.importorskip("selenium", reason="selenium is not installed")

from selenium.webdriver.common.by import By  # noqa: E402


@pytest.mark.slow
def test_commune_page_shows_label_and_map(browser, server) -> None:
    browser.get(f"{server.url}/id/commune/69123")
    assert browser.title.startswith("Lyon")
    assert browser.find_element(By.CSS_SELECTOR, "h1 .label").text == "Lyon"
    svg = browser.find_element(By.CSS_SELECTOR, "figure.map svg")
    assert svg.is_displayed() and svg.size["width"] > 100
    point = browser.find_element(By.CSS_SELECTOR, "figure.map svg circle.point")
    assert point.is_displayed()
    osm = browser.find_element(By.CSS_SELECTOR, "figure.map figcaption a")
    assert osm.get_attribute("href").startswith("https://www.openstreetmap.org/?mlat=45.76")
    part_of = browser.find_element(By.ID, "part-of").text
    assert "Métropole de Lyon" in part_of and "Rhône" in part_of


@pytest.mark.slow
def test_epci_page_lists_members_and_links_work(browser, server) -> None:
    browser.get(f"{server.url}/id/epci/200046977")
    assert browser.find_element(By.CSS_SELECTOR, "h1 .label").text == "Métropole de Lyon"
    members = browser.find_elements(By.CSS_SELECTOR, "#members li.member")
    assert len(members) == 58
    lyon = next(m for m in members if m.text.startswith("Lyon"))
    lyon.find_element(By.TAG_NAME, "a").click()
    assert browser.current_url == f"{server.url}/id/commune/69123"
    assert browser.find_element(By.CSS_SELECTOR, "h1 .label").text == "Lyon"

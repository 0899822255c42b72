"""Resource pages as a person sees them: headless Chromium on the real server.

Needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver) and
selenium; skipped with the reason when any is missing. Both paths are given to selenium, so
it never tries to download a browser or a driver.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

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


def _load(name: str) -> object:
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
def browser_server(bundled_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    folder = tmp_path_factory.mktemp("browser-server")
    served = ld_serve.start(bundled_store_dir, folder / "server.log", cache_dir=folder / "cache")
    yield served
    served.stop()


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
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.mark.slow
def test_commune_page_shows_label_and_map(browser, browser_server) -> None:
    browser.get(f"{browser_server.url}/id/commune/69123")
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
def test_epci_page_lists_members_and_links_work(browser, browser_server) -> None:
    browser.get(f"{browser_server.url}/id/epci/200046977")
    assert browser.find_element(By.CSS_SELECTOR, "h1 .label").text == "Métropole de Lyon"
    members = browser.find_elements(By.CSS_SELECTOR, "#members li.member")
    assert len(members) == 58
    lyon = next(m for m in members if m.text.startswith("Lyon"))
    lyon.find_element(By.TAG_NAME, "a").click()
    assert browser.current_url == f"{browser_server.url}/id/commune/69123"
    assert browser.find_element(By.CSS_SELECTOR, "h1 .label").text == "Lyon"

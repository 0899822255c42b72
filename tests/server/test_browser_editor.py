"""The query page's editor as a new user meets it, on a machine that reaches only the server.

Headless Chromium resolves no host name but loopback's (`chromium.OFFLINE`) and records
every request it sends: the editor must highlight, complete from this server's own lists,
run the query and show its rows, and show an error beside the query it keeps, all without
a request to any other host and without a console error. Keys are typed into the editor
as a person types them (selenium's send_keys into CodeMirror's input).
"""

from __future__ import annotations

import sys
from urllib.parse import urlencode, urlsplit

import pytest

pytest.importorskip("selenium", reason="selenium is not installed")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

chromium = sys.modules["alliance_tests_chromium"]

DOCS_QUERY = "SELECT ?c ?n WHERE { ?c a igeo:Commune ; igeo:nom ?n } LIMIT 3"
EDITOR_VALUE = "return document.querySelector('#yasgui .CodeMirror').CodeMirror.getValue()"


def wait_for(driver, selector: str, seconds: float = 30):
    return WebDriverWait(driver, seconds).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector))
    )


@pytest.fixture
def fresh(server, offline_browser):
    """The offline browser, its logs emptied; after the test, no request went elsewhere."""
    chromium.requested_urls(offline_browser)
    chromium.console_errors(offline_browser)
    yield offline_browser
    own = urlsplit(server.url).netloc
    urls = chromium.requested_urls(offline_browser)
    assert [u for u in urls if urlsplit(u).scheme.startswith("http")] != []
    assert [
        u for u in urls if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own
    ] == []


@pytest.fixture
def page(server, fresh):
    """The query page, loaded in the offline browser."""
    fresh.get(server.sparql)
    wait_for(fresh, "#yasgui .yasqe .CodeMirror")
    return fresh


def editor_input(driver):
    """CodeMirror's input, focused, emptied."""
    driver.find_element(By.CSS_SELECTOR, "#yasgui .CodeMirror").click()
    typed = driver.find_element(By.CSS_SELECTOR, "#yasgui .CodeMirror textarea")
    typed.send_keys(Keys.CONTROL, "a")
    typed.send_keys(Keys.DELETE)
    return typed


def hints(driver, expected: str) -> list[str]:
    """The completions the editor offers, once `expected` is among them (or the wait fails)."""
    read = (
        "return Array.from(document.querySelectorAll('.CodeMirror-hints li'))"
        ".map(function (e) { return e.textContent; })"
    )
    WebDriverWait(driver, 10).until(lambda d: expected in d.execute_script(read))
    return driver.execute_script(read)


def run(driver) -> None:
    driver.find_element(By.CSS_SELECTOR, "#yasgui .yasqe_queryButton").click()


def test_editor_starts_highlighted_with_the_project_prefixes(page):
    value = page.execute_script(EDITOR_VALUE)
    for line in (
        "PREFIX igeo: <http://rdf.insee.fr/def/geo#>",
        "PREFIX alli: <https://w3id.org/alliance/ontology#>",
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>",
    ):
        assert line in value.splitlines()
    assert "pacte-etat-metropoles" in value  # the first example
    # Read in one go: CodeMirror redraws its lines while it folds the prefixes.
    keywords = set(
        page.execute_script(
            "return Array.from(document.querySelectorAll('#yasgui .cm-keyword'))"
            ".map(function (e) { return e.textContent; })"
        )
    )
    assert {"SELECT", "WHERE"} <= keywords
    # The plain form's text area gives way to the editor; its format menu and button stay.
    assert not page.find_element(By.ID, "query").is_displayed()
    assert page.find_element(By.ID, "run").is_displayed()
    assert chromium.console_errors(page) == []


def test_typed_docs_query_completes_and_returns_three_communes(page, server):
    typed = editor_input(page)
    typed.send_keys("SELECT ?c ?n WHERE { ?c a igeo:Comm")
    # Classes come from this graph, with the prefix the editor declared on its own.
    hint = wait_for(page, ".CodeMirror-hints li.CodeMirror-hint-active")
    assert hint.text == "igeo:Commune"
    typed.send_keys(Keys.ENTER)
    typed.send_keys(" ; igeo:no")
    assert "igeo:nom" in hints(page, "igeo:nom")  # properties too
    typed.send_keys("m ?n } LIMIT 3")
    value = page.execute_script(EDITOR_VALUE)
    assert value == f"PREFIX igeo: <http://rdf.insee.fr/def/geo#>\n{DOCS_QUERY}"
    run(page)
    wait_for(page, "#yasgui .yasr tbody tr")
    rows = page.find_elements(By.CSS_SELECTOR, "#yasgui .yasr tbody tr")
    assert len(rows) == 3
    links = [
        a.get_attribute("href")
        for a in page.find_elements(By.CSS_SELECTOR, "#yasgui .yasr tbody a")
    ]
    assert len(links) == 3
    assert all(link.startswith(f"{server.url}/id/commune/") for link in links)
    assert chromium.console_errors(page) == []


def test_prefixes_complete_from_the_project_list(page):
    typed = editor_input(page)
    typed.send_keys("PREFIX sk")
    skos = "skos: <http://www.w3.org/2004/02/skos/core#>"
    assert hints(page, skos) == [skos]  # ours, not prefix.cc's hundreds
    assert chromium.console_errors(page) == []


def besides_the_refusal(errors: list[str]) -> list[str]:
    """The console's errors but the two a refused query writes there: Chromium's line for the
    400 answer, and YASGUI's own report of it (its query function logs every failure)."""
    return [
        e
        for e in errors
        if "the server responded with a status of 400" not in e
        and not ("yasgui.min.js" in e and "Error: BAD REQUEST" in e)
    ]


def test_misspelt_keyword_is_shown_beside_the_kept_query(page, server):
    typed = editor_input(page)
    typed.send_keys("SELEC ?x")
    run(page)
    error = wait_for(page, "#editor-error")
    assert error.text == "Line 1, column 1: ‘SELEC’ is not a SPARQL keyword; did you mean SELECT?"
    assert page.execute_script(EDITOR_VALUE) == "SELEC ?x"
    # Beside the query: right after the editor, its position marked.
    assert page.execute_script(
        "return document.getElementById('editor-error').previousElementSibling"
        ".classList.contains('CodeMirror')"
    )
    marked = "return document.querySelector('#yasgui .query-error-mark').textContent"
    assert page.execute_script(marked) == "SELEC"
    errors = chromium.console_errors(page)
    assert len(errors) == 2 and besides_the_refusal(errors) == []


def test_pasted_query_with_undeclared_prefix_offers_the_declaration(page):
    editor_input(page)
    # Set as a paste would: the editor adds declarations only while a prefix is typed.
    page.execute_script(
        "document.querySelector('#yasgui .CodeMirror').CodeMirror.setValue(arguments[0])",
        DOCS_QUERY,
    )
    run(page)
    error = wait_for(page, "#editor-error")
    assert error.find_element(By.CLASS_NAME, "message").text == (
        "Line 1, column 27: the prefix igeo: is not declared; add this line at the top of the "
        "query:"
    )
    assert error.find_element(By.CLASS_NAME, "declaration").text == (
        "PREFIX igeo: <http://rdf.insee.fr/def/geo#>"
    )
    assert page.execute_script(EDITOR_VALUE) == DOCS_QUERY
    error.find_element(By.CLASS_NAME, "add-declaration").click()
    assert page.execute_script(EDITOR_VALUE).startswith(
        "PREFIX igeo: <http://rdf.insee.fr/def/geo#>\n"
    )
    assert page.find_elements(By.ID, "editor-error") == []
    run(page)
    wait_for(page, "#yasgui .yasr tbody tr")
    assert len(page.find_elements(By.CSS_SELECTOR, "#yasgui .yasr tbody tr")) == 3
    assert besides_the_refusal(chromium.console_errors(page)) == []


def test_example_loads_into_the_editor(page):
    page.find_element(By.ID, "example-lyon-members").click()
    value = page.execute_script(EDITOR_VALUE)
    assert "<https://w3id.org/alliance/id/epci/200046977>" in value
    assert "PREFIX igeo: <http://rdf.insee.fr/def/geo#>" in value.splitlines()
    run(page)
    wait_for(page, "#yasgui .yasr tbody tr")
    cell = page.find_element(By.CSS_SELECTOR, "#yasgui .yasr tbody tr").text.split()[-1]
    assert cell == '"58"^^xsd:integer'  # datatypes shown
    page.find_element(By.ID, "example-pact-metropoles").click()
    run(page)
    WebDriverWait(page, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#yasgui .yasr tbody tr")) == 15
    )
    names = [
        row.find_elements(By.TAG_NAME, "td")[-1].text
        for row in page.find_elements(By.CSS_SELECTOR, "#yasgui .yasr tbody tr")
    ]
    assert '"Métropole de Lyon"@fr' in names  # language tags shown
    assert chromium.console_errors(page) == []


def test_form_error_page_shows_the_error_in_the_editor(server, fresh):
    # What the form's Run button brings back for a malformed query, with scripts on.
    fresh.get(f"{server.sparql}?{urlencode({'query': DOCS_QUERY, 'format': 'html'})}")
    error = wait_for(fresh, "#editor-error")
    assert error.find_element(By.CLASS_NAME, "message").text.startswith(
        "Line 1, column 27: the prefix igeo: is not declared"
    )
    assert fresh.find_elements(By.ID, "query-error") == []  # moved, not doubled
    assert fresh.execute_script(EDITOR_VALUE) == DOCS_QUERY
    # The page's own query string is not run again by the editor.
    assert fresh.find_elements(By.CSS_SELECTOR, "#yasgui .yasr tbody tr") == []
    assert besides_the_refusal(chromium.console_errors(fresh)) == []


def test_a_shared_link_opens_its_query(server, fresh):
    shared = urlencode({"query": "SELECT (1 + 1 AS ?two) {}", "endpoint": server.sparql})
    # From another page: on the query page already, a new fragment would not load the page.
    fresh.get(f"{server.url}/favicon.ico")
    fresh.get(f"{server.sparql}#{shared}")
    wait_for(fresh, "#yasgui .yasr tbody tr")
    assert fresh.execute_script(EDITOR_VALUE) == "SELECT (1 + 1 AS ?two) {}"
    cell = fresh.find_element(By.CSS_SELECTOR, "#yasgui .yasr tbody tr td:last-child")
    assert cell.text == '"2"^^xsd:integer'
    assert chromium.console_errors(fresh) == []


def test_form_button_sends_the_editor_s_query_for_the_table_page_and_downloads(page, server):
    typed = editor_input(page)
    typed.send_keys("SELECT ?c ?n WHERE { ?c a igeo:Commune ; igeo:nom ?n } LIMIT 3")
    page.find_element(By.ID, "run").click()  # the form's button, under the editor
    wait_for(page, "table#results")
    assert len(page.find_elements(By.CSS_SELECTOR, "table#results tbody tr")) == 3
    downloads = [a.text for a in page.find_elements(By.CSS_SELECTOR, "p.formats a")]
    assert downloads == ["SPARQL JSON", "SPARQL XML", "CSV", "TSV"]
    assert chromium.console_errors(page) == []

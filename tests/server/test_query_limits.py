"""The server's limits through a real `alliance serve`: time, result size, request body.

A query over --query-timeout gets 503 and a message naming the limit (never a 200
with part of an answer), light queries from other clients are answered while it
runs, and its query process is replaced. Answers over --max-rows or
--max-result-bytes get 422 with a header naming the limit; bodies over the limit 413.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.client import HTTPResponse
from pathlib import Path

import pytest

from alliance.server.serving.worker import LIGHT_THREADS

live = sys.modules["alliance_tests_live"]  # loaded by conftest.py
Reply, http, start_server = live.Reply, live.http, live.start_server

ID = "https://w3id.org/alliance/id/"
IGEO = "http://rdf.insee.fr/def/geo#"
LOOKUP = f"SELECT ?name {{ <{ID}commune/69123> <{IGEO}nom> ?name }}"
#: Never ends on the bundled data (its 468k triples, cubed), whatever the machine.
ENDLESS = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
#: A triple cross-product with ORDER BY: slow, and would be a huge answer.
SLOW_SORT = "SELECT * { ?a ?b ?c . ?d ?e ?f } ORDER BY ?f ?c"
JSON = "application/sparql-results+json"


@pytest.fixture(scope="module")
def limited(bundled_store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """One worker (so that its query processes can be counted), tight limits."""
    logs = tmp_path_factory.mktemp("limits-logs")
    args = ("--threads", "4", "--query-timeout", "2", "--max-rows", "1000")
    args += ("--max-result-bytes", "200000")
    running = start_server(bundled_store_dir, logs / "limited.log", workers=1, args=args)
    yield running
    running.stop()


def ask(server, query: str, accept: str = JSON, timeout: float = 120.0):  # noqa: ANN001
    return http(
        "POST",
        server.sparql,
        data=query,
        headers={"Content-Type": "application/sparql-query", "Accept": accept},
        timeout=timeout,
    )


def descendants(pid: int) -> dict[int, str]:
    """Every process under `pid`, with its command line (from /proc)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        commands[int(entry.name)] = command
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child not in found:
                found[child] = commands[child]
                frontier.append(child)
    return found


def query_processes(server) -> set[int]:  # noqa: ANN001
    return {
        pid
        for pid, command in descendants(server.process.pid).items()
        if "alliance.store.isolated" in command
    }


def wait_for(condition, what: str, seconds: float = 60.0) -> None:  # noqa: ANN001
    """Poll until `condition()` holds (a wait, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {seconds} s")
        time.sleep(0.1)


def test_a_query_over_the_time_limit_gets_503_and_a_message(limited) -> None:  # noqa: ANN001
    for query in (ENDLESS, SLOW_SORT):
        reply = ask(limited, query)
        assert reply.status == 503, reply.text
        assert reply.media_type == "text/plain"
        assert "2 s" in reply.text and "--query-timeout" in reply.text
        assert "LIMIT" in reply.text


def test_other_clients_are_served_while_a_query_runs_and_it_is_replaced(limited) -> None:  # noqa: ANN001
    # One query process per thread: --threads 4, and the two threads of light requests.
    expected = 4 + LIGHT_THREADS
    wait_for(lambda: len(query_processes(limited)) == expected, f"{expected} query processes")
    before = query_processes(limited)
    slow: list = []
    worker = threading.Thread(target=lambda: slow.append(ask(limited, ENDLESS)))
    worker.start()
    answered_meanwhile = 0
    while worker.is_alive():
        reply = ask(limited, LOOKUP)
        assert reply.status == 200 and b"Lyon" in reply.body
        answered_meanwhile += worker.is_alive()
    worker.join()
    assert slow[0].status == 503
    assert answered_meanwhile > 0
    # The stopped query's process was killed and replaced; the server still answers.
    wait_for(lambda: len(query_processes(limited)) == expected, "as many query processes again")
    after = query_processes(limited)
    assert len(before - after) == 1 and len(after - before) == 1
    assert ask(limited, LOOKUP).status == 200


@pytest.mark.parametrize("accept", [JSON, "text/csv", "application/sparql-results+xml"])
def test_more_rows_than_the_limit_get_422_naming_it(limited, accept: str) -> None:  # noqa: ANN001
    reply = ask(limited, "SELECT * { ?s ?p ?o } LIMIT 1001", accept)
    assert reply.status == 422, reply.text
    assert reply.headers["alliance-result-limit"] == "rows=1000"
    assert "1,000 rows" in reply.text and "--max-rows" in reply.text
    assert (
        ask(limited, "SELECT * { ?s ?p ?o } LIMIT 1000", "text/tab-separated-values").status == 200
    )


def test_more_triples_than_the_limit_get_422(limited) -> None:  # noqa: ANN001
    reply = ask(limited, "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1001", "application/n-triples")
    assert reply.status == 422
    assert reply.headers["alliance-result-limit"] == "rows=1000"
    complete = ask(limited, "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 1000", "application/n-triples")
    assert complete.status == 200 and complete.body.count(b"\n") == 1000


def test_more_bytes_than_the_limit_get_422(limited) -> None:  # noqa: ANN001
    query = "SELECT * { ?s ?p ?o } LIMIT 900"
    small = ask(limited, query, "text/tab-separated-values")
    assert small.status == 200 and len(small.body) <= 200_000
    # The same rows in XML take more than the limit.
    reply = ask(limited, query, "application/sparql-results+xml")
    assert reply.status == 422, reply.text
    assert reply.headers["alliance-result-limit"] == "bytes=200000"
    assert "200,000 bytes" in reply.text and "--max-result-bytes" in reply.text


def test_an_oversized_body_gets_413_naming_the_limit(limited) -> None:  # noqa: ANN001
    # Announce the body without sending it all, like a client sending Expect: 100-continue:
    # the server answers at once, before reading what it would refuse.
    size = 10 * 1024 * 1024 + 1
    host, port = limited.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as connection:
        connection.sendall(
            (
                "POST /sparql HTTP/1.1\r\n"
                f"Host: {host}\r\nContent-Type: application/sparql-query\r\n"
                f"Content-Length: {size}\r\nConnection: close\r\n\r\nASK {{}}"
            ).encode()
        )
        response = HTTPResponse(connection)
        response.begin()
        text = response.read().decode()
    assert response.status == 413
    assert response.getheader("Content-Type", "").startswith("text/plain")
    assert "10,485,760 bytes" in text
    assert ask(limited, LOOKUP).status == 200


def test_without_query_processes_the_result_limits_hold_too(bundled_store_dir: Path) -> None:
    from alliance.server.app import create_app
    from alliance.server.settings import Settings

    app = create_app(Settings(store=str(bundled_store_dir), max_rows=10, query_processes=0))
    client = app.test_client()

    def get(query: str):  # noqa: ANN202
        return client.get("/sparql", query_string={"query": query}, headers={"Accept": JSON})

    over = get("SELECT * { ?s ?p ?o } LIMIT 11")
    assert over.status_code == 422
    assert over.headers["Alliance-Result-Limit"] == "rows=10"
    within = get("SELECT * { ?s ?p ?o } LIMIT 10")
    assert within.status_code == 200
    assert len(json.loads(within.data)["results"]["bindings"]) == 10

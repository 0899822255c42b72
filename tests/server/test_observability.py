"""Observability: the access log, /health and /metrics, in-process and through `alliance serve`.

The live tests use the session servers of conftest.py (two gunicorn workers each), so that
/metrics is shown to sum what every worker counted, and the access log is read from the very
file the server writes.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from alliance.cli.serve import serve
from alliance.server.app import create_app
from alliance.server.settings import Settings
from alliance.server.web import observability
from alliance.store import EmbeddedStore, GraphStore, StoreError
from alliance.store.errors import QueryTimeout

live = sys.modules["alliance_tests_live"]  # loaded by conftest.py

SPARQL_JSON = {"Accept": "application/sparql-results+json"}


# -- helpers -------------------------------------------------------------------------------


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of a Prometheus exposition, parsed by prometheus-client's own parser."""
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
    return sum(v for n, found, v in samples(text) if n == name and labels.items() <= found.items())


def access_lines(text: str) -> list[dict[str, object]]:
    """The access-log lines of a server's output (the JSON objects), parsed."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


# -- in-process ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(bundled_store_dir: Path, store: GraphStore) -> Flask:
    return create_app(Settings(store=str(bundled_store_dir)), store=store)


@pytest.fixture()
def client(app: Flask):  # noqa: ANN201 - Flask's test client type
    return app.test_client()


def metrics(client) -> str:  # noqa: ANN001
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


def test_health_says_the_store_answers(client) -> None:  # noqa: ANN001
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["store"] == "reachable"
    assert body["graphs"] == 4
    assert body["generation"]
    assert body["version"]


def test_health_is_503_when_the_store_folder_is_gone(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    app = create_app(Settings(store=str(folder)))
    assert app.test_client().get("/health").status_code == 200
    # The embedded store would answer from an empty stand-in: health must not believe it.
    shutil.rmtree(folder)
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert (body["status"], body["store"]) == ("unavailable", "unreachable")
    assert str(folder) in body["reason"]


def test_health_is_503_when_the_published_generation_cannot_be_opened(tmp_path: Path) -> None:
    # CURRENT names a generation whose folder was removed: every query fails.
    (tmp_path / "CURRENT").write_text("000001\n")
    response = create_app(Settings(store=str(tmp_path))).test_client().get("/health")
    assert response.status_code == 503
    assert "000001" in response.get_json()["reason"]


def test_health_and_metrics_escape_the_rate_limit(
    bundled_store_dir: Path, store: GraphStore
) -> None:
    if "rate_limit" not in Settings.__dataclass_fields__:
        pytest.skip("this version has no rate limit")
    settings = Settings(store=str(bundled_store_dir), rate_limit=1)  # type: ignore[call-arg]
    client = create_app(settings, store=store).test_client()
    statuses = [client.get("/sparql", query_string={"query": "ASK {}"}).status_code for _ in "ab"]
    assert statuses == [200, 429]  # the limit is on
    for _ in range(5):
        assert client.get("/health").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_health_is_503_when_a_remote_store_does_not_answer() -> None:
    from alliance.store import open_store

    nobody = f"http://127.0.0.1:{live.free_port()}/query"  # nothing listens there
    try:
        remote = open_store(nobody, read_only=True)
    except Exception as exc:  # noqa: BLE001 - a version without remote stores
        pytest.skip(f"no remote store here: {exc}")
    response = create_app(Settings(store=nobody), store=remote).test_client().get("/health")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["store"]) == ("unavailable", "unreachable")
    assert body["reason"]


class DownStore(EmbeddedStore):
    """A store whose backend refuses every query, naming its URL with credentials."""

    def query(self, sparql: str, **kwargs: object):  # noqa: ANN201
        raise StoreError("http://dba:s3cret-pw@10.0.0.5:8890/sparql: connection refused")


def test_health_never_shows_the_store_credentials(tmp_path: Path) -> None:
    app = create_app(Settings(store=str(tmp_path)), store=DownStore(tmp_path))
    response = app.test_client().get("/health")
    assert response.status_code == 503
    reason = response.get_json()["reason"]
    assert "s3cret-pw" not in reason and "dba" not in reason
    assert "10.0.0.5:8890/sparql: connection refused" in reason


def test_metrics_count_the_requests_sent(client) -> None:  # noqa: ANN001
    labels = {"endpoint": "sparql.endpoint", "method": "GET", "status": "200"}
    before = metrics(client)
    for _ in range(3):
        answer = client.get("/sparql", query_string={"query": "ASK {}"}, headers=SPARQL_JSON)
        assert answer.status_code == 200
    after = metrics(client)
    assert value(after, "alliance_http_requests_total", **labels) - value(
        before, "alliance_http_requests_total", **labels
    ) == pytest.approx(3)
    seen = value(after, "alliance_http_request_duration_seconds_count", endpoint=labels["endpoint"])
    assert seen - value(
        before, "alliance_http_request_duration_seconds_count", endpoint=labels["endpoint"]
    ) == pytest.approx(3)
    assert value(after, "alliance_query_duration_seconds_count", endpoint="sparql.endpoint") > 0
    assert value(after, "alliance_http_response_size_bytes_sum", endpoint="sparql.endpoint") > 0


def test_a_malformed_query_is_a_query_error(client) -> None:  # noqa: ANN001
    before = metrics(client)
    assert client.get("/sparql", query_string={"query": "SELECT * {"}).status_code == 400
    # A wrong parameter of a named query is refused before any query runs: not a query error.
    assert client.get("/api/queries/cq1-pilot-contracts?format=nope").status_code == 400
    after = metrics(client)

    def errors(text: str) -> float:
        return value(text, "alliance_query_errors_total")

    assert errors(after) - errors(before) == pytest.approx(1)
    assert value(
        after, "alliance_query_errors_total", endpoint="sparql.endpoint", status="400"
    ) - value(
        before, "alliance_query_errors_total", endpoint="sparql.endpoint", status="400"
    ) == pytest.approx(1)


class TimingOutStore(EmbeddedStore):
    """The bundled store, except that queries mentioning `?slow` run out of time."""

    def query(self, sparql: str, **kwargs: object):  # noqa: ANN201
        if "?slow" in sparql:
            if "?wrapped" in sparql:
                raise StoreError("the query ran out of time") from QueryTimeout(1.0)
            raise QueryTimeout(1.0, "the query ran out of time")
        return super().query(sparql, **kwargs)  # type: ignore[arg-type]


def test_a_query_timeout_is_counted_as_a_timeout_not_an_error(bundled_store_dir: Path) -> None:
    store = TimingOutStore(bundled_store_dir, read_only=True)
    app = create_app(Settings(store=str(bundled_store_dir)), store=store)
    client = app.test_client()
    before = metrics(client)
    for query in ("SELECT ?slow {}", "SELECT ?slow ?wrapped {}"):
        assert client.get("/sparql", query_string={"query": query}).status_code >= 500
    after = metrics(client)
    timeouts = "alliance_query_timeouts_total"
    assert value(after, timeouts, endpoint="sparql.endpoint") - value(
        before, timeouts, endpoint="sparql.endpoint"
    ) == pytest.approx(2)
    assert value(after, "alliance_query_errors_total") == value(
        before, "alliance_query_errors_total"
    )


def test_a_real_timeout_is_counted(bundled_store_dir: Path) -> None:
    """Through the query runner that enforces --query-timeout (store/isolated.py)."""
    settings = Settings(store=str(bundled_store_dir), query_timeout=0.5, query_processes=1)
    app = create_app(settings)
    try:
        client = app.test_client()
        before = metrics(client)
        # Counting a cross product of the whole store takes far longer than half a second.
        endless = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f }"
        answer = client.get("/sparql", query_string={"query": endless}, headers=SPARQL_JSON)
        assert answer.status_code == 503
        after = metrics(client)
    finally:
        app.extensions["alliance.store"].close()
    timeouts = "alliance_query_timeouts_total"
    assert value(after, timeouts, endpoint="sparql.endpoint") - value(
        before, timeouts, endpoint="sparql.endpoint"
    ) == pytest.approx(1)


def test_metric_labels_name_endpoints_not_paths(client) -> None:  # noqa: ANN001
    marker = uuid.uuid4().hex
    assert client.get(f"/id/{marker}").status_code == 404
    assert client.get(f"/no-such-page-{marker}").status_code == 404
    text = metrics(client)
    assert marker not in text
    assert value(text, "alliance_http_requests_total", endpoint="linked_data.resource") >= 1
    assert value(text, "alliance_http_requests_total", endpoint="none", status="404") >= 1


@pytest.fixture()
def captured_access_log(tmp_path: Path) -> Iterator[Path]:
    """The access log written to a file the way `alliance serve` sets it up, then restored."""
    logger = observability.access_log
    saved = (list(logger.handlers), logger.level, logger.propagate)
    path = tmp_path / "access.log"
    yield path
    for handler in logger.handlers:
        handler.close()
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]


def test_access_log_lines_are_json_with_the_fields(client, captured_access_log: Path) -> None:  # noqa: ANN001
    observability.configure_access_log(str(captured_access_log), "json")
    client.get("/sparql", query_string={"query": "ASK {}"}, headers=SPARQL_JSON)
    client.get("/api/queries/cq1-pilot-contracts", query_string={"format": "csv"})
    client.get("/health", headers={"Authorization": "Bearer sekret-token-value"})
    text = captured_access_log.read_text()
    assert "sekret-token-value" not in text
    ask, named, health = access_lines(text)
    for entry in (ask, named, health):
        assert list(entry)[: len(observability.ACCESS_FIELDS)] == list(observability.ACCESS_FIELDS)
        assert entry["client"] == "127.0.0.1"
        assert entry["duration_ms"] >= 0
        assert entry["result_bytes"] > 0
    assert (ask["method"], ask["path"], ask["status"]) == ("GET", "/sparql?query=ASK+%7B%7D", 200)
    assert (ask["query_kind"], ask["query_name"]) == ("sparql", "ask")
    assert 0 <= ask["query_ms"] <= ask["duration_ms"]
    assert (named["query_kind"], named["query_name"]) == ("api", "cq1-pilot-contracts")
    assert (health["endpoint"], health["query_ms"]) == ("observability.health", None)


def test_access_log_as_text(client, captured_access_log: Path) -> None:  # noqa: ANN001
    observability.configure_access_log(str(captured_access_log), "text")
    client.get("/sparql", query_string={"query": "ASK {}"}, headers=SPARQL_JSON)
    client.get('/id/forged%0A2026-01-01 127.0.0.1 "GET /admin" 200')
    line, forged = captured_access_log.read_text().splitlines()
    assert '127.0.0.1 "GET /sparql?query=ASK+%7B%7D" 200 ' in line
    assert line.endswith("[sparql ask]")
    # A line break in a path cannot forge a second log line.
    assert '"GET /id/forged\\n2026-01-01 127.0.0.1 \\"GET /admin\\" 200" 404 ' in forged


def test_metrics_speak_openmetrics_when_asked(client) -> None:  # noqa: ANN001
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.mimetype == "application/openmetrics-text"
    assert response.get_data(as_text=True).endswith("# EOF\n")


def test_serve_documents_the_flags() -> None:
    text = CliRunner().invoke(serve, ["--help"], terminal_width=200).output
    for expected in ("--access-log", "ALLIANCE_ACCESS_LOG", "--log-format", "ALLIANCE_LOG_FORMAT"):
        assert expected in text


# -- through `alliance serve` ----------------------------------------------------------------


def live_metrics(server) -> str:  # noqa: ANN001
    reply = live.http("GET", f"{server.url}/metrics")
    assert reply.status == 200
    assert reply.headers["cache-control"] == "no-store"
    return reply.text


def test_live_health(server) -> None:  # noqa: ANN001
    reply = live.http("GET", f"{server.url}/health")
    assert reply.status == 200
    assert reply.media_type == "application/json"
    body = json.loads(reply.text)
    assert (body["status"], body["store"], body["graphs"]) == ("ok", "reachable", 4)


def test_live_metrics_sum_every_worker(server) -> None:  # noqa: ANN001
    labels = {"endpoint": "sparql.endpoint", "method": "GET", "status": "200"}
    # The server answers once one worker is up; wait for the second one to boot too. Then
    # both report, and the values shown are the sum over the two processes.
    deadline = time.monotonic() + live.START_SECONDS
    while value(before := live_metrics(server), "alliance_workers") < 2:
        assert time.monotonic() < deadline, "the second worker never reported"
        time.sleep(0.2)
    assert value(before, "alliance_workers") == 2
    sent = 12
    for _ in range(sent):  # one connection each: the workers share them out
        reply = live.http("GET", server.sparql, params={"query": "ASK {}"}, headers=SPARQL_JSON)
        assert reply.status == 200
    after = live_metrics(server)
    assert value(after, "alliance_http_requests_total", **labels) - value(
        before, "alliance_http_requests_total", **labels
    ) == pytest.approx(sent)
    assert value(
        after, "alliance_http_request_duration_seconds_count", endpoint="sparql.endpoint"
    ) - value(
        before, "alliance_http_request_duration_seconds_count", endpoint="sparql.endpoint"
    ) == pytest.approx(sent)


def test_live_malformed_query_counts_as_query_error(server) -> None:  # noqa: ANN001
    before = live_metrics(server)
    assert live.http("GET", server.sparql, params={"query": "SELECT * {"}).status == 400
    after = live_metrics(server)
    assert value(after, "alliance_query_errors_total", endpoint="sparql.endpoint") - value(
        before, "alliance_query_errors_total", endpoint="sparql.endpoint"
    ) == pytest.approx(1)


def test_live_access_log(server, write_server) -> None:  # noqa: ANN001
    marker = uuid.uuid4().hex
    query = f'ASK {{ ?s ?p "{marker}" }}'
    assert live.http("GET", server.sparql, params={"query": query}, headers=SPARQL_JSON).status
    update = (
        f'INSERT DATA {{ GRAPH <urn:x-test:g> {{ <urn:x-test:s> <urn:x-test:p> "{marker}" }} }}'
    )
    for token in (write_server.token, f"not-{write_server.token}"):
        live.http(
            "POST",
            f"{write_server.url}/sparql/update",
            data=update,
            headers={
                "Content-Type": "application/sparql-update",
                "Authorization": f"Bearer {token}",
            },
        )
    entries = access_lines(server.log_text())
    assert entries, "no access-log line in the server's output"
    for entry in entries:
        assert set(observability.ACCESS_FIELDS) <= set(entry)
    (asked,) = [e for e in entries if marker in str(e["path"])]
    assert (asked["method"], asked["status"], asked["endpoint"]) == ("GET", 200, "sparql.endpoint")
    assert asked["query_ms"] is not None and asked["query_ms"] <= asked["duration_ms"]
    assert asked["result_bytes"] > 0

    written = write_server.log_text()
    assert write_server.token not in written
    updates = [e for e in access_lines(written) if e["path"] == "/sparql/update"]
    # The last two updates in the log are this test's (other tests share the write server).
    assert [e["status"] for e in updates][-2:] in ([200, 403], [204, 403])


def test_live_server_log_has_no_plain_access_lines(server) -> None:  # noqa: ANN001
    live.http("GET", f"{server.url}/health")
    # gunicorn's own access log ("GET /health HTTP/1.1" 200) is replaced by the JSON one.
    assert '"GET /health HTTP/1.1"' not in server.log_text()


def test_live_access_log_to_a_file_as_text(tmp_path: Path) -> None:
    """`--access-log FILE --log-format text`: every worker appends its lines to the file."""
    access = tmp_path / "logs" / "access.log"
    empty_store = tmp_path / "store"
    empty_store.mkdir()
    server = live.start_server(
        empty_store,
        tmp_path / "server.log",
        args=("--access-log", str(access), "--log-format", "text"),
    )
    try:
        marker = uuid.uuid4().hex
        reply = live.http("GET", f"{server.url}/health", params={"probe": marker})
        assert reply.status == 200
    finally:
        server.stop()
    lines = access.read_text().splitlines()
    (probe,) = [line for line in lines if marker in line]
    assert f'"GET /health?probe={marker}" 200 ' in probe
    assert not any(line.startswith("{") for line in server.log_text().splitlines())

"""Shared by the serving benchmarks (bench/serve.py, bench/remote.py): the query mix and its driver.

The query mix (a lookup, a join, an aggregate and a DESCRIBE on the bundled data) is sent by
`clients` keep-alive HTTP clients in threads for a fixed time; `drive` returns the throughput,
every latency and the number of failed requests. Client and server share the machine's cores:
compare figures only within one run.
"""

from __future__ import annotations

import http.client
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

ID = "https://w3id.org/alliance/id/"
ALLI = "https://w3id.org/alliance/ontology#"
IGEO = "http://rdf.insee.fr/def/geo#"

QUERY_MIX = {
    "lookup": f"SELECT ?name {{ <{ID}commune/69123> <{IGEO}nom> ?name }}",
    "join": (f"SELECT ?c ?name {{ ?c <{ALLI}memberOf> <{ID}epci/200046977> ; <{IGEO}nom> ?name }}"),
    "aggregate": (
        f"SELECT ?d (COUNT(?c) AS ?n) {{ ?c <{IGEO}subdivisionDirecteDe> ?d ; "
        f"<{ALLI}memberOf> ?e }} GROUP BY ?d ORDER BY DESC(?n) LIMIT 10"
    ),
    "describe": f"DESCRIBE <{ID}epci/242900314>",
}


def accept_for(name: str) -> str:
    """The Accept header a client sends for query `name` of the mix."""
    return "text/turtle" if name == "describe" else "application/sparql-results+json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, path: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"server on port {port} did not answer {path}")


def drive(
    port: int,
    path: str,
    seconds: float,
    clients: int,
    *,
    extra_params: Iterable[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
    by_query: dict[str, list[float]] | None = None,
) -> tuple[float, list[float], int]:
    """Send the query mix from `clients` threads for `seconds`; (req/s, latencies, errors).

    `extra_params` are added to every query string (e.g. Oxigraph server's
    `union-default-graph`), `headers` to every request (e.g. authorization); `by_query`,
    if given, receives the latencies of each query of the mix under its name.
    """
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    names = list(QUERY_MIX)
    extra = list(extra_params)

    def client(offset: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for name in itertools.islice(itertools.cycle(names), offset, None):
            if time.monotonic() >= stop:
                break
            query = urllib.parse.urlencode([("query", QUERY_MIX[name]), *extra])
            start = time.perf_counter()
            try:
                sent = {"Accept": accept_for(name), **(headers or {})}
                conn.request("GET", f"{path}?{query}", headers=sent)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                errors += not ok
                if by_query is not None:
                    by_query.setdefault(name, []).append(elapsed)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.monotonic() - began), latencies, errors


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def report(name: str, rate: float, latencies: list[float], errors: int, width: int = 26) -> str:
    """One line: req/s, p50, p99 and errors."""
    return (
        f"{name:{width}} {rate:8.1f} req/s  p50 {percentile(latencies, 0.5) * 1000:7.1f} ms  "
        f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms  errors {errors}"
    )


def report_by_query(by_query: dict[str, list[float]]) -> str:
    """One line: the p50 latency and the count of each query of the mix."""
    parts = (f"{q} {percentile(t, 0.5) * 1000:.1f} ms ({len(t)})" for q, t in by_query.items())
    return "    p50 by query: " + ", ".join(parts)


def stop_all(processes: list[subprocess.Popen]) -> None:
    """Stop the processes this script started, by their process ids."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def ingested_store(folder: Path) -> Path:
    """A store of the bundled data, built by `alliance ingest` in `folder`/store."""
    store = folder / "store"
    subprocess.run(
        [sys.executable, "-m", "alliance.cli", "ingest", "--store", str(store)],
        check=True,
        capture_output=True,
    )
    return store


def serve_as_the_readme_does(
    store: Path, args: list[str], log: Path, **variables: str
) -> tuple[subprocess.Popen, int]:
    """`alliance serve ARGS` over `store`, configured by environment variables only (the
    README's command with ALLIANCE_STORE and ALLIANCE_PORT set, the rate limit off, and
    `variables` as ALLIANCE_*), answering /health; the process and its port."""
    port = free_port()
    env = {**os.environ, "ALLIANCE_STORE": str(store), "ALLIANCE_PORT": str(port)}
    env["ALLIANCE_RATE_LIMIT"] = "0"  # a benchmark's clients are all on this machine
    env.update({f"ALLIANCE_{k.upper()}": v for k, v in variables.items()})
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "alliance.cli", "serve", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )
    wait_until_up(port, "/health")
    return process, port

"""Benchmark: the production server against Oxigraph server and rdflib-endpoint, in one run.

Each server gets the same bundled data and the same query mix (lookups, joins,
aggregates, DESCRIBE) from 8 concurrent keep-alive clients for a fixed time;
the script prints requests/s, p50 and p99 latency and the ratios to Alliance.
Targets: >= 0.9x Oxigraph server's throughput, >= 5x rdflib-endpoint's.
Client and server share the 2 cores here: compare only within one run.

Anchors: `oxigraph` (the binary of the `oxigraph` package, in the test extra)
and `rdflib-endpoint` (install it in its own environment, e.g.
`python3 -m venv /tmp/rdfe && /tmp/rdfe/bin/pip install rdflib-endpoint`,
then pass `--rdflib-endpoint /tmp/rdfe/bin/rdflib-endpoint`). A missing
anchor is skipped with a message.

Usage: python bench/serve.py [--seconds 20] [--clients 8] [--rdflib-endpoint PATH]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
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


def drive(port: int, path: str, seconds: float, clients: int) -> tuple[float, list[float], int]:
    """Send the query mix from `clients` threads for `seconds`; (req/s, latencies, errors)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    names = list(QUERY_MIX)

    def client(offset: int) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for name in itertools.islice(itertools.cycle(names), offset, None):
            if time.monotonic() >= stop:
                break
            query = QUERY_MIX[name]
            accept = "text/turtle" if name == "describe" else "application/sparql-results+json"
            url = f"{path}?{urllib.parse.urlencode({'query': query})}"
            start = time.perf_counter()
            try:
                conn.request("GET", url, headers={"Accept": accept})
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rdflib-endpoint", default=shutil.which("rdflib-endpoint"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alliance-bench-serve-"))
    processes: list[subprocess.Popen] = []
    try:
        store = work / "store"
        subprocess.run(
            [sys.executable, "-m", "alliance.cli", "ingest", "--store", str(store)], check=True
        )
        union = work / "union.nt"
        query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
        with open(union, "wb") as out:
            subprocess.run(
                [sys.executable, "-m", "alliance.cli", "query", "--store", str(store)]
                + ["--format", "ntriples", query],
                check=True,
                stdout=out,
            )
        targets: list[tuple[str, int, str]] = []

        port = free_port()
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "alliance.cli", "serve", "--no-ingest"]
                + ["--store", str(store), "--port", str(port), "--workers", "2"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        targets.append(("alliance serve", port, "/sparql"))

        oxigraph = shutil.which("oxigraph")
        if oxigraph:
            location = work / "oxigraph"
            subprocess.run(
                [oxigraph, "load", "--location", str(location), "--file", str(union)],
                check=True,
                capture_output=True,
            )
            port = free_port()
            processes.append(
                subprocess.Popen(
                    [oxigraph, "serve-read-only", "--location", str(location)]
                    + ["--bind", f"127.0.0.1:{port}"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            targets.append(("oxigraph serve-read-only", port, "/query"))
        else:
            print("oxigraph not found: that anchor is skipped")
        if args.rdflib_endpoint:
            port = free_port()
            processes.append(
                subprocess.Popen(
                    [args.rdflib_endpoint, "serve", str(union), "--host", "127.0.0.1"]
                    + ["--port", str(port)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            targets.append(("rdflib-endpoint", port, "/"))
        else:
            print("rdflib-endpoint not found (see --help): that anchor is skipped")

        results = {}
        for name, port, path in targets:
            wait_until_up(port, f"{path}?query=ASK%7B%7D")
            drive(port, path, 2, args.clients)  # warm-up
            rate, latencies, errors = drive(port, path, args.seconds, args.clients)
            results[name] = rate
            print(
                f"{name:26} {rate:8.1f} req/s  p50 {percentile(latencies, 0.5) * 1000:7.1f} ms  "
                f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms  errors {errors}"
                f"  (median {statistics.median(latencies) * 1000:.1f} ms)"
            )
        ours = results["alliance serve"]
        for name, rate in results.items():
            if name != "alliance serve":
                print(f"alliance / {name}: {ours / rate:.2f}x")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

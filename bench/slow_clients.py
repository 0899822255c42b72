"""Benchmark: can slow, idle or long-running clients keep a normal client out?

Starts `alliance serve` as the README does (over a freshly ingested store of the bundled
data, with `--query-timeout 10`), then, for each scenario, sends two normal clients'
requests (one `GET /health`, the other a lookup query, each on a new connection, five a
second) for
`--seconds` while the scenario's `--connections` other clients misbehave:

- quiet: nobody else (the anchor);
- slow headers: each sends a request line, then one header line every 2 s, never ending;
- idle: each connects and sends nothing (and connects again when the server hangs up);
- slow body: each sends a POST /sparql announcing 100 kB, then 10 bytes every 2 s;
- long queries: each runs a query that goes on to the time limit, again and again.

Prints, per scenario and normal client, the p50 and worst latency and the failures (no
answer within 30 s, or no 200), and the ratio of the p50 to the quiet one. Long queries
may make the lookup wait (they take the query threads); they must not delay /health.
Client and server share the machine: compare figures within one run only.

Usage: python bench/slow_clients.py [--connections 16] [--seconds 12] [--serve-arg ARG]
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from common import QUERY_MIX, ingested_store, percentile, serve_as_the_readme_does, stop_all

LONG_QUERY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f }"


def normal_client(port: int, seconds: float, path: str) -> tuple[list[float], int]:
    """Five requests a second for `seconds`: latencies and failures."""
    latencies: list[float] = []
    failures = 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        start = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers={"Accept": "application/sparql-results+json"})
            response = conn.getresponse()
            response.read()
            ok = response.status == 200
            conn.close()
        except (OSError, http.client.HTTPException):
            ok = False
        elapsed = time.perf_counter() - start
        latencies.append(elapsed)
        failures += not ok
        time.sleep(max(0.0, 0.2 - elapsed))
    return latencies, failures


def slow_headers(port: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
                k = 0
                while not stop.wait(2.0):
                    sock.sendall(f"X-Slow-{k}: yes\r\n".encode())
                    k += 1
        except OSError:
            stop.wait(0.5)


def idle(port: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.settimeout(1.0)
                while not stop.is_set():
                    try:
                        if sock.recv(1) == b"":
                            break  # the server hung up: connect again
                    except TimeoutError:
                        continue
        except OSError:
            stop.wait(0.5)


def slow_body(port: int, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(
                    b"POST /sparql HTTP/1.1\r\nHost: localhost\r\n"
                    b"Content-Type: application/sparql-query\r\nContent-Length: 100000\r\n\r\n"
                )
                while not stop.wait(2.0):
                    sock.sendall(b"ASK {}    ")
        except OSError:
            stop.wait(0.5)


def long_queries(port: int, stop: threading.Event) -> None:
    path = "/sparql?" + urllib.parse.urlencode({"query": LONG_QUERY})
    while not stop.is_set():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request("GET", path, headers={"Accept": "application/sparql-results+json"})
            conn.getresponse().read()
            conn.close()
        except (OSError, http.client.HTTPException):
            stop.wait(0.5)


SCENARIOS: dict[str, Callable[[int, threading.Event], None] | None] = {
    "quiet": None,
    "slow headers": slow_headers,
    "idle": idle,
    "slow body": slow_body,
    "long queries": long_queries,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--serve-arg", action="append", default=[])
    parser.add_argument("--only", action="append", choices=list(SCENARIOS))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alliance-bench-slow-"))
    processes: list[subprocess.Popen] = []
    try:
        store = ingested_store(work)
        server, port = serve_as_the_readme_does(
            store, args.serve_arg, work / "serve.log", query_timeout="10"
        )
        processes.append(server)
        lookup = "/sparql?" + urllib.parse.urlencode({"query": QUERY_MIX["lookup"]})
        normal = {"/health": "/health", "lookup": lookup}
        for path in normal.values():
            normal_client(port, 1, path)  # warm-up
        quiet: dict[str, float] = {}
        for name, misbehave in SCENARIOS.items():
            if args.only and name not in args.only and name != "quiet":
                continue
            stop = threading.Event()
            others = [
                threading.Thread(target=misbehave, args=(port, stop), daemon=True)
                for _ in range(args.connections if misbehave else 0)
            ]
            for thread in others:
                thread.start()
            time.sleep(2.0 if misbehave else 0)  # let them take their places
            results: dict[str, tuple[list[float], int]] = {}

            def measure(kind: str, path: str, into: dict = results) -> None:
                into[kind] = normal_client(port, args.seconds, path)

            threads = [threading.Thread(target=measure, args=item) for item in normal.items()]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            stop.set()
            for kind, (latencies, failures) in results.items():
                p50 = percentile(latencies, 0.5)
                quiet.setdefault(kind, p50)
                print(
                    f"{name:14} {kind:8} p50 {p50 * 1000:8.1f} ms  worst "
                    f"{max(latencies) * 1000:8.1f} ms  failures {failures}/{len(latencies)}  "
                    f"p50 {p50 / quiet[kind]:7.1f}x quiet",
                    flush=True,
                )
            for thread in others:
                thread.join(timeout=15)
            time.sleep(3.0)  # let the server drop what is left of them
    finally:
        stop_all(processes)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

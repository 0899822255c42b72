"""Benchmark: what a small write costs on the bundled store, beside a read-only query.

Starts `alliance serve --write-token …` as the README does (it finds the store already
built, so it ingests nothing) over a freshly ingested store of the bundled data, then:

- sends `--repeat` one-triple `INSERT DATA` updates into a graph of their own, into the
  curated facts graph and into the territories graph (the largest), one `DELETE DATA`
  of each, and Graph Store Protocol PUTs and POSTs of a three-triple graph;
- sends as many read-only queries (`ASK {}` and a lookup) between them, as the anchor;
- sends `--writers` concurrent one-triple updates and checks that each answer is a 2xx
  or a 503 with Retry-After, and that every update answered 2xx is in the store.

Prints p50 and p90 of each kind and the ratio of each write's p50 to the lookup's.
Target: a one-triple update's p50 at most 0.5 s on the 468k-triple bundled store.
Client and server share the machine: compare figures within one run only.

Usage: python bench/writes.py [--repeat 20] [--writers 5] [--serve-arg=--no-ingest]
"""

from __future__ import annotations

import argparse
import http.client
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from common import ingested_store, percentile, serve_as_the_readme_does, stop_all

TOKEN = "bench-token"
ID = "https://w3id.org/alliance/id/"
GRAPHS = {
    "own graph": f"{ID}graph/bench-writes",
    "facts graph": f"{ID}graph/facts",
    "territories graph": f"{ID}graph/territories",
}
LOOKUP = f"SELECT ?n {{ <{ID}commune/69123> <http://rdf.insee.fr/def/geo#nom> ?n }}"


def request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None
) -> tuple[int, dict[str, str], bytes, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), data, time.perf_counter() - start
    except (OSError, http.client.HTTPException) as exc:
        return 0, {}, str(exc).encode(), time.perf_counter() - start
    finally:
        conn.close()


def update(port: int, text: str) -> tuple[int, dict[str, str], bytes, float]:
    return request(
        port,
        "POST",
        "/sparql/update",
        text.encode(),
        {"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
    )


def query(port: int, text: str) -> tuple[int, dict[str, str], bytes, float]:
    path = "/sparql?" + urllib.parse.urlencode({"query": text})
    return request(port, "GET", path, headers={"Accept": "application/sparql-results+json"})


def line(name: str, times: list[float], anchor: float | None, failures: int) -> str:
    p50 = percentile(times, 0.5)
    ratio = f"  {p50 / anchor:8.1f}x the lookup" if anchor else ""
    return (
        f"{name:38} p50 {p50 * 1000:8.1f} ms  p90 {percentile(times, 0.9) * 1000:8.1f} ms"
        f"{ratio}  failures {failures}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--writers", type=int, default=5)
    parser.add_argument(
        "--serve-arg", action="append", default=[], help="an extra argument for alliance serve"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alliance-bench-writes-"))
    processes: list[subprocess.Popen] = []
    try:
        store = ingested_store(work)
        server, port = serve_as_the_readme_does(
            store, ["--write-token", TOKEN, *args.serve_arg], work / "serve.log"
        )
        processes.append(server)
        times: dict[str, list[float]] = {}
        failures: dict[str, int] = {}

        def record(name: str, outcome: tuple[int, dict[str, str], bytes, float]) -> None:
            status, _headers, body, elapsed = outcome
            times.setdefault(name, []).append(elapsed)
            failures[name] = failures.get(name, 0) + (not 200 <= status < 300)
            if not 200 <= status < 300 and failures[name] == 1:
                print(f"  {name}: {status} {body[:200]!r}", flush=True)

        for i in range(args.repeat):
            record("ASK {}", query(port, "ASK {}"))
            record("lookup query", query(port, LOOKUP))
            for name, graph in GRAPHS.items():
                triple = f'<{ID}bench/s{i}> <{ID}bench/p> "{i}"'
                record(
                    f"INSERT DATA, one triple, {name}",
                    update(port, f"INSERT DATA {{ GRAPH <{graph}> {{ {triple} }} }}"),
                )
                record(
                    f"DELETE DATA, one triple, {name}",
                    update(port, f"DELETE DATA {{ GRAPH <{graph}> {{ {triple} }} }}"),
                )
            body = b"".join(f'<{ID}bench/g{i}> <{ID}bench/p> "{k}" .\n'.encode() for k in range(3))
            target = "/store?" + urllib.parse.urlencode({"graph": f"{ID}graph/bench-gsp"})
            headers = {"Content-Type": "application/n-triples", "Authorization": f"Bearer {TOKEN}"}
            record("GSP PUT, three triples", request(port, "PUT", target, body, headers))
            record("GSP POST, three triples", request(port, "POST", target, body, headers))
            print(f"round {i + 1}/{args.repeat}", end="\r", flush=True)
        print()
        anchor = percentile(times["lookup query"], 0.5)
        for name, values in times.items():
            print(line(name, values, anchor if name != "lookup query" else None, failures[name]))

        # Concurrent writers: each must be answered, and what was acknowledged must be kept.
        results: list[tuple[int, tuple[int, dict[str, str], bytes, float]]] = []
        lock = threading.Lock()
        graph = GRAPHS["own graph"]

        def writer(k: int) -> None:
            text = f'INSERT DATA {{ GRAPH <{graph}> {{ <{ID}bench/w{k}> <{ID}bench/p> "w" }} }}'
            outcome = update(port, text)
            with lock:
                results.append((k, outcome))

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(args.writers)]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(f"{args.writers} concurrent one-triple updates:")
        missing = []
        for k, (status, headers, body, elapsed) in sorted(results, key=lambda r: r[1][3]):
            note = ""
            if status == 503:
                note = f" Retry-After {headers.get('Retry-After')}"
            elif not 200 <= status < 300:
                note = f" {body[:120]!r}"
            print(f"  writer {k}: {status or 'no answer'} after {elapsed:.2f} s{note}")
            if 200 <= status < 300:
                ask = f"ASK {{ GRAPH <{graph}> {{ <{ID}bench/w{k}> ?p ?o }} }}"
                if b"true" not in query(port, ask)[2]:
                    missing.append(k)
        print(
            f"  all answered in {time.perf_counter() - began:.2f} s; acknowledged but missing: "
            f"{missing or 'none'}"
        )
    finally:
        stop_all(processes)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

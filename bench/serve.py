"""Benchmark: the production server against Oxigraph server and rdflib-endpoint, in one run.

Each server gets the same bundled data and the same query mix (lookups, joins,
aggregates, DESCRIBE) from 8 concurrent keep-alive clients for a fixed time;
the script prints requests/s, p50 and p99 latency and the ratios to Alliance.
The targets are driven in turn for several rounds and their requests summed, so that
a change of the machine's load during the run weighs on all of them.
Targets: >= 0.9x Oxigraph server's throughput, >= 5x rdflib-endpoint's.
Client and server share the 2 cores here: compare only within one run.

Two Oxigraph anchors: one over the merged triples in its default graph (the
fastest Oxigraph can be on this data), and one over Alliance's own published
store (the same named graphs) with `--union-default-graph`, which answers
exactly what Alliance's endpoint answers: the cost of the union over named
graphs shows as the gap between the two.

Anchors: `oxigraph` (the binary of the `oxigraph` package, in the test extra)
and `rdflib-endpoint` (install it in its own environment, e.g.
`python3 -m venv /tmp/rdfe && /tmp/rdfe/bin/pip install rdflib-endpoint`,
then pass `--rdflib-endpoint /tmp/rdfe/bin/rdflib-endpoint`). A missing
anchor is skipped with a message.

The query mix and the load driver live in bench/common.py (shared with bench/remote.py).

Usage: python bench/serve.py [--seconds 15] [--rounds 3] [--clients 8] [--rdflib-endpoint PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import drive, free_port, report, report_by_query, stop_all, wait_until_up

SAME_STORE = "oxigraph serve-read-only, same named graphs, union default graph"
SHORT = {SAME_STORE: "oxigraph same graphs"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="per target and round")
    parser.add_argument("--rounds", type=int, default=3, help="targets taken in turn")
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
                + ["--store", str(store), "--port", str(port), "--workers", "2"]
                # The per-client rate limit would refuse a benchmark's clients.
                + ["--rate-limit", "0"],
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
            # Like for like: Oxigraph server over Alliance's own published store (the same
            # named graphs), asked for the union of them as Alliance's endpoint answers.
            generation = store / "generations" / (store / "CURRENT").read_text().strip()
            port = free_port()
            processes.append(
                subprocess.Popen(
                    [oxigraph, "serve-read-only", "--location", str(generation)]
                    + ["--bind", f"127.0.0.1:{port}", "--union-default-graph"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            targets.append((SAME_STORE, port, "/query"))
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

        for _name, port, path in targets:
            wait_until_up(port, f"{path}?query=ASK%7B%7D")
            drive(port, path, 2, args.clients)  # warm-up
        # Rounds take the targets in turn, so that a change in the machine's load over the
        # run (other tenants, the OS cache) falls on every target alike.
        names = [name for name, _port, _path in targets]
        requests = dict.fromkeys(names, 0)
        elapsed = dict.fromkeys(names, 0.0)
        latencies: dict[str, list[float]] = {name: [] for name in names}
        errors = dict.fromkeys(names, 0)
        by_query: dict[str, dict[str, list[float]]] = {name: {} for name in names}
        for round_number in range(1, args.rounds + 1):
            rates = []
            for name, port, path in targets:
                rate, times, failed = drive(
                    port, path, args.seconds, args.clients, by_query=by_query[name]
                )
                requests[name] += len(times)
                elapsed[name] += len(times) / rate if rate else args.seconds
                latencies[name] += times
                errors[name] += failed
                rates.append(f"{SHORT.get(name, name)} {rate:.1f}")
            print(f"round {round_number}: " + ", ".join(rates) + " req/s", flush=True)
        results = {name: requests[name] / elapsed[name] for name in names}
        for name in names:
            print(report(name, results[name], latencies[name], errors[name]))
            print(report_by_query(by_query[name]))
        ours = results["alliance serve"]
        for name, rate in results.items():
            if name != "alliance serve":
                print(f"alliance / {name}: {ours / rate:.2f}x")
    finally:
        stop_all(processes)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

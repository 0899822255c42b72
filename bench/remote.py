"""Benchmark: Alliance over a remote store, against that store queried directly, in one run.

For each remote backend installed here (Oxigraph server; Virtuoso 7 when `virtuoso-t` is),
the script loads the bundled data into it, starts `alliance serve --store URL --no-ingest` in
front of it, and sends the query mix of bench/serve.py (bench/common.py) from 8 concurrent
keep-alive clients for a fixed time, first to the backend's own SPARQL endpoint, then through
Alliance. It prints requests/s, p50 and p99 latency, and the ratio Alliance / backend.
Target: >= 0.8x the backend's own throughput.

The data: `alliance ingest` into a temporary embedded store, dumped to N-Quads (every named
graph kept), loaded with each engine's own bulk loader (`oxigraph load`; Virtuoso's
`ld_dir`/`rdf_loader_run` through `isql-vt`). The direct queries are made equivalent to
Alliance's: Alliance answers a query without GRAPH over the union of the named graphs, which
Oxigraph server does only with its `union-default-graph` parameter (added to every direct
query), and Virtuoso does by default. (Alliance itself asks the remote store for that union
with `default-graph-uri` naming the graph that holds it (below), or else listing the published
graphs, so that staging and engine graphs never show; the direct queries use each engine's own
way to the same answers.)
Before timing, each query of the mix is sent once both ways and the sizes of the answers are
compared (a difference is printed, not fatal: DESCRIBE is engine-defined).

On both engines Alliance keeps the union of the published graphs as one graph of the store
(store/remote/union.py); `alliance ingest` over the bulk-loaded store, which finds every
source unchanged, builds it, and its time is printed. The direct anchor runs before that (the
union graph would otherwise count twice in the engine's own union); a second anchor then
queries the engine directly over that same union graph (`default-graph-uri`): the
like-for-like comparison, where Alliance's only extra is its own cost per request.

Client, Alliance and the backend share the machine's cores: compare figures only within one
run. Alliance runs with `--rate-limit 0` (the per-client limit would refuse a benchmark).

Usage: python bench/remote.py [--seconds 20] [--clients 8] [--workers 2] [--no-oxigraph]
                              [--no-virtuoso] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType

from common import (
    QUERY_MIX,
    accept_for,
    drive,
    free_port,
    report,
    report_by_query,
    stop_all,
    wait_until_up,
)
from pyoxigraph import RdfFormat, parse

ROOT = Path(__file__).resolve().parents[1]


def load_engines() -> ModuleType:
    """tests/backends/engines.py: how Oxigraph server and Virtuoso start here."""
    path = ROOT / "tests" / "backends" / "engines.py"
    spec = importlib.util.spec_from_file_location("alliance_bench_engines", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def build_dump(work: Path) -> Path:
    """The bundled data as one N-Quads file, through an embedded store."""
    store = work / "store"
    subprocess.run(
        [sys.executable, "-m", "alliance.cli", "ingest", "--store", str(store)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    data = work / "alliance.nq"
    subprocess.run(
        [sys.executable, "-m", "alliance.cli", "dump", "--store", str(store), str(data)],
        check=True,
    )
    return data


def answer_size(port: int, path: str, name: str, extra: list[tuple[str, str]]) -> int | str:
    """Rows (or triples) of one query of the mix, or the error status."""
    query = urllib.parse.urlencode([("query", QUERY_MIX[name]), *extra])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", f"{path}?{query}", headers={"Accept": accept_for(name)})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200:
        return f"HTTP {response.status}"
    if name == "describe":
        return sum(1 for _ in parse(body, RdfFormat.TURTLE))
    return len(json.loads(body)["results"]["bindings"])


def start_alliance(work: Path, name: str, options: list[str], workers: int) -> tuple:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
    env["ALLIANCE_CACHE_DIR"] = str(work / f"cache-{name}")
    log = open(work / f"alliance-{name}.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "alliance.cli", "serve", "--no-ingest", *options]
        + ["--port", str(port), "--workers", str(workers), "--rate-limit", "0"],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    return process, port, log


def build_union(engine) -> str | None:  # noqa: ANN001 - engines.Engine
    """`alliance ingest` over the bulk-loaded store (nothing to publish: it builds the
    union graph); the union graph's IRI, if one was built."""
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "alliance.cli", "ingest", *engine.options()],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    query = (
        "SELECT ?u WHERE { GRAPH <urn:x-alliance:state> "
        "{ <urn:x-alliance:state> <urn:x-alliance:union> ?u } }"
    )
    parts = urllib.parse.urlsplit(engine.query)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(
            "GET",
            f"{parts.path}?{urllib.parse.urlencode({'query': query})}",
            headers={"Accept": "application/sparql-results+json"},
        )
        bindings = json.loads(conn.getresponse().read())["results"]["bindings"]
    finally:
        conn.close()
    union = bindings[0]["u"]["value"] if bindings else None
    took = time.monotonic() - start
    print(f"alliance ingest (all sources unchanged) built {union} in {took:.1f} s")
    return union


def union_anchor(engine) -> list[tuple[str, str]] | None:  # noqa: ANN001 - engines.Engine
    """Build the union graph; the parameters that query the engine directly over it."""
    union = build_union(engine)
    return [("default-graph-uri", union)] if union else None


def compare(direct: tuple[int, str, list], alliance: tuple[int, str, list]) -> None:
    """Each query's answer size, directly and through Alliance (a difference is printed)."""
    for name in QUERY_MIX:
        ours = answer_size(alliance[0], alliance[1], name, alliance[2])
        theirs = answer_size(direct[0], direct[1], name, direct[2])
        mark = "" if ours == theirs else "   <- differs"
        print(f"  {name:10} direct {theirs!s:>8}  through Alliance {ours!s:>8}{mark}")


def timed(name: str, target: tuple[int, str, list], args: argparse.Namespace) -> float:
    """Drive one target (after a 2 s warm-up), print its report; its requests/s."""
    port, path, extra = target
    drive(port, path, 2, args.clients, extra_params=extra)  # warm-up
    by_query: dict[str, list[float]] = {}
    rate, latencies, errors = drive(
        port, path, args.seconds, args.clients, extra_params=extra, by_query=by_query
    )
    print(report(name, rate, latencies, errors, width=30))
    print(report_by_query(by_query))
    return rate


def bench_backend(
    label: str,
    engine,  # noqa: ANN001 - engines.Engine
    direct_extra: list[tuple[str, str]],
    work: Path,
    args: argparse.Namespace,
    prepare: Callable[[], list[tuple[str, str]] | None] | None = None,
) -> tuple[float, float]:
    """The backend directly, then (after `prepare`, which gives the like-for-like anchor's
    parameters, if any) through Alliance, then the like-for-like anchor."""
    parts = urllib.parse.urlsplit(engine.query)
    direct = (parts.port, parts.path, direct_extra)
    # First, while the store holds only the bulk-loaded graphs.
    direct_rate = timed(f"{label} direct", direct, args)
    like_for_like = prepare() if prepare is not None else None
    anchor = (parts.port, parts.path, like_for_like) if like_for_like is not None else None
    processes: list[subprocess.Popen] = []
    logs = []
    try:
        options = ["--store", engine.query]
        process, port, log = start_alliance(work, label, options, args.workers)
        processes.append(process)
        logs.append(log)
        wait_until_up(port, "/sparql?query=ASK%7B%7D", timeout=120)
        if process.poll() is not None:
            raise RuntimeError(f"alliance serve over {label} exited; see {log.name}")
        through = (port, "/sparql", [])
        print(f"{label}: answer sizes, each query of the mix")
        compare(anchor or direct, through)
        ours = timed(f"Alliance over {label}", through, args)
        print(f"Alliance / {label} direct: {ours / direct_rate:.2f}x (target >= 0.8x)")
        if anchor is not None:
            same = timed(f"{label} direct, union graph", anchor, args)
            print(f"Alliance / {label} direct over the same union graph: {ours / same:.2f}x")
        return direct_rate, ours
    finally:
        stop_all(processes)
        for log in logs:
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="of each alliance serve")
    parser.add_argument("--no-oxigraph", action="store_true", help="skip Oxigraph server")
    parser.add_argument("--no-virtuoso", action="store_true", help="skip Virtuoso")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    engines = load_engines()
    work = Path(tempfile.mkdtemp(prefix="alliance-bench-remote-"))
    results: dict[str, tuple[float, float]] = {}
    try:
        data = build_dump(work)
        oxigraph = engines.oxigraph_binary()
        if args.no_oxigraph:
            pass
        elif oxigraph:
            folder = work / "oxigraph"
            folder.mkdir()
            subprocess.run(
                [oxigraph, "load", "--location", str(folder / "data"), "--file", str(data)],
                check=True,
                capture_output=True,
            )
            engine = engines.start_oxigraph(folder)
            try:
                results["Oxigraph server"] = bench_backend(
                    "Oxigraph server",
                    engine,
                    [("union-default-graph", "")],
                    work,
                    args,
                    prepare=partial(union_anchor, engine),
                )
            finally:
                engine.stop()
        else:
            print("oxigraph not found (pip install oxigraph): that backend is skipped")

        if args.no_virtuoso:
            pass
        elif engines.virtuoso_binary() and shutil.which("isql-vt"):
            folder = work / "virtuoso"
            folder.mkdir()
            shutil.copy(data, folder / "alliance.nq")
            engine = engines.start_virtuoso(folder)
            try:
                load = (
                    f"ld_dir('{folder}', 'alliance.nq', 'http://localhost/unused'); "
                    "rdf_loader_run(); checkpoint;"
                )
                subprocess.run(
                    ["isql-vt", f"127.0.0.1:{engine.extra['sql_port']}", "dba", "dba"]
                    + [f"exec={load}"],
                    check=True,
                    capture_output=True,
                )
                results["Virtuoso"] = bench_backend(
                    "Virtuoso", engine, [], work, args, prepare=partial(union_anchor, engine)
                )
            finally:
                engine.stop()
        else:
            print("virtuoso-t or isql-vt not found: Virtuoso is skipped")

        if results:
            print("\nsummary (req/s; compare within this run only)")
            for label, (direct, ours) in results.items():
                verdict = "ok" if ours >= 0.8 * direct else "below target"
                print(
                    f"  {label:16} direct {direct:8.1f}  through Alliance {ours:8.1f}  "
                    f"{ours / direct:.2f}x  {verdict}"
                )
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark: cold ingest of every bundled source, validation included, against its anchors.

In one run, on the same triples:
  * `alliance ingest` into a fresh store (build, validate, publish);
  * `oxigraph load` of the same quads (N-Quads dumped from that store) into a fresh folder;
  * one plain pySHACL run over the same graph (all triples, the project's shapes).
Prints seconds and ratios, and the store's size on disk.
Target: cold ingest with validation <= 10 s on 2 cores.
Shared machines vary: compare ratios within one run, not absolute figures across runs.

Usage: python bench/ingest.py [--repeat N] [--skip-pyshacl]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(func, repeat: int) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _size(path: Path) -> int:
    """Bytes on disk under a folder (or of a file)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure (median kept)")
    parser.add_argument("--skip-pyshacl", action="store_true", help="skip the slow pySHACL anchor")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="alliance-bench-"))
    try:

        def cold_ingest() -> Path:
            target = work / f"store-{time.monotonic_ns()}"
            subprocess.run(
                [sys.executable, "-m", "alliance.cli", "ingest", "--store", str(target)],
                check=True,
                capture_output=True,
            )
            return target

        ingest_s, store_dir = timed(cold_ingest, args.repeat)
        from alliance.store import open_store

        dump = work / "all.nq"
        with open_store(store_dir, read_only=True) as store, open(dump, "wb") as out:
            store.dump(out)
            graphs = store.graphs()
            triples = [t for g in graphs for t in store.triples(g)]
        oxigraph = shutil.which("oxigraph")
        rows = [("alliance ingest (build + validate + publish)", ingest_s)]
        if oxigraph:

            def load() -> None:
                target = work / f"oxi-{time.monotonic_ns()}"
                subprocess.run(
                    [oxigraph, "load", "--location", str(target), "--file", str(dump)],
                    check=True,
                    capture_output=True,
                )

            load_s, _ = timed(load, args.repeat)
            rows.append(("oxigraph load of the same quads", load_s))
        else:
            print("oxigraph binary not found (pip install oxigraph): anchor skipped")
        if not args.skip_pyshacl:
            from alliance.shapes.gate import to_rdflib, validate

            def plain() -> object:
                return validate(to_rdflib(triples))

            shacl_s, report = timed(plain, 1)
            rows.append(("plain pySHACL over the same graph (once)", shacl_s))
        print(f"{len(triples):,} triples in {len(graphs)} graphs")
        mib = 2**20
        print(f"store folder {_size(store_dir) / mib:.1f} MiB, dump {_size(dump) / mib:.1f} MiB")
        for label, seconds in rows:
            print(f"{label:48} {seconds:7.2f} s   ratio to ingest {seconds / ingest_s:5.2f}")
        verdict = "meets" if ingest_s <= 10 else "misses"
        print(f"cold ingest with validation: {ingest_s:.2f} s ({verdict} the 10 s target)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

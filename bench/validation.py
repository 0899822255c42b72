"""Benchmark: SHACL validation of the bundled graph, in full and after a one-contract change.

In one run, on the same triples:
  * full: our path (the ingest gate per source, the territories' certificate reused) next to
    one plain pySHACL run over every triple (ontology + territories + facts);
  * incremental: one row of agreements.csv edited in a temporary copy (a contract gets a
    date), over a store where ingest published the bundled sources; our path is the gate on
    the facts source (which validates again only the focus nodes the change concerns,
    `alliance.ingest.incremental`), the other graphs' results being the records ingest
    stored with them (`alli:lastValidation`); next to plain pySHACL over the changed graph.
Prints seconds (median of --repeat runs for our paths, warm: pySHACL imported, shapes parsed;
the cold first run too), ratios, and whether the results are identical; --profile splits
the facts gate into its steps, in full and incrementally.
Targets: full <= 2 s, incremental <= 0.2 s. Shared machines vary: compare within one run.

Usage: python bench/validation.py [--repeat N] [--skip-pyshacl] [--profile]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
FULL_TARGET = 2.0
INCREMENTAL_TARGET = 0.2
CONTRACT = "contrat-reciprocite-lyon-aurillac"


def timed(func: Callable[[], T], repeat: int) -> tuple[float, float, T]:
    """(cold first run, median of the `repeat` runs after it, last result)."""
    start = time.perf_counter()
    result = func()
    cold = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return cold, statistics.median(times) if times else cold, result


def edited_facts(work: Path) -> Path:
    """A copy of the curated tables where one contract (one row of agreements.csv) has a date."""
    from alliance.ingest.curated import FACTS_DIR

    folder = work / "facts"
    shutil.copytree(FACTS_DIR, folder, ignore=shutil.ignore_patterns("*.py", "*.md", "__pycache__"))
    table = folder / "agreements.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    [index] = [i for i, line in enumerate(lines) if line.startswith(f"{CONTRACT},")]
    assert ",,pilot," in lines[index]
    lines[index] = lines[index].replace(",,pilot,", ",2016-03-01,pilot,", 1)
    table.write_text("".join(lines), encoding="utf-8")
    return folder


def recorded(store, graph) -> set:  # noqa: ANN001
    """The results ingest stored with a graph when it published it."""
    from alliance.namespaces import ALLI
    from alliance.shapes.report import report_from_record

    rows = store.query(
        f"SELECT ?r WHERE {{ GRAPH {graph} {{ {graph} <{ALLI}lastValidation> ?r }} }}",
        union_default_graph=False,
    )
    return {r for row in rows for r in report_from_record(json.loads(row["r"].value)).results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per measure (median)")
    parser.add_argument("--skip-pyshacl", action="store_true", help="skip the plain pySHACL runs")
    parser.add_argument(
        "--profile", action="store_true", help="print where the incremental path spends its time"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)

    from alliance.ingest.curated import CuratedFacts
    from alliance.ingest.pipeline import gate, ingest
    from alliance.ingest.reference.certificate import certified_report
    from alliance.ingest.sources import bundled_sources
    from alliance.namespaces import graph_iri
    from alliance.shapes.gate import validate
    from alliance.store import open_store

    work = Path(tempfile.mkdtemp(prefix="alliance-bench-validation-"))
    try:
        sources = bundled_sources()
        built = {graph_iri(s.name): list(s.build()) for s in sources}
        everything = [t for triples in built.values() for t in triples]
        rows = []

        # --- full validation: the gate per source (territories: the certificate) -------------
        with open_store(work / "empty") as empty:

            def ours_full() -> set:
                found: set = set()
                for source in sources:
                    graph = graph_iri(source.name)
                    found |= set(gate(source, built[graph], empty, built, certified_report).results)
                return found

            full_cold, full_s, full_results = timed(ours_full, args.repeat)
        rows.append(("full: gate per source + certificate", full_s, full_cold))
        plain_full = None
        if not args.skip_pyshacl:
            _, plain_full_s, plain_full = timed(lambda: set(validate(everything).results), 0)
            rows.append(("full: plain pySHACL, same graph (once)", plain_full_s, None))

        # --- one contract changed: the gate on the facts source ------------------------------
        with open_store(work / "store") as store:
            ingest(store, sources, trusted=certified_report)  # the published state, recorded
            changed_source = CuratedFacts(edited_facts(work))
            changed = list(changed_source.build())
            facts = graph_iri("facts")
            others = [g for g in built if g != facts]

            def ours_incremental() -> set:
                found = set(gate(changed_source, changed, store, {facts: changed}).results)
                for graph in others:  # unchanged graphs: what ingest recorded with them
                    found |= recorded(store, graph)
                return found

            inc_cold, inc_s, inc_results = timed(ours_incremental, args.repeat)
            _, gate_only_s, _ = timed(
                lambda: gate(changed_source, changed, store, {facts: changed}), args.repeat
            )
            rows.append(("one contract changed: facts gate + records", inc_s, inc_cold))
            rows.append(("  of which the facts gate", gate_only_s, None))
            plain_inc = None
            if not args.skip_pyshacl:
                data = [t for g in others for t in built[g]] + changed
                _, plain_inc_s, plain_inc = timed(lambda: set(validate(data).results), 0)
                rows.append(("one contract changed: plain pySHACL (once)", plain_inc_s, None))
            if args.profile:
                profile(changed_source, changed, store, {facts: changed})

        print(f"{len(everything):,} triples in {len(built)} graphs; shapes and ontology unchanged")
        print(f"{'':48} {'warm s':>8} {'cold s':>8}")
        for label, seconds, cold in rows:
            cold_text = f"{cold:8.3f}" if cold is not None else " " * 8
            print(f"{label:48} {seconds:8.3f} {cold_text}")
        if plain_full is not None:
            print(
                f"full: ratio plain/ours {plain_full_s / full_s:6.1f}; identical results: "
                f"{full_results == plain_full} ({len(full_results)} results)"
            )
        if plain_inc is not None:
            print(
                f"incremental: ratio plain/ours {plain_inc_s / inc_s:6.1f}; identical results: "
                f"{inc_results == plain_inc} ({len(inc_results)} results)"
            )
        for name, seconds, target in (
            ("full", full_s, FULL_TARGET),
            ("incremental", inc_s, INCREMENTAL_TARGET),
        ):
            verdict = "meets" if seconds <= target else "misses"
            print(f"{name}: {seconds:.3f} s ({verdict} the {target} s target)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def profile(source, triples: list, store, pending: dict) -> None:  # noqa: ANN001
    """Where the time goes, step by step (warm): the facts gate in full, then incrementally."""
    from pyoxigraph import NamedNode

    from alliance.ingest import incremental
    from alliance.ingest.pipeline import neighbourhood
    from alliance.namespaces import graph_iri
    from alliance.shapes.gate import results_graph, to_rdflib
    from alliance.shapes.reach import project_reach
    from alliance.shapes.report import read_report

    graph = graph_iri(source.name)
    steps: list[tuple[str, float]] = []

    def step(label: str, func: Callable[[], T]) -> T:
        start = time.perf_counter()
        result = func()
        steps.append((label, time.perf_counter() - start))
        return result

    context = step(
        "neighbourhood query (store)",
        lambda: neighbourhood(store, triples, pending=pending, own_graph=graph),
    )
    ontology = step("ontology triples (store)", lambda: list(store.triples(graph_iri("ontology"))))
    data = step("rdflib conversion", lambda: to_rdflib([*triples, *context, *ontology]))
    results = step("pySHACL", lambda: results_graph(data))
    step("reading the report", lambda: read_report(results))
    print(f"the facts gate in full ({len(data):,} triples in the data graph):")
    for label, seconds in steps:
        print(f"  {label:44} {seconds:7.3f} s")

    steps.clear()
    step("validation record (store)", lambda: incremental._record(store, graph))
    step("published since? (store)", lambda: incremental._published_since(store, graph))
    old = step("published triples (store)", lambda: incremental._source_triples(store, graph))
    changed = step("difference", lambda: set(old) ^ set(triples))
    named = [
        (c.subject.value, c.predicate.value, getattr(c.object, "value", None)) for c in changed
    ]
    reach = project_reach()
    lookup = incremental._Lookup([*old, *triples], store, graph)
    affected = step("nodes concerned (routes backwards)", lambda: reach.affected(named, lookup))
    focus = {
        t.subject
        for t in triples
        if isinstance(t.subject, NamedNode) and t.subject.value in affected
    }
    step(
        "validating them (routes forwards, pySHACL)",
        lambda: incremental._validate(focus, [*triples, *context, *ontology]),
    )
    print(f"incrementally ({len(changed)} triple(s) changed, {len(focus)} focus node(s) again):")
    for label, seconds in steps:
        print(f"  {label:44} {seconds:7.3f} s")


if __name__ == "__main__":
    main()

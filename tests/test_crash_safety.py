"""Crash safety: `alliance ingest` killed with SIGKILL at 20 random moments.

After each kill the store must open (read-only, in a fresh process) and hold either the
old or the new version of the changed source, never a mix, and every other graph as it was;
a query without GRAPH (answered from the generation's union index) must agree with it.
A complete ingest must then succeed and leave no unfinished generation behind.

The changed source is a copy of the curated facts (a few hundred triples) so that a run is
short (a couple of seconds, most of it building, validating and publishing a generation of
the whole store, territories included); the moments are spread over a measured run, with
some forced into its publish step (from "publishing" in the log to the end).
Each kill changes the store to the other version, so the runs alternate between two folders
of facts and every run has something to publish.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FACTS_DIR = Path(__file__).resolve().parents[1] / "ingest" / "facts"
KILLS = 20
SEED = 20161

#: Run in a fresh interpreter: digests of the facts graph and of every other graph.
#: The PROV description of a graph holds the times of its ingest (and an activity IRI
#: built from them), which differ from run to run: those are normalised away, all the
#: rest (data, checksums, validation record) is compared exactly.
CHECK = r"""
import hashlib, json, re, sys
from alliance.namespaces import graph_iri
from alliance.store import open_store

TIMES = {
    "<http://www.w3.org/ns/prov#generatedAtTime>",
    "<http://www.w3.org/ns/prov#startedAtTime>",
    "<http://www.w3.org/ns/prov#endedAtTime>",
}
facts = graph_iri("facts")
territories = graph_iri("territories")
full = sys.argv[2] == "full"
activity = re.compile(re.escape(facts.value) + r"/ingest/[0-9TZ]+")

def digest(lines):
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()

with open_store(sys.argv[1], read_only=True) as store:
    generation = store.published_generation()
    graphs = store.graphs()
    fact_lines = []
    for t in store.triples(facts):
        s, p, o = str(t.subject), str(t.predicate), str(t.object)
        if p in TIMES:
            o = '"TIME"'
        fact_lines.append(activity.sub("ACTIVITY", f"{s} {p} {o}"))
    others = {}
    for g in graphs:
        if g == facts:
            continue
        if full or g != territories:
            others[g.value] = digest(str(t) for t in store.triples(g))
        else:
            # Cheap enough for every kill: its size and its own PROV description.
            rows = store.query(
                f"SELECT (COUNT(*) AS ?n) {{ GRAPH {g} {{ ?s ?p ?o }} }}",
                union_default_graph=False,
            )
            described = store.query(
                f"SELECT ?p ?o {{ GRAPH {g} {{ {g} ?p ?o }} }}", union_default_graph=False
            )
            count = next(iter(rows))["n"].value
            others[g.value] = [count, digest(f"{r[0]} {r[1]}" for r in described)]
    label = [
        r["l"].value
        for r in store.query(
            "SELECT ?l { <https://w3id.org/alliance/id/actor/pays-d-aurillac> "
            "<http://www.w3.org/2000/01/rdf-schema#label> ?l FILTER(lang(?l) = 'fr') }"
        )
    ]
print(json.dumps({
    "generation": generation,
    "facts": digest(fact_lines),
    "facts_triples": len(fact_lines),
    "others": others,
    "label": label,
}))
"""


def check(store_dir: Path, *, full: bool = False) -> dict:
    """What a fresh reader process sees in the store (`full`: digest the territories too)."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(store_dir), "full" if full else "quick"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"the store does not open after a kill:\n{done.stderr}"
    return json.loads(done.stdout)


def ingest_command(store_dir: Path, facts: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "alliance.cli",
        "-v",
        "ingest",
        "--store",
        str(store_dir),
        f"facts={facts}",
    ]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}


def timed_ingest(store_dir: Path, facts: Path) -> tuple[float, float]:
    """Run a complete ingest; (seconds to its publish step, seconds in all)."""
    start = time.monotonic()
    publishing = None
    process = subprocess.Popen(
        ingest_command(store_dir, facts),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(),
    )
    assert process.stdout is not None
    output = []
    for line in process.stdout:
        output.append(line)
        if publishing is None and "publishing" in line:
            publishing = time.monotonic() - start
    assert process.wait(timeout=300) == 0, "".join(output)
    total = time.monotonic() - start
    assert publishing is not None, "".join(output)
    return publishing, total


def generations(store_dir: Path) -> list[str]:
    return sorted(p.name for p in (store_dir / "generations").iterdir() if p.is_dir())


@pytest.mark.slow
def test_ingest_killed_at_random_moments_leaves_old_or_new(
    bundled_store_dir: Path, tmp_path: Path
) -> None:
    # A private copy (real copies: a writer hard-links files of the generation it starts
    # from, so the session's store must not share inodes with this one).
    store_dir = tmp_path / "store"
    shutil.copytree(bundled_store_dir, store_dir)
    folders = {}
    for version in ("a", "b"):
        folder = tmp_path / f"facts-{version}"
        shutil.copytree(FACTS_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        folders[version] = folder
    actors = folders["b"] / "actors.csv"
    text = actors.read_text(encoding="utf-8")
    changed = text.replace(
        "pays-d-aurillac,pays,Pays d'Aurillac,", "pays-d-aurillac,pays,Pays d'Aurillac (v2),"
    )
    assert changed != text
    actors.write_text(changed, encoding="utf-8")

    others_full = check(store_dir, full=True)["others"]
    assert len(others_full) == 3  # ontology, territories, territory-history
    others = check(store_dir)["others"]

    # Two complete runs: the expected content of each version, and the timing of a run.
    publish_b, total_b = timed_ingest(store_dir, folders["b"])
    seen_b = check(store_dir)
    publish_a, total_a = timed_ingest(store_dir, folders["a"])
    seen_a = check(store_dir)
    expected = {"a": seen_a["facts"], "b": seen_b["facts"]}
    labels = {"a": seen_a["label"], "b": seen_b["label"]}
    assert expected["a"] != expected["b"]
    assert seen_b["label"] == ["Pays d'Aurillac (v2)"] and seen_a["label"] == ["Pays d'Aurillac"]
    assert seen_a["others"] == others and seen_b["others"] == others
    total = max(total_a, total_b)
    publish = min(publish_a, publish_b)

    rng = random.Random(SEED)
    moments = [rng.uniform(0.0, total) for _ in range(KILLS - 6)]
    moments += [rng.uniform(publish, total) for _ in range(6)]  # during the publish step
    rng.shuffle(moments)

    holds = "a"  # the version the store holds now
    outcomes = []
    for moment in moments:
        target = "b" if holds == "a" else "a"
        process = subprocess.Popen(
            ingest_command(store_dir, folders[target]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=clean_env(),
        )
        time.sleep(moment)
        process.send_signal(signal.SIGKILL)  # a no-op if it already finished
        process.wait(timeout=60)
        seen = check(store_dir)
        assert seen["facts"] in (expected[holds], expected[target]), (
            f"killed at {moment:.2f} s: the facts graph is neither version "
            f"({seen['facts_triples']} triples, generation {seen['generation']})"
        )
        assert seen["others"] == others, f"killed at {moment:.2f} s: other graphs changed"
        published = seen["facts"] == expected[target]
        # The label is read without GRAPH, from the union index: it follows the generation.
        assert seen["label"] == labels[target if published else holds], (
            f"killed at {moment:.2f} s: the union index disagrees with its generation"
        )
        outcomes.append((round(moment, 2), process.returncode, "new" if published else "old"))
        if published:
            holds = target

    # Leftovers of killed writers do not stop the next one, which removes them.
    target = "b" if holds == "a" else "a"
    done = subprocess.run(
        ingest_command(store_dir, folders[target]),
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    final = check(store_dir, full=True)
    assert final["facts"] == expected[target]
    assert final["others"] == others_full
    current = (store_dir / "CURRENT").read_text().strip()
    left = generations(store_dir)
    assert current == left[-1], f"unpublished generations left: {left} (CURRENT {current})"
    assert len(left) <= 2, left  # the published one and the one before (KEEP_GENERATIONS)
    assert sorted(p.name for p in (store_dir / "unions").iterdir()) == left  # their twins only
    killed = [o for o in outcomes if o[1] == -signal.SIGKILL]
    print(f"run {total:.2f} s, publish from {publish:.2f} s; kills (moment, rc, seen): {outcomes}")
    assert killed, "no run was killed before it finished: the moments do not cover a run"
    assert re.fullmatch(r"\d{6}", current)

"""`alliance dump` and `alliance restore` on the embedded store: round trip and bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

from click.testing import CliRunner

from alliance.cli import main

TURTLE = """@prefix ex: <https://example.org/> .
ex:a ex:label "one" ; ex:next ex:b .
ex:b ex:label "deux"@fr .
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_dump_restore_round_trip_and_a_broken_file_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "demo.ttl"
    data.write_text(TURTLE)
    store = tmp_path / "store"
    code, output = run("ingest", "--store", str(store), f"demo={data}")
    assert code == 0, output
    first = tmp_path / "first.nq.gz"
    assert run("dump", "--store", str(store), str(first))[0] == 0
    quads = gzip.decompress(first.read_bytes()).decode()
    assert '"deux"@fr' in quads and "<https://example.org/a>" in quads

    broken = tmp_path / "broken.nq"
    broken.write_text(quads.splitlines()[0] + "\n<https://example.org/x> <oops .\n")
    code, output = run("restore", "--store", str(store), str(broken))
    assert code == 1
    assert "line 2" in output
    again = tmp_path / "again.nq.gz"
    run("dump", "--store", str(store), str(again))
    assert again.read_bytes() == first.read_bytes()  # unchanged, byte for byte

    fresh = tmp_path / "fresh"
    code, output = run("restore", "--store", str(fresh), str(first))
    assert code == 0, output
    copy = tmp_path / "copy.nq.gz"
    run("dump", "--store", str(fresh), str(copy))
    assert sorted(gzip.decompress(copy.read_bytes()).splitlines()) == sorted(
        quads.encode().splitlines()
    )

"""Comunica, the JavaScript SPARQL client, against the real server, unmodified.

Needs its command-line client (npm `@comunica/query-sparql`, major 4 on Node 20):
found on PATH as `comunica-sparql`, or named by ALLIANCE_COMUNICA. Skipped otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

COMUNICA = os.environ.get("ALLIANCE_COMUNICA") or shutil.which("comunica-sparql")
pytestmark = pytest.mark.skipif(
    COMUNICA is None,
    reason="no comunica-sparql (npm install @comunica/query-sparql@4; set ALLIANCE_COMUNICA)",
)
ALLI = "https://w3id.org/alliance/ontology#"
PACT = "https://w3id.org/alliance/id/agreement/pacte-etat-metropoles"


def comunica(server, query: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [COMUNICA, f"sparql@{server.sparql}", *options, query],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_select(server):
    run = comunica(
        server,
        f"SELECT ?m WHERE {{ <{PACT}> <{ALLI}hasParty> ?m . ?m <{ALLI}epciNature> "
        "<https://w3id.org/alliance/vocab/territory-kind/metropole> }",
    )
    assert run.returncode == 0, run.stderr
    assert len(json.loads(run.stdout)) == 15


def test_construct(server):
    lyon = "https://w3id.org/alliance/id/epci/200046977"
    run = comunica(server, f"CONSTRUCT WHERE {{ <{lyon}> ?p ?o }}", "-t", "application/n-triples")
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == 10


def test_error_message_reaches_the_client(server):
    run = comunica(server, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }")
    assert run.returncode != 0
    assert "SERVICE is disabled on this endpoint" in run.stdout + run.stderr

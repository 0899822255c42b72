"""The Alliance ontology and its SKOS concept schemes, as Turtle files.

`alliance.ttl` declares every class and property of `https://w3id.org/alliance/ontology#`
and labels the external terms the data reuses; `vocab/` holds one file per concept scheme
(`https://w3id.org/alliance/vocab/{scheme}`). Together they make the `id:graph/ontology`
named graph and the ontology graph given to SHACL validation.
"""

from __future__ import annotations

from pathlib import Path

ONTOLOGY_DIR: Path = Path(__file__).resolve().parent
ONTOLOGY_FILE: Path = ONTOLOGY_DIR / "alliance.ttl"
VOCAB_DIR: Path = ONTOLOGY_DIR / "vocab"


def vocab_files() -> list[Path]:
    """The SKOS scheme files, sorted by name."""
    return sorted(VOCAB_DIR.glob("*.ttl"))


def ontology_files() -> list[Path]:
    """The ontology file followed by every SKOS scheme file."""
    return [ONTOLOGY_FILE, *vocab_files()]

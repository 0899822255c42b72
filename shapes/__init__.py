"""SHACL shapes that guard what the Alliance graph may publish.

`alliance-shapes.ttl` holds every shape under `https://w3id.org/alliance/shapes#`. Severities
mean: `sh:Violation` blocks publication of a source, `sh:Warning` asks a curator to look,
`sh:Info` is a hint. Validate with the ontology files as `ont_graph` so that subclasses and
scheme memberships are visible, e.g.::

    pyshacl.validate(data, shacl_graph=SHAPES_FILE, ont_graph=..., advanced=True)
"""

from __future__ import annotations

from pathlib import Path

SHAPES_DIR: Path = Path(__file__).resolve().parent
SHAPES_FILE: Path = SHAPES_DIR / "alliance-shapes.ttl"


def shapes_files() -> list[Path]:
    """Every SHACL file of the project (today just one)."""
    return [SHAPES_FILE]

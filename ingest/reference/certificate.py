"""The recorded validation of the bundled reference sources (territories and their history).

Validating 35k communes (or 43k commune versions) with pySHACL takes longer than the
whole rest of an ingest, and the snapshot changes only when it is rebuilt. So the full
validation runs then (`alliance snapshot certify`, also run by `alliance
snapshot rebuild`) and its results are recorded in `validation.json` with the
checksums of everything they depend on: the snapshot, the shapes, the
ontology and the software version. Ingest reuses the record only while all of
them are byte-identical; otherwise it validates in full.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path

from alliance import __version__
from alliance.ingest.rdf_files import ontology_source
from alliance.ingest.reference.snapshot import PACKAGE_DIR
from alliance.ingest.source import Source
from alliance.namespaces import graph_iri
from alliance.ontology import ontology_files
from alliance.shapes import shapes_files
from alliance.shapes.gate import files_checksum, validate
from alliance.shapes.report import Report, Result

log = logging.getLogger(__name__)

CERTIFICATE = PACKAGE_DIR / "validation.json"
#: The bundled sources validated when built, not at ingest: graph name → its record.
CERTIFICATES = {
    "territories": CERTIFICATE,
    "territory-history": PACKAGE_DIR / "history-validation.json",
}


def _dependencies(source: Source) -> dict[str, str]:
    return {
        "inputs": files_checksum(source.inputs()),
        "shapes": files_checksum(shapes_files()),
        "ontology": files_checksum(ontology_files()),
        "software": __version__,
    }


def certify(source: Source, path: Path | None = None) -> Report:
    """Validate the whole source (with the ontology) and record the results."""
    path = path or CERTIFICATES[source.name]
    triples = list(source.build())
    ontology = list(ontology_source().build())
    # Only the source's own nodes: the ontology's concepts belong to its own graph.
    report = validate([*triples, *ontology], focus_nodes={t.subject for t in triples})
    record = {
        "about": "Full SHACL validation of the graph "
        f"{graph_iri(source.name).value}; see alliance.ingest.reference.certificate",
        "depends_on": _dependencies(source),
        "conforms": report.conforms,
        "results": [asdict(r) for r in report.results],
    }
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("certified %s: %d result(s)", source.name, len(report.results))
    return report


def certified_report(source: Source, path: Path | None = None) -> Report | None:
    """The recorded report if it still applies to exactly these inputs, else None."""
    path = path or CERTIFICATES.get(source.name)
    if path is None or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("depends_on") != _dependencies(source):
        log.info("validation record is out of date: validating %s in full", source.name)
        return None
    results = []
    for item in record["results"]:
        item["messages"] = tuple(tuple(m) for m in item.get("messages", ()))
        results.append(Result(**item))
    return Report(sorted(results))

"""Validation results as plain Python values, read from a SHACL validation report.

pySHACL answers an RDF `sh:ValidationReport`; the CLI, the ingest gate and
the curators' reports need sortable, comparable records instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import total_ordering
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import BNode, Node

SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@total_ordering
@dataclass(frozen=True)
class Result:
    """One SHACL validation result, reduced to what a curator acts on.

    Ordered by its fields, a missing path or value first (results of one focus node and path
    may have a value or not).
    """

    severity: str  # Violation, Warning or Info
    focus: str
    path: str | None
    value: str | None
    source_shape: str | None
    component: str
    messages: tuple[tuple[str, str], ...] = ()  # (language, text), sorted

    def _key(self) -> tuple[object, ...]:
        return (
            self.severity,
            self.focus,
            self.path or "",
            self.value or "",
            self.source_shape or "",
            self.component,
            self.messages,
        )

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Result):
            return NotImplemented
        return self._key() < other._key()

    def message(self, lang: str = "fr") -> str:
        """The message in `lang`, else English, else any."""
        by_lang = dict(self.messages)
        for wanted in (lang, "en", ""):
            if wanted in by_lang:
                return by_lang[wanted]
        return next(iter(by_lang.values()), self.component.rsplit("#", 1)[-1])


@dataclass
class Report:
    """Every result of one validation run."""

    results: list[Result] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not self.results

    @property
    def violations(self) -> list[Result]:
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def blocking(self) -> bool:
        """Whether publication must be refused (any Violation)."""
        return bool(self.violations)

    def counts(self) -> Counter[str]:
        return Counter(r.severity for r in self.results)

    def text(self, lang: str = "fr", limit: int | None = 50) -> str:
        """A readable listing, most severe first."""
        lines = []
        ordered = sorted(self.results, key=lambda r: (SEVERITY_ORDER[r.severity], r))
        for result in ordered[:limit]:
            where = result.focus
            if result.path:
                where += f" {result.path}"
            if result.value is not None:
                where += f" = {result.value}"
            lines.append(f"{result.severity}: {where}\n    {result.message(lang)}")
        if limit is not None and len(ordered) > limit:
            lines.append(f"… and {len(ordered) - limit} more")
        return "\n".join(lines)


def report_record(report: Report) -> dict[str, Any]:
    """The report as JSON-ready values (ingest stores it as a graph's `alli:lastValidation`)."""
    counts = report.counts()
    return {
        "conforms": report.conforms,
        "counts": {severity: counts.get(severity, 0) for severity in SEVERITY_ORDER},
        "results": [asdict(r) for r in report.results],
    }


def report_from_record(record: dict[str, Any]) -> Report:
    """The Report that `report_record` wrote (JSON turns the messages' pairs into lists)."""
    results = []
    for item in record.get("results", ()):
        fields = dict(item)
        fields["messages"] = tuple(tuple(m) for m in fields.get("messages", ()))
        results.append(Result(**fields))
    return Report(sorted(results))


def _term(node: Node | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, BNode):
        return "_:b"  # blank nodes have no stable identity across runs
    return node.n3()


def read_report(graph: Graph) -> Report:
    """Turn pySHACL's results graph into a Report."""
    results = []
    for node in graph.subjects(RDF.type, SH.ValidationResult):
        severity = graph.value(node, SH.resultSeverity)
        messages = tuple(
            sorted(
                (m.language or "", str(m))
                for m in graph.objects(node, SH.resultMessage)
                if isinstance(m, Literal)
            )
        )
        shape = graph.value(node, SH.sourceShape)
        results.append(
            Result(
                severity=str(severity).rsplit("#", 1)[-1] if severity else "Violation",
                focus=_term(graph.value(node, SH.focusNode)) or "",
                path=_term(graph.value(node, SH.resultPath)),
                value=_term(graph.value(node, SH.value)),
                source_shape=_term(shape) if isinstance(shape, URIRef) else _term(shape),
                component=str(graph.value(node, SH.sourceConstraintComponent)),
                messages=messages,
            )
        )
    return Report(sorted(results))

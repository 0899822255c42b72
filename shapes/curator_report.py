"""Validation results for curators: what is wrong, about what, said in their language, and where.

`alliance validate` may run pySHACL several times (one run per store graph or per file, each with
the context it needs) and may reuse a recorded report (the territories certificate). This module
merges those runs into one `CuratorReport`: results keep their RDF terms (so the Turtle output is a
faithful `sh:ValidationReport`), gain the focus node's label and where the node comes from (a
curated table row, an RDF file, a store graph), and get back the language tags pySHACL drops on
SHACL-SPARQL messages. The renderers (`alliance.shapes.render`) only format it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import FOAF, RDF, RDFS, SH, SKOS
from rdflib.term import BNode, Node
from rdflib.util import from_n3

from alliance.namespaces import ID
from alliance.problems import Problem
from alliance.shapes.report import SEVERITY_ORDER, Report

log = logging.getLogger(__name__)

SEVERITIES = tuple(SEVERITY_ORDER)  # Violation, Warning, Info
LABEL_PREDICATES = (RDFS.label, SKOS.prefLabel, FOAF.name)


@dataclass(frozen=True)
class Location:
    """Where a focus node comes from: a curated table row, an RDF file, or a store graph."""

    file: str | None = None
    row: int | None = None  # as a spreadsheet shows it (the header is row 1)
    line: int | None = None
    graph: str | None = None
    sources: tuple[str, ...] = ()  # the graph's prov:hadPrimarySource

    def as_dict(self) -> dict[str, object]:
        """The location for JSON: what is known, sources as a list."""
        known: dict[str, object] = {k: v for k, v in vars(self).items() if v is not None}
        known["sources"] = list(self.sources)
        return known


@dataclass
class Finding:
    """One SHACL validation result, with its RDF terms and what a curator needs to act on it."""

    severity: str  # Violation, Warning or Info
    focus: Node
    path: Node | None
    value: Node | None
    shape: Node | None
    component: Node | None
    messages: dict[str, str] = field(default_factory=dict)  # language ("" untagged) → text
    label: str | None = None  # the focus node's
    value_label: str | None = None
    location: Location | None = None
    node: Node | None = None  # the sh:ValidationResult in `origin`, copied by the Turtle output
    origin: Graph | None = None  # pySHACL's results graph (None for a recorded report)

    def key(self) -> tuple[object, ...]:
        return (self.severity, self.focus, self.path, self.value, self.shape, self.component)

    def message(self, lang: str = "fr") -> str:
        """The message in `lang`, else untagged, else English, else any, else the component."""
        for wanted in (lang, "", "en"):
            if wanted in self.messages:
                return self.messages[wanted]
        if self.messages:
            return next(iter(self.messages.values()))
        return str(self.component or "").rsplit("#", 1)[-1]

    @property
    def link(self) -> str | None:
        """Where to read about the focus node: its IRI (w3id redirects to the service's page)."""
        return str(self.focus) if isinstance(self.focus, URIRef) else None

    @property
    def page(self) -> str | None:
        """The service's own path for the focus node (`/id/...`), when it is an Alliance IRI."""
        link = self.link
        return "/id/" + link[len(ID) :] if link and link.startswith(ID) else None


@dataclass
class Run:
    """One validation whose results join the report.

    Either pySHACL's `results` graph or a recorded `report`; `data` is the data graph (for
    labels); `keep`, when given, are the focus nodes whose results count (blank nodes always do:
    their identity does not survive the conversions); `locate` says where a focus node comes from.
    """

    results: Graph | None = None
    report: Report | None = None
    data: Graph | None = None
    keep: set[Node] | None = None
    locate: Callable[[Node], Location | None] = lambda node: None


@dataclass
class ShapeGroup:
    """The results of one shape, by message: the unit a curator fixes at once."""

    shape: Node | None
    name: str
    severity: str  # the most severe of its results
    by_message: list[tuple[str, list[Finding]]]

    @property
    def count(self) -> int:
        return sum(len(findings) for _, findings in self.by_message)


@dataclass
class CuratorReport:
    """Every result and input problem of one `alliance validate`, for one language."""

    findings: list[Finding]
    shapes: Graph
    lang: str = "fr"
    problems: list[Problem] = field(default_factory=list)
    validated: list[str] = field(default_factory=list)  # what was validated, for the heading

    @property
    def conforms(self) -> bool:
        """SHACL's sh:conforms: no result of any severity (and no problem in the input)."""
        return not self.findings and not self.problems

    def counts_by_severity(self) -> dict[str, int]:
        counts = Counter(f.severity for f in self.findings)
        return {severity: counts.get(severity, 0) for severity in SEVERITIES}

    def counts_by_shape(self) -> Counter[Node | None]:
        return Counter(f.shape for f in self.findings)

    def counts_by_component(self) -> Counter[Node | None]:
        return Counter(f.component for f in self.findings)

    def shape_name(self, shape: Node | None) -> str:
        """The shape's sh:name (or rdfs:label) in the report's language, else its IRI."""
        if shape is None:
            return "?"
        name = best_literal(self.shapes, shape, (SH.name, RDFS.label), self.lang)
        if name:
            return name
        return str(shape) if isinstance(shape, URIRef) else "[]"

    def groups(self) -> list[ShapeGroup]:
        """Results grouped by shape, then message; most severe and most frequent first."""
        by_shape: dict[Node | None, dict[str, list[Finding]]] = {}
        for finding in sorted(self.findings, key=_order):
            messages = by_shape.setdefault(finding.shape, {})
            messages.setdefault(finding.message(self.lang), []).append(finding)
        groups = []
        for shape, messages in by_shape.items():
            worst = min(
                (f.severity for fs in messages.values() for f in fs), key=SEVERITY_ORDER.get
            )
            by_message = sorted(messages.items(), key=lambda item: (-len(item[1]), item[0]))
            groups.append(ShapeGroup(shape, self.shape_name(shape), worst, by_message))
        groups.sort(key=lambda g: (SEVERITY_ORDER[g.severity], -g.count, g.name))
        return groups


def _order(finding: Finding) -> tuple[object, ...]:
    return (SEVERITY_ORDER.get(finding.severity, 9), finding.label or "", str(finding.focus))


# --- reading results ------------------------------------------------------------------------------


def message_languages(shapes: Graph) -> dict[str, str]:
    """Each tagged sh:message text of the shapes → its language tag.

    pySHACL drops the tags of SHACL-SPARQL constraints' messages; their text finds them back.
    """
    return {
        str(o): o.language
        for o in shapes.objects(None, SH.message)
        if isinstance(o, Literal) and o.language
    }


def _messages(literals: Iterable[tuple[str, str]], languages: dict[str, str]) -> dict[str, str]:
    messages: dict[str, str] = {}
    for lang, text in sorted(literals):
        lang = lang or languages.get(text, "")
        messages.setdefault(lang, text)
    return messages


def _severity(node: Node | None) -> str:
    return str(node).rsplit("#", 1)[-1] if node is not None else "Violation"


def findings_from_graph(
    results: Graph, languages: dict[str, str], keep: set[Node] | None = None
) -> list[Finding]:
    """The top-level results of a `sh:ValidationReport` graph (not the nested sh:detail ones)."""
    findings = []
    for report in results.subjects(RDF.type, SH.ValidationReport):
        for node in results.objects(report, SH.result):
            focus = results.value(node, SH.focusNode)
            if focus is None:
                continue
            if keep is not None and not isinstance(focus, BNode) and focus not in keep:
                continue
            literals = [
                (m.language or "", str(m))
                for m in results.objects(node, SH.resultMessage)
                if isinstance(m, Literal)
            ]
            findings.append(
                Finding(
                    severity=_severity(results.value(node, SH.resultSeverity)),
                    focus=focus,
                    path=results.value(node, SH.resultPath),
                    value=results.value(node, SH.value),
                    shape=results.value(node, SH.sourceShape),
                    component=results.value(node, SH.sourceConstraintComponent),
                    messages=_messages(literals, languages),
                    node=node,
                    origin=results,
                )
            )
    return findings


def _from_n3(text: str | None) -> Node | None:
    if text is None:
        return None
    if text.startswith("_:"):
        return BNode()
    return from_n3(text)


def findings_from_report(
    report: Report, languages: dict[str, str], keep: set[Node] | None = None
) -> list[Finding]:
    """Findings from a recorded Report (terms written in N3, as `read_report` keeps them)."""
    findings = []
    for result in report.results:
        focus = _from_n3(result.focus)
        if focus is None or (keep is not None and focus not in keep):
            continue
        findings.append(
            Finding(
                severity=result.severity,
                focus=focus,
                path=_from_n3(result.path),
                value=_from_n3(result.value),
                shape=_from_n3(result.source_shape),
                component=URIRef(result.component) if result.component else None,
                messages=_messages(result.messages, languages),
            )
        )
    return findings


# --- labels ---------------------------------------------------------------------------------------


def language_preference(lang: str) -> tuple[str, ...]:
    return (lang, "", "en", "fr")


def pick(literals: Iterable[tuple[str, str]], lang: str) -> str | None:
    """The text of the best (language, text) pair for `lang`, in the order given otherwise."""
    found = list(literals)
    for wanted in language_preference(lang):
        for language, text in found:
            if language == wanted:
                return text
    return found[0][1] if found else None


def best_literal(graph: Graph, node: Node, predicates: Iterable[Node], lang: str) -> str | None:
    """The best literal of `node` for `lang` over `predicates`, earlier predicates first."""
    pairs = [
        (o.language or "", str(o))
        for p in predicates
        for o in graph.objects(node, p)
        if isinstance(o, Literal)
    ]
    return pick(pairs, lang)


# --- assembling -----------------------------------------------------------------------------------


def build_report(
    runs: Iterable[Run],
    shapes: Graph,
    *,
    lang: str = "fr",
    problems: Iterable[Problem] = (),
    validated: Iterable[str] = (),
    labels: Callable[[list[URIRef]], dict[URIRef, list[tuple[str, str]]]] | None = None,
    locations: Callable[[list[URIRef]], dict[URIRef, Location]] | None = None,
) -> CuratorReport:
    """Merge the runs into one report (a result found by several runs counts once).

    `labels` and `locations` look up, in the store, what the runs' data graphs did not say.
    """
    languages = message_languages(shapes)
    problems = list(problems)
    findings: list[Finding] = []
    seen: set[tuple[object, ...]] = set()
    for run in runs:
        if run.results is not None:
            found = findings_from_graph(run.results, languages, run.keep)
        else:
            found = findings_from_report(run.report or Report(), languages, run.keep)
        new = [f for f in found if f.key() not in seen]
        seen.update(f.key() for f in new)
        for finding in new:
            if run.data is not None:
                finding.label = best_literal(run.data, finding.focus, LABEL_PREDICATES, lang)
                if isinstance(finding.value, URIRef):
                    finding.value_label = best_literal(
                        run.data, finding.value, LABEL_PREDICATES, lang
                    )
            finding.location = run.locate(finding.focus)
        findings += new
    if labels is not None:
        _store_labels(findings, labels, lang)
    unlocated = sorted(
        {f.focus for f in findings if f.location is None and isinstance(f.focus, URIRef)}
    )
    if locations is not None and unlocated:
        found_locations = locations(unlocated)
        for finding in findings:
            if finding.location is None:
                finding.location = found_locations.get(finding.focus)
    findings.sort(key=_order)
    log.info("report: %d result(s), %d problem(s)", len(findings), len(problems))
    return CuratorReport(findings, shapes, lang, problems, list(validated))


def _store_labels(
    findings: list[Finding],
    labels: Callable[[list[URIRef]], dict[URIRef, list[tuple[str, str]]]],
    lang: str,
) -> None:
    """Labels the runs' data graphs lacked, looked up (in the store) in one go."""
    missing = {f.focus for f in findings if f.label is None and isinstance(f.focus, URIRef)}
    missing |= {f.value for f in findings if f.value_label is None and isinstance(f.value, URIRef)}
    if not missing:
        return
    found = labels(sorted(missing))
    for finding in findings:
        if finding.label is None and finding.focus in found:
            finding.label = pick(found[finding.focus], lang)
        if finding.value_label is None and finding.value in found:
            finding.value_label = pick(found[finding.value], lang)

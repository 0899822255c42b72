"""The formats of `alliance validate`: text, html, csv, turtle and json, from one CuratorReport.

* text (default): for a curator at a terminal, in French or English;
* html: the same as a standalone page (`templates/report.html`, autoescaped);
* csv: one row per result, then one per problem of the curated tables (empty shape);
* turtle: a standard `sh:ValidationReport` (SHACL §3.6), results copied from pySHACL's
  graphs (nested sh:detail and complex paths included) with their messages' language
  tags restored; problems of the curated tables become results focused on the table file;
* json: one object, documented in `JSON_FORMAT` below.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, XSD
from rdflib.term import Node

from alliance.namespaces import PREFIXES, SHAPES_NS
from alliance.problems import Problem
from alliance.shapes import SHAPES_DIR
from alliance.shapes.curator_report import SEVERITIES, CuratorReport, Finding, Location

if TYPE_CHECKING:
    from jinja2 import Environment

FORMATS = ("text", "html", "csv", "turtle", "json")

JSON_FORMAT = """\
{
  "conforms": bool,            # sh:conforms: no result of any severity, no problem
  "language": "fr" | "en",     # of messages, labels and shape names
  "validated": [str],          # the FILEs, or the store folder
  "counts": {"total": int, "severity": {"Violation": n, "Warning": n, "Info": n},
             "shape": {shape IRI: n}, "component": {component IRI: n}},
  "problems": [{"file", "row", "line", "column", "field", "message"}],  # curated tables
  "results": [{
    "focus": IRI or "_:…", "focus_label": str|null, "link": IRI|null, "page": "/id/…"|null,
    "path": IRI or SPARQL path|null, "value": N3 term|null, "value_label": str|null,
    "severity": "Violation"|"Warning"|"Info", "shape": IRI|null, "shape_name": str,
    "component": IRI|null, "message": str,
    "location": {"file", "row", "line", "graph", "sources": [IRI]}|null }]
}"""

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "title": "Validation SHACL",
        "conforms": "Conforme",
        "not_conforms": "Non conforme",
        "Violation": "violation(s)",
        "Warning": "avertissement(s)",
        "Info": "information(s)",
        "gate": "(ingest refuse les violations ; avertissements et informations sont publiés)",
        "by_severity": "Par gravité",
        "by_shape": "Par forme",
        "by_component": "Par contrainte",
        "problems": "Problèmes dans les tables curées (à corriger avant toute validation SHACL)",
        "focus": "nœud focal",
        "path": "chemin",
        "value": "valeur",
        "origin": "origine",
        "row": "ligne",
        "line": "ligne",
        "column": "colonne",
        "field": "colonne",
        "graph": "graphe",
        "sources": "sources",
        "results": "Résultats par forme et par message",
        "none": "Aucun résultat.",
        "and_more": "et {n} autre(s)",
        "problem": "problème(s) dans les tables",
    },
    "en": {
        "title": "SHACL validation",
        "conforms": "Conforms",
        "not_conforms": "Does not conform",
        "Violation": "violation(s)",
        "Warning": "warning(s)",
        "Info": "info(s)",
        "gate": "(ingest refuses violations; warnings and infos are published)",
        "by_severity": "By severity",
        "by_shape": "By shape",
        "by_component": "By constraint",
        "problems": "Problems in the curated tables (to fix before any SHACL validation)",
        "focus": "focus node",
        "path": "path",
        "value": "value",
        "origin": "origin",
        "row": "row",
        "line": "line",
        "column": "column",
        "field": "field",
        "graph": "graph",
        "sources": "sources",
        "results": "Results by shape and message",
        "none": "No result.",
        "and_more": "and {n} more",
        "problem": "problem(s) in the tables",
    },
}


class Namer:
    """Compact, readable names of RDF terms (project prefixes, then the shapes graph's)."""

    def __init__(self, shapes: Graph):
        self.prefixes = dict(PREFIXES) | {"alsh": SHAPES_NS}
        for prefix, namespace in shapes.namespaces():
            if prefix and str(namespace) not in self.prefixes.values():
                self.prefixes.setdefault(prefix, str(namespace))
        self.ordered = sorted(self.prefixes.items(), key=lambda item: -len(item[1]))

    def iri(self, iri: str) -> str:
        for prefix, namespace in self.ordered:
            local = iri[len(namespace) :]
            if iri.startswith(namespace) and local and "/" not in local and "#" not in local:
                return f"{prefix}:{local}"
        return f"<{iri}>"

    def term(self, node: Node | None) -> str:
        if node is None:
            return ""
        if isinstance(node, URIRef):
            return self.iri(str(node))
        if isinstance(node, Literal):
            text = json.dumps(str(node), ensure_ascii=False)
            if node.language:
                return f"{text}@{node.language}"
            if node.datatype and node.datatype != XSD.string:
                return f"{text}^^{self.iri(str(node.datatype))}"
            return text
        return "[]"


def path_text(
    graph: Graph | None, node: Node | None, name: Callable[[str], str] = lambda i: f"<{i}>"
) -> str | None:
    """A SHACL property path in SPARQL syntax (`^p`, `p/q`, `p|q`, `p*`, `p+`, `p?`)."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return name(str(node))
    if graph is None or not isinstance(node, BNode):
        return "[]"
    for predicate, template in (
        (SH.inversePath, "^{}"),
        (SH.zeroOrMorePath, "{}*"),
        (SH.oneOrMorePath, "{}+"),
        (SH.zeroOrOnePath, "{}?"),
    ):
        inner = graph.value(node, predicate)
        if inner is not None:
            text = path_text(graph, inner, name) or ""
            if isinstance(inner, BNode) and graph.value(inner, RDF.first) is not None:
                text = f"({text})"  # a sequence under a unary operator
            return template.format(text)
    alternatives = graph.value(node, SH.alternativePath)
    if alternatives is not None:
        items = [path_text(graph, i, name) or "" for i in Collection(graph, alternatives)]
        return "(" + "|".join(items) + ")"
    if graph.value(node, RDF.first) is not None:
        return "/".join(path_text(graph, i, name) or "" for i in Collection(graph, node))
    return "[]"


def location_text(location: Location | None, lang: str) -> str:
    if location is None:
        return ""
    words = TEXTS[lang]
    parts = []
    if location.file:
        parts.append(location.file)
    if location.row is not None:
        parts.append(f"{words['row']} {location.row}")
    if location.line is not None:
        parts.append(f"{words['line']} {location.line}")
    if location.graph:
        parts.append(f"{words['graph']} <{location.graph}>")
    return ", ".join(parts)


def problem_text(problem: Problem, lang: str) -> str:
    words = TEXTS[lang]
    parts = [problem.file]
    for key in ("row", "line", "column"):
        if getattr(problem, key) is not None:
            parts.append(f"{words[key]} {getattr(problem, key)}")
    if problem.field:
        parts.append(f"{words['field']} '{problem.field}'")
    return f"{', '.join(parts)}: {problem.message}"


def summary_line(report: CuratorReport) -> str:
    words = TEXTS[report.lang]
    counts = report.counts_by_severity()
    status = words["conforms"] if report.conforms else words["not_conforms"]
    detail = ", ".join(f"{counts[s]} {words[s]}" for s in SEVERITIES)
    if report.problems:
        detail += f", {len(report.problems)} {words['problem']}"
    return f"{status} — {detail}"


# --- text ---------------------------------------------------------------------------------------


def render_text(report: CuratorReport, limit: int = 20) -> str:
    """Readable by a curator: summary, counts, then results by shape and message."""
    lang, words, namer = report.lang, TEXTS[report.lang], Namer(report.shapes)
    counts = report.counts_by_severity()
    lines = [f"{words['title']} — {', '.join(report.validated)}", summary_line(report)]
    if any(counts.values()):
        lines.append(words["gate"])
    colon = " :" if lang == "fr" else ":"
    if report.problems:
        lines += ["", words["problems"] + colon]
        lines += [f"  {problem_text(p, lang)}" for p in report.problems]
    if report.findings:
        lines += ["", words["by_severity"] + colon]
        lines.append("  " + " · ".join(f"{s} {counts[s]}" for s in SEVERITIES))
        lines.append(words["by_shape"] + colon)
        for shape, n in report.counts_by_shape().most_common():
            lines.append(f"  {n:>5}  {report.shape_name(shape)} ({namer.term(shape)})")
        lines.append(words["by_component"] + colon)
        for component, n in report.counts_by_component().most_common():
            lines.append(f"  {n:>5}  {namer.term(component)}")
        lines += ["", words["results"] + colon]
    for group in report.groups():
        lines.append("")
        lines.append(
            f"── [{group.severity}] {group.name} ({namer.term(group.shape)}) — {group.count}"
        )
        for message, findings in group.by_message:
            quoted = f"« {message} »" if lang == "fr" else f"“{message}”"
            lines.append(f"   {quoted} ({len(findings)})")
            for finding in findings[:limit]:
                lines += _text_finding(finding, report, namer)
            if len(findings) > limit:
                lines.append("     … " + words["and_more"].format(n=len(findings) - limit))
    if not report.findings and not report.problems:
        lines += ["", words["none"]]
    return "\n".join(lines) + "\n"


def _text_finding(finding: Finding, report: CuratorReport, namer: Namer) -> list[str]:
    words = TEXTS[report.lang]
    colon = " :" if report.lang == "fr" else ":"
    focus = f"<{finding.focus}>" if isinstance(finding.focus, URIRef) else namer.term(finding.focus)
    head = f"{finding.label} {focus}" if finding.label else focus
    lines = [f"     • [{finding.severity}] {head}"]
    detail = []
    path = path_text(finding.origin, finding.path, namer.iri)
    if path:
        detail.append(f"{words['path']}{colon} {path}")
    if finding.value is not None:
        value = namer.term(finding.value)
        if finding.value_label:
            value = f"{finding.value_label} {value}"
        detail.append(f"{words['value']}{colon} {value}")
    if detail:
        lines.append("       " + " ; ".join(detail))
    where = location_text(finding.location, report.lang)
    if where:
        lines.append(f"       {words['origin']}{colon} {where}")
    if finding.location and finding.location.sources:
        sources = [namer.iri(s) for s in finding.location.sources[:3]]
        more = len(finding.location.sources) - 3
        if more > 0:
            sources.append(words["and_more"].format(n=more))
        lines.append(f"       {words['sources']}{colon} {', '.join(sources)}")
    return lines


# --- json and csv -------------------------------------------------------------------------------


def _iri_or_n3(node: Node | None) -> str | None:
    if node is None:
        return None
    return str(node) if isinstance(node, URIRef) else node.n3()


def finding_record(finding: Finding, report: CuratorReport) -> dict[str, object]:
    """One result as plain values (the `results` items of the JSON output)."""
    return {
        "focus": _iri_or_n3(finding.focus),
        "focus_label": finding.label,
        "link": finding.link,
        "page": finding.page,
        "path": path_text(finding.origin, finding.path, str),
        "value": finding.value.n3() if finding.value is not None else None,
        "value_label": finding.value_label,
        "severity": finding.severity,
        "shape": _iri_or_n3(finding.shape),
        "shape_name": report.shape_name(finding.shape),
        "component": _iri_or_n3(finding.component),
        "message": finding.message(report.lang),
        "location": finding.location.as_dict() if finding.location else None,
    }


def render_json(report: CuratorReport) -> str:
    """The report as one JSON object; see JSON_FORMAT."""
    return json.dumps(json_document(report), ensure_ascii=False, indent=2) + "\n"


def json_document(report: CuratorReport) -> dict[str, object]:
    """The report as plain values; see JSON_FORMAT."""
    return {
        "conforms": report.conforms,
        "language": report.lang,
        "validated": report.validated,
        "counts": {
            "total": len(report.findings),
            "severity": report.counts_by_severity(),
            "shape": {_iri_or_n3(s) or "": n for s, n in report.counts_by_shape().most_common()},
            "component": {
                _iri_or_n3(c) or "": n for c, n in report.counts_by_component().most_common()
            },
        },
        "problems": [
            {
                "file": p.file,
                "row": p.row,
                "line": p.line,
                "column": p.column,
                "field": p.field,
                "message": p.message,
            }
            for p in report.problems
        ],
        "results": [finding_record(f, report) for f in report.findings],
    }


CSV_COLUMNS = (
    "severity",
    "focus",
    "focus_label",
    "path",
    "value",
    "value_label",
    "message",
    "shape",
    "shape_name",
    "component",
    "file",
    "row",
    "line",
    "column",
    "field",
    "graph",
    "sources",
)


def render_csv(report: CuratorReport) -> str:
    """One row per result, then one per problem of the curated tables (no shape)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for finding in report.findings:
        record = finding_record(finding, report)
        location = finding.location or Location()
        writer.writerow(
            {
                **{k: record[k] for k in CSV_COLUMNS if k in record},
                "file": location.file,
                "row": location.row,
                "line": location.line,
                "graph": location.graph,
                "sources": " ".join(location.sources),
            }
        )
    for problem in report.problems:
        writer.writerow(
            {
                "severity": "Violation",
                "message": problem.message,
                "file": problem.file,
                "row": problem.row,
                "line": problem.line,
                "column": problem.column,
                "field": problem.field,
            }
        )
    return out.getvalue()


# --- turtle -------------------------------------------------------------------------------------


def _copy(source: Graph, node: Node, target: Graph, skip: set[Node]) -> None:
    """Copy `node`'s triples, following blank nodes (paths, sh:detail), except `skip` ones."""
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for predicate, obj in source.predicate_objects(current):
            if current == node and predicate in skip:
                continue
            target.add((current, predicate, obj))
            if isinstance(obj, BNode):
                stack.append(obj)


def _file_iri(problem: Problem) -> URIRef:
    return URIRef(Path(problem.file).resolve().as_uri())


def report_graph(
    report: CuratorReport, problem_focus: Callable[[Problem], URIRef] = _file_iri
) -> Graph:
    """The report as a standard sh:ValidationReport graph.

    A curated table's problem is a result focused on `problem_focus(problem)`: the table
    file's IRI by default.
    """
    graph = Graph()
    for prefix, namespace in Namer(report.shapes).prefixes.items():
        graph.bind(prefix, namespace)
    root = BNode()
    graph.add((root, RDF.type, SH.ValidationReport))
    graph.add((root, SH.conforms, Literal(report.conforms)))
    for finding in report.findings:
        node = finding.node if finding.node is not None else BNode()
        graph.add((root, SH.result, node))
        if finding.origin is not None and finding.node is not None:
            _copy(finding.origin, finding.node, graph, {SH.resultMessage})
        else:
            graph.add((node, RDF.type, SH.ValidationResult))
            graph.add((node, SH.focusNode, finding.focus))
            graph.add((node, SH.resultSeverity, SH[finding.severity]))
            for predicate, term in (
                (SH.resultPath, finding.path),
                (SH.value, finding.value),
                (SH.sourceShape, finding.shape),
                (SH.sourceConstraintComponent, finding.component),
            ):
                if term is not None:
                    graph.add((node, predicate, term))
        for lang, text in finding.messages.items():
            graph.add((node, SH.resultMessage, Literal(text, lang=lang or None)))
    for problem in report.problems:
        node = BNode()
        graph.add((root, SH.result, node))
        graph.add((node, RDF.type, SH.ValidationResult))
        graph.add((node, SH.focusNode, problem_focus(problem)))
        graph.add((node, SH.resultSeverity, SH.Violation))
        graph.add((node, SH.resultMessage, Literal(problem_text(problem, "en"), lang="en")))
    return graph


def render_turtle(report: CuratorReport) -> str:
    return report_graph(report).serialize(format="turtle")


# --- html ---------------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader  # only paid when HTML is asked for

    return Environment(
        loader=FileSystemLoader(SHAPES_DIR / "templates"), autoescape=True, trim_blocks=True
    )


def html_context(
    report: CuratorReport,
    *,
    link: Callable[[Finding], str | None] | None = None,
    value_link: Callable[[Finding], str | None] | None = None,
    shape_link: Callable[[Node | None], str | None] | None = None,
) -> dict[str, object]:
    """What the report templates need; the `*link` functions say where names point to.

    By default a focus node and a shape link to their IRIs (web addresses only), a value to
    nothing; the service passes its own pages instead (`/id/…`, `/shapes#…`).
    """
    namer = Namer(report.shapes)
    return {
        "report": report,
        "words": TEXTS[report.lang],
        "summary": summary_line(report),
        "counts": report.counts_by_severity(),
        "severities": SEVERITIES,
        "groups": report.groups(),
        "term": namer.term,
        "path": lambda f: path_text(f.origin, f.path, namer.iri),
        "where": lambda f: location_text(f.location, report.lang),
        "problem": lambda p: problem_text(p, report.lang),
        "source": namer.iri,
        "href": _href,
        "link": link or (lambda f: _href(f.link)),
        "value_link": value_link or (lambda f: None),
        "shape_link": shape_link or (lambda shape: _href(str(shape)) if shape else None),
    }


def render_html(report: CuratorReport) -> str:
    """A standalone page (inline style, no script), built from templates/report.html."""
    return _environment().get_template("report.html").render(html_context(report))


def render_html_body(report: CuratorReport, **links: Callable[..., str | None]) -> Markup:
    """The report without its page (templates/_report_body.html), for the service's pages.

    Its style is templates/_report_style.html (rules scoped to `.shacl-report`).
    """
    body = _environment().get_template("_report_body.html").render(html_context(report, **links))
    return Markup(body)  # noqa: S704 - rendered by an autoescaping environment


def report_style() -> Markup:
    """The CSS rules of the report body, for a `<style>` element."""
    return Markup(_environment().get_template("_report_style.html").render())  # noqa: S704


def _href(iri: str | None) -> str | None:
    """Only web addresses become links (an IRI may well be `javascript:…`)."""
    return iri if iri and iri.startswith(("http://", "https://")) else None


RENDERERS: dict[str, Callable[[CuratorReport], str]] = {
    "text": render_text,
    "html": render_html,
    "csv": render_csv,
    "turtle": render_turtle,
    "json": render_json,
}


def render(report: CuratorReport, fmt: str) -> str:
    return RENDERERS[fmt](report)

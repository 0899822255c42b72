"""The pages beside the form: the last ingest's validation, and the shapes themselves.

`register` adds their routes to the validation blueprint.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SH, XSD

from alliance.formats import content_type
from alliance.ingest.validate_inputs import (
    primary_sources,
    store_labels,
)
from alliance.namespaces import ALLI
from alliance.server.context import current_store
from alliance.server.linked_data import ontology_doc
from alliance.server.linked_data.shapes_doc import project_shapes
from alliance.server.validation.reporting import (
    html_page,
    page_language,
    page_of,
    problem_focus,
    report_links,
    report_type,
)
from alliance.server.web.cache import memoised
from alliance.server.web.negotiation import GRAPHS, HTML, SUFFIXES, NotAcceptable, negotiate
from alliance.server.web.responses import (
    DATASET_TYPES,
    RDF_PREFIXES,
    link_header,
    not_acceptable,
    not_found,
    serialise,
)
from alliance.shapes import SHAPES_FILE
from alliance.shapes.curator_report import CuratorReport, Location, Run, build_report
from alliance.shapes.gate import shapes_graph
from alliance.shapes.render import json_document, render_html_body, report_graph, report_style
from alliance.shapes.report import report_from_record
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

RDF_CHOICES = [c for c in GRAPHS if c.media_type not in DATASET_TYPES]


# -- the last ingest ---------------------------------------------------------------------------


@dataclass
class GraphValidation:
    """One published graph and the validation ingest recorded when it published it."""

    graph: str
    title: str
    validated_at: str | None  # the graph's prov:generatedAtTime
    report: CuratorReport | None  # None: no record (published before records were kept)


def latest_validations(store: GraphStore, lang: str) -> list[GraphValidation]:
    """Each graph's `alli:lastValidation`, as a curator report (labels from the store)."""
    rows = store.query(
        f"""SELECT ?g ?record ?when ?title WHERE {{ GRAPH ?g {{
            OPTIONAL {{ ?g <{ALLI}lastValidation> ?record }}
            OPTIONAL {{ ?g <{PROV}generatedAtTime> ?when }}
            OPTIONAL {{ ?g <{DCTERMS}title> ?title }}
            FILTER(BOUND(?record) || BOUND(?when))
        }} }} ORDER BY ?g""",
        union_default_graph=False,
    )
    found: dict[str, GraphValidation] = {}
    sources = primary_sources(store)
    for row in rows:
        graph = row["g"].value
        if graph in found:
            continue
        when, title, record = row["when"], row["title"], row["record"]
        report = None
        if record is not None:
            where = Location(graph=graph, sources=sources.get(graph, ()))
            recorded = report_from_record(json.loads(record.value))
            report = build_report(
                [Run(report=recorded, locate=lambda node, where=where: where)],
                shapes_graph(),
                lang=lang,
                validated=[graph],
                labels=lambda iris: store_labels(store, iris),
            )
        found[graph] = GraphValidation(
            graph,
            title.value if title is not None else graph,
            when.value if when is not None else None,
            report,
        )
    for graph in store.graphs():  # graphs published without any description
        found.setdefault(graph.value, GraphValidation(graph.value, graph.value, None, None))
    return [found[g] for g in sorted(found)]


def _latest_turtle(validations: list[GraphValidation]) -> str:
    """One sh:ValidationReport per graph, saying which graph (dcterms:subject) and when."""
    from rdflib import Graph

    merged = Graph()
    for item in validations:
        if item.report is None:
            continue
        graph = report_graph(item.report, problem_focus)
        for prefix, namespace in graph.namespaces():
            merged.bind(prefix, namespace, replace=True)
        for root in graph.subjects(RDF.type, SH.ValidationReport):
            graph.add((root, DCTERMS.subject, URIRef(item.graph)))
            if item.validated_at:
                when = Literal(item.validated_at, datatype=XSD.dateTime)
                graph.add((root, PROV.generatedAtTime, when))
        merged += graph
    merged.bind("dcterms", str(DCTERMS))
    merged.bind("prov", str(PROV))
    return merged.serialize(format="turtle")


def latest() -> Response:
    try:
        media_type = report_type()
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    lang = page_language()
    store = current_store()
    validations = memoised(
        store, "validate-latest", lambda: latest_validations(store, lang), extra=lang
    )
    if media_type == "application/json":
        document = {
            "graphs": [
                {
                    "graph": v.graph,
                    "title": v.title,
                    "validated_at": v.validated_at,
                    "recorded": v.report is not None,
                    "report": json_document(v.report) if v.report else None,
                }
                for v in validations
            ]
        }
        body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        response = Response(body, content_type="application/json")
    elif media_type == "text/turtle":
        response = Response(_latest_turtle(validations), content_type=content_type("text/turtle"))
    else:
        sections = [
            (
                v,
                render_html_body(v.report, **report_links(v.report, store)) if v.report else None,
                page_of(URIRef(v.graph)),
            )
            for v in validations
        ]
        page = render_template(
            "validate_latest.html", sections=sections, lang=lang, report_style=report_style()
        )
        return html_page(page)
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


# -- shapes ------------------------------------------------------------------------------------


def shapes(suffix: str | None = None) -> Response:
    if suffix is not None and f".{suffix}" not in SUFFIXES:
        return not_found(f"No /shapes.{suffix} here; try /shapes.ttl.")
    override = SUFFIXES.get(f".{suffix}", suffix) if suffix else request.args.get("format")
    try:
        choice = negotiate(request, [HTML, *RDF_CHOICES], override=override)
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    path = f"{request.script_root}/shapes"
    if choice is HTML:
        response = Response(
            render_template("shapes.html", shapes=project_shapes(), lang=page_language()),
            content_type="text/html; charset=utf-8",
        )
    elif choice.media_type == "text/turtle":
        response = Response(SHAPES_FILE.read_bytes(), content_type=content_type("text/turtle"))
    else:
        quads = ontology_doc.shapes_store().quads_for_pattern(None, None, None, None)
        assert choice.format is not None
        response = Response(
            serialise(quads, choice.format, RDF_PREFIXES),  # type: ignore[arg-type]
            content_type=content_type(choice.media_type),
        )
    response.headers["Vary"] = "Accept"
    response.headers["Link"] = link_header(path)
    return response


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/validate/latest", "latest", latest, methods=["GET"])
    blueprint.add_url_rule("/shapes", "shapes", shapes, methods=["GET"])
    blueprint.add_url_rule("/shapes.<suffix>", "shapes", shapes, methods=["GET"])

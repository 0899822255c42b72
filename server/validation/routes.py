"""SHACL validation on the web: curators check data before ingest, and read how ingest fared.

Routes:

* `GET /validate`: a form to paste or upload RDF (Turtle, JSON-LD, N-Triples, RDF/XML) or one
  curated CSV table; `POST /validate` (the form, or the data itself as the request body with
  its Content-Type, `text/csv` with `?table=NAME`) validates it in the context of the
  server's store, as `alliance validate --store` would, and never writes to the store. The
  report is Turtle (a standard `sh:ValidationReport`), JSON (as `alliance validate --format
  json`) or HTML, by negotiation or `format=`; `lang=fr|en` chooses messages and labels.
* `GET /validate/latest`: each graph's validation when ingest last published it (the
  `alli:lastValidation` record stored inside the graph, so it always matches the data).
* `GET /shapes`: the shapes documented (HTML), or the shapes file (Turtle and other RDF).

Malformed data answers 400 (with file, line and column), an unsupported Content-Type 415, a
body over the app's MAX_CONTENT_LENGTH 413.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request
from rdflib import Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, SH, XSD
from werkzeug.exceptions import RequestEntityTooLarge

from alliance.ingest.curated import TABLES
from alliance.ingest.validate_inputs import (
    Loaded,
    primary_sources,
    store_labels,
    store_locations,
    validate_files,
)
from alliance.namespaces import ALLI, ID
from alliance.problems import Problem
from alliance.server.context import current_store
from alliance.server.linked_data import ontology_doc
from alliance.server.linked_data.shapes_doc import project_shapes
from alliance.server.validation.inputs import (
    BY_MEDIA_TYPE,
    SYNTAXES,
    InputError,
    Posted,
    load_posted,
    syntax_for,
    table_name,
)
from alliance.server.web.cache import memoised
from alliance.server.web.negotiation import GRAPHS, HTML, SUFFIXES, NotAcceptable, negotiate
from alliance.server.web.responses import (
    DATASET_TYPES,
    RDF_PREFIXES,
    content_type,
    link_header,
    not_acceptable,
    not_found,
    serialise,
)
from alliance.shapes import SHAPES_FILE
from alliance.shapes.curator_report import CuratorReport, Finding, Location, Run, build_report
from alliance.shapes.gate import shapes_graph
from alliance.shapes.render import json_document, render_html_body, report_graph, report_style
from alliance.shapes.report import report_from_record
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

#: A posted document, built: its items (none for a table with problems) and the table problems.
Built = tuple[list[Loaded], list[Problem]]

blueprint = Blueprint("validation", __name__)

#: Media types of a report, in the order `*/*` prefers them, and their `format=` names.
REPORT_TYPES = {"text/turtle": "turtle", "application/json": "json", "text/html": "html"}
REPORT_NAMES = {"turtle": "text/turtle", "ttl": "text/turtle", "json": "application/json"}
REPORT_NAMES |= {"html": "text/html"}
LANGUAGES = ("fr", "en")
FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}
SHAPES_NS = "https://w3id.org/alliance/shapes#"
UNSAFE_IRI = re.compile(r'[\s<>"{}|^`\\]')
#: RDF answers of /shapes (a single graph: no N-Quads or TriG).
RDF_CHOICES = [c for c in GRAPHS if c.media_type not in DATASET_TYPES]


# -- negotiation -------------------------------------------------------------------------------


def _report_type() -> str:
    """The report's media type: `format=` (query or form), else Accept (`*/*`: Turtle)."""
    override = request.args.get("format") or (
        request.form.get("format") if request.mimetype in FORM_TYPES else None
    )
    if override:
        wanted = REPORT_NAMES.get(override.lower(), override.lower())
        if wanted not in REPORT_TYPES:
            raise NotAcceptable(f"format {override!r}: use turtle, json or html")
        return wanted
    accept = request.accept_mimetypes
    if not accept or not accept.values():
        return "text/turtle"
    best = accept.best_match(list(REPORT_TYPES))
    if best is None:
        raise NotAcceptable("a report is available as " + ", ".join(REPORT_TYPES))
    return best


def _lang() -> str:
    """`lang=` (query or form), else the browser's preference among fr and en, else fr."""
    given = request.args.get("lang") or (
        request.form.get("lang") if request.mimetype in FORM_TYPES else None
    )
    if given in LANGUAGES:
        return given
    return request.accept_languages.best_match(LANGUAGES, default="fr") or "fr"


# -- links in reports --------------------------------------------------------------------------


def known_nodes(store: GraphStore, iris: list[str]) -> set[str]:
    """The IRIs the store says something about (their /id/ pages exist)."""
    found: set[str] = set()
    iris = [iri for iri in iris if not UNSAFE_IRI.search(iri)]  # never into a query as is
    for start in range(0, len(iris), 500):
        values = " ".join(f"<{iri}>" for iri in iris[start : start + 500])
        rows = store.query(f"SELECT DISTINCT ?s WHERE {{ VALUES ?s {{ {values} }} ?s ?p ?o }}")
        found |= {row["s"].value for row in rows}
    return found


def _page(iri: object) -> str | None:
    """The service's path for an Alliance IRI (`/id/…`)."""
    text = str(iri) if isinstance(iri, URIRef) else ""
    return f"/id/{text[len(ID) :]}" if text.startswith(ID) and len(text) > len(ID) else None


def _links(report: CuratorReport, store: GraphStore) -> dict[str, Callable[..., str | None]]:
    """Nodes link to their /id/ page when the store knows them; shapes to /shapes#…."""
    root = request.script_root
    ours = {str(f.focus) for f in report.findings if _page(f.focus)}
    ours |= {str(f.value) for f in report.findings if _page(f.value)}
    known = known_nodes(store, sorted(ours)) if ours else set()

    def page(node: object) -> str | None:
        path = _page(node)
        return f"{root}{path}" if path and str(node) in known else None

    def link(finding: Finding) -> str | None:
        return page(finding.focus)

    def value_link(finding: Finding) -> str | None:
        return page(finding.value)

    def shape_link(shape: object) -> str | None:
        text = str(shape) if isinstance(shape, URIRef) else ""
        return f"{root}/shapes#{text[len(SHAPES_NS) :]}" if text.startswith(SHAPES_NS) else None

    return {"link": link, "value_link": value_link, "shape_link": shape_link}


def _problem_focus(problem: Problem) -> URIRef:
    """A curated table's problem in the Turtle report: focused on the table, by name."""
    from urllib.parse import quote

    return URIRef(f"urn:x-alliance:table:{quote(problem.file)}")


# -- the form and posted data ------------------------------------------------------------------


@dataclass
class FormState:
    """What the form shows: the curator's last choices (and pasted text) are kept."""

    data: str = ""
    syntax: str = "auto"
    table: str = ""
    lang: str = "fr"


def _tables() -> list[str]:
    return [t.name for t in TABLES]


def _is_form() -> bool:
    return request.mimetype in FORM_TYPES


def _form_state(lang: str) -> FormState:
    if not _is_form():
        return FormState(lang=lang)
    return FormState(
        data=request.form.get("data", ""),
        syntax=request.form.get("syntax", "auto"),
        table=request.form.get("table", ""),
        lang=lang,
    )


def _posted_form() -> Posted:
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data, name, shown = upload.read(), upload.filename, upload.filename
    else:
        data, name, shown = request.form.get("data", "").encode("utf-8"), None, "pasted data"
    if not data.strip():
        raise InputError(400, "nothing to validate: paste data or choose a file")
    syntax = syntax_for(name, request.form.get("syntax"))
    table = table_name(request.form.get("table"), name) if syntax.format is None else None
    return Posted(data, syntax, shown, table)


def _posted_body() -> Posted:
    media_type = request.mimetype
    if media_type not in BY_MEDIA_TYPE:
        accepted = ", ".join(BY_MEDIA_TYPE)
        raise InputError(
            415, f"cannot validate {media_type or 'a body without Content-Type'}; send {accepted}"
        )
    data = request.get_data(cache=False)
    if not data.strip():
        raise InputError(400, "the request body is empty")
    syntax = BY_MEDIA_TYPE[media_type]
    table = table_name(request.args.get("table"), None) if syntax.format is None else None
    return Posted(data, syntax, request.args.get("name") or "request body", table)


def validate_posted(
    posted: Posted, lang: str, store: GraphStore, built: Built | None = None
) -> CuratorReport:
    """The report `alliance validate --store` gives for the posted document (store unchanged).

    `built` is the document as `load_posted` built it (built here when not given).
    """
    items, problems = built if built is not None else load_posted(posted)
    runs = validate_files(items, None, store)
    return build_report(
        runs,
        shapes_graph(),
        lang=lang,
        problems=problems,
        validated=[posted.description],
        labels=lambda iris: store_labels(store, iris),
        locations=lambda iris: store_locations(store, iris),
    )


def _form_page(
    state: FormState, *, report: CuratorReport | None = None, error: InputError | None = None
) -> str:
    body = render_html_body(report, **_links(report, current_store())) if report else None
    return render_template(
        "validate.html",
        state=state,
        syntaxes=SYNTAXES,
        tables=_tables(),
        report=report,
        report_body=body,
        report_style=report_style(),
        error=error,
        max_body=current_app.config.get("MAX_CONTENT_LENGTH"),
    )


def _html(body: str, status: int = 200) -> Response:
    response = Response(body, status=status, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


def _failure(error: InputError, media_type: str, state: FormState) -> Response:
    """An input error in the asked format: the form again (HTML), JSON, or plain text."""
    if media_type == "text/html":
        return _html(_form_page(state, error=error), error.status)
    if media_type == "application/json":
        problems = [
            {"file": p.file, "line": p.line, "column": p.column, "row": p.row, "message": p.message}
            for p in error.problems
        ]
        body = json.dumps({"error": error.message, "problems": problems}, ensure_ascii=False)
        response = Response(body, status=error.status, content_type="application/json")
    else:
        response = Response(
            f"{error.status} {error.text()}\n",
            status=error.status,
            content_type="text/plain; charset=utf-8",
        )
    response.headers["Vary"] = "Accept"
    return response


def _report_answer(report: CuratorReport, media_type: str, state: FormState) -> Response:
    if media_type == "text/html":
        return _html(_form_page(state, report=report))
    if media_type == "application/json":
        body = json.dumps(json_document(report), ensure_ascii=False, indent=2) + "\n"
        response = Response(body, content_type="application/json")
    else:
        graph = report_graph(report, _problem_focus)
        response = Response(
            graph.serialize(format="turtle"), content_type=content_type("text/turtle")
        )
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


@blueprint.get("/validate")
def validate_form() -> Response:
    return _html(_form_page(FormState(lang=_lang())))


@blueprint.post("/validate")
def validate() -> Response:
    # Pasted text is a form field: let it be as large as any request body may be.
    request.max_form_memory_size = current_app.config.get("MAX_CONTENT_LENGTH")
    lang = _lang()
    try:
        posted = _posted_form() if _is_form() else _posted_body()
        built = load_posted(posted)  # malformed data is told before anything else
        media_type = _report_type()  # and a report nobody can read is not computed
        report = validate_posted(posted, lang, current_store(), built)
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    except InputError as exc:
        log.info("validation refused (%d): %s", exc.status, exc.text())
        return _failure(exc, _error_type(), _form_state(lang))
    return _report_answer(report, media_type, _form_state(lang))


def _error_type() -> str:
    """How to tell a refusal: `format=` as for a report, else Accept (`*/*`: plain text)."""
    try:
        wanted = _report_type() if request.args.get("format") else None
    except NotAcceptable:
        wanted = None
    if wanted is None or wanted == "text/turtle":
        offered = ["text/plain", "application/json", "text/html"]
        wanted = request.accept_mimetypes.best_match(offered, default="text/plain")
    return wanted or "text/plain"


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> Response:
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    error = InputError(413, f"the data is larger than this service accepts ({limit} bytes)")
    # The oversized form must not be read again: the form comes back empty.
    given = request.args.get("lang")
    state = FormState(lang=given if given in LANGUAGES else "fr")
    return _failure(error, _error_type(), state)


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
        graph = report_graph(item.report, _problem_focus)
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


@blueprint.get("/validate/latest")
def latest() -> Response:
    try:
        media_type = _report_type()
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    lang = _lang()
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
                render_html_body(v.report, **_links(v.report, store)) if v.report else None,
                _page(URIRef(v.graph)),
            )
            for v in validations
        ]
        page = render_template(
            "validate_latest.html", sections=sections, lang=lang, report_style=report_style()
        )
        return _html(page)
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


# -- shapes ------------------------------------------------------------------------------------


@blueprint.get("/shapes")
@blueprint.get("/shapes.<suffix>")
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
            render_template("shapes.html", shapes=project_shapes(), lang=_lang()),
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

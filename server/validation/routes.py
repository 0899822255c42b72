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
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.exceptions import RequestEntityTooLarge

from alliance.formats import content_type
from alliance.ingest.curated import TABLES
from alliance.ingest.validate_inputs import (
    Loaded,
    store_labels,
    store_locations,
    validate_files,
)
from alliance.problems import Problem
from alliance.server.context import current_store
from alliance.server.validation import pages
from alliance.server.validation.inputs import (
    BY_MEDIA_TYPE,
    SYNTAXES,
    InputError,
    Posted,
    load_posted,
    syntax_for,
    table_name,
)
from alliance.server.validation.reporting import (
    FORM_TYPES,
    LANGUAGES,
    html_page,
    page_language,
    problem_focus,
    report_links,
    report_type,
)
from alliance.server.web.negotiation import NotAcceptable
from alliance.server.web.responses import (
    not_acceptable,
)
from alliance.shapes.curator_report import CuratorReport, build_report
from alliance.shapes.gate import shapes_graph
from alliance.shapes.render import json_document, render_html_body, report_graph, report_style
from alliance.store.base import GraphStore

log = logging.getLogger(__name__)

#: A posted document, built: its items (none for a table with problems) and the table problems.
Built = tuple[list[Loaded], list[Problem]]

blueprint = Blueprint("validation", __name__)

#: Media types of a report, in the order `*/*` prefers them, and their `format=` names.


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
    body = render_html_body(report, **report_links(report, current_store())) if report else None
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


def _failure(error: InputError, media_type: str, state: FormState) -> Response:
    """An input error in the asked format: the form again (HTML), JSON, or plain text."""
    if media_type == "text/html":
        return html_page(_form_page(state, error=error), error.status)
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
        return html_page(_form_page(state, report=report))
    if media_type == "application/json":
        body = json.dumps(json_document(report), ensure_ascii=False, indent=2) + "\n"
        response = Response(body, content_type="application/json")
    else:
        graph = report_graph(report, problem_focus)
        response = Response(
            graph.serialize(format="turtle"), content_type=content_type("text/turtle")
        )
    response.headers["Vary"] = "Accept, Accept-Language"
    return response


@blueprint.get("/validate")
def validate_form() -> Response:
    return html_page(_form_page(FormState(lang=page_language())))


@blueprint.post("/validate")
def validate() -> Response:
    # Pasted text is a form field: let it be as large as any request body may be.
    request.max_form_memory_size = current_app.config.get("MAX_CONTENT_LENGTH")
    lang = page_language()
    try:
        posted = _posted_form() if _is_form() else _posted_body()
        built = load_posted(posted)  # malformed data is told before anything else
        media_type = report_type()  # and a report nobody can read is not computed
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
        wanted = report_type() if request.args.get("format") else None
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


pages.register(blueprint)

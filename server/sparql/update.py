"""SPARQL 1.1 Update at /sparql/update: only with a write token, atomically, LOAD only if listed.

The route exists only when the server has a write token (see write_access.py).
The protocol's using-graph-uri / using-named-graph-uri become USING clauses.
An update is checked before it touches the store: LOAD and SERVICE are refused
unless their targets are listed (they make the server fetch URLs, see web/outbound.py),
and its syntax is checked by
Oxigraph in a parsing process (web/sandbox.py), where a parser crash costs no worker,
so that a malformed update gets the parser's message. An update made only of
INSERT DATA and DELETE DATA comes back from there as quads, which the store adds
and removes as the small change it is; any other update is applied as text. Either
way it runs inside one store writer, so readers see all of it or nothing.
Relative IRIs resolve against the endpoint's URL, the "service-defined base" of the
protocol.
"""

from __future__ import annotations

from flask import Blueprint, Response, request
from pyoxigraph import NamedNode
from werkzeug.datastructures import CombinedMultiDict

from alliance.server.context import current_settings
from alliance.server.sparql.write_access import check_write_access, writing
from alliance.server.web import outbound, sandbox
from alliance.server.web.errors import ProtocolError, no_content
from alliance.server.web.input_guards import check_sparql_nesting
from alliance.sparql_text import has_word, with_using
from alliance.store import StoreError

FORM = "application/x-www-form-urlencoded"
UPDATE_BODY = "application/sparql-update"
DATASET_PARAMS = ("using-graph-uri", "using-named-graph-uri")


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule(
        "/sparql/update",
        "update",
        update,
        methods=["POST", "OPTIONS"],
        provide_automatic_options=False,
    )


def read_update() -> str:
    """The update text of the request (ProtocolError 400/415 when there is not exactly one)."""
    media_type = request.mimetype
    if media_type == FORM:
        params = CombinedMultiDict([request.args, request.form])
        if "query" in request.form:
            raise ProtocolError(400, "Queries go to /sparql; this endpoint takes 'update='.")
        updates = request.form.getlist("update")
        if len(updates) != 1:
            raise ProtocolError(400, "Send exactly one 'update' parameter.")
        text = updates[0]
    elif media_type == UPDATE_BODY:
        params = request.args
        charset = request.mimetype_params.get("charset", "utf-8").lower()
        if charset not in ("utf-8", "utf8"):
            raise ProtocolError(415, f"Send the update in UTF-8, not {charset}.")
        try:
            text = request.get_data().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(400, f"The update is not valid UTF-8: {exc}") from None
    else:
        raise ProtocolError(
            415,
            f"Unsupported request media type {media_type or '(none)'!r}: POST an update as "
            f"{FORM} (update=...) or as {UPDATE_BODY}.",
        )
    defaults, named = params.getlist(DATASET_PARAMS[0]), params.getlist(DATASET_PARAMS[1])
    if not (defaults or named):
        return text
    try:
        return with_using(text, defaults, named)
    except ValueError as exc:
        # An invalid IRI, or USING / WITH in the update as well (SPARQL Protocol §2.2.3).
        raise ProtocolError(400, f"using-graph-uri / using-named-graph-uri: {exc}.") from None


def checked(text: str, base: str) -> list[sandbox.DataChange] | None:
    """The update's syntax checked in a parsing process; its quads if it is made of data.

    See sandbox.check_update. ProtocolError 400 for a malformed update, with the
    parser's message; 400 or 413 when the parser cannot finish.
    """
    try:
        return sandbox.check_update(text, base, memory=sandbox.app_memory())
    except SyntaxError as exc:
        raise ProtocolError(400, f"Malformed update: {exc}") from None
    except sandbox.ParseFailed as exc:
        raise ProtocolError(exc.status, exc.message) from None


def update() -> Response:
    check_write_access()
    text = read_update()
    check_sparql_nesting(text, "update")
    settings = current_settings()
    try:  # LOAD and SERVICE would make the server fetch URLs: only listed ones
        outbound.check_update(text, settings.service_allow, settings.load_allow)
    except outbound.Refused as exc:
        raise ProtocolError(400, str(exc)) from None
    base = NamedNode(request.base_url)  # str() is its validated N-Triples form
    changes = None
    if not (has_word(text, "LOAD") or has_word(text, "SERVICE")):  # a listed one: fetch once
        changes = checked(text, base.value)
    try:
        with writing() as writer:
            if changes is None:
                writer.update(f"BASE {base}\n{text}")
            for change in changes or ():
                (writer.add_quads if change.insert else writer.remove_quads)(change.quads)
    except StoreError as exc:
        if isinstance(exc.__cause__, OSError):
            raise ProtocolError(500, f"The update failed: {exc}") from exc
        raise ProtocolError(400, f"The update failed: {exc}") from exc
    except RuntimeError as exc:
        raise ProtocolError(400, f"The update failed: {exc}") from exc
    return no_content()

"""The dataset's own documents: its VoID/DCAT description and the dumps.

`register` adds their routes to the site blueprint.
"""

from __future__ import annotations

import base64
import logging

from flask import Blueprint, Response, jsonify, render_template, request, send_file

from alliance.server.context import current_settings, current_store
from alliance.server.linked_data.resource_view import Display
from alliance.server.site import dumps, void
from alliance.server.site.documents import RDF_CHOICES
from alliance.server.web.cache import memoised
from alliance.server.web.negotiation import (
    HTML,
    NotAcceptable,
    negotiate,
)
from alliance.server.web.responses import (
    RDF_PREFIXES,
    not_acceptable,
    not_found,
    rdf_response,
)

log = logging.getLogger(__name__)


def _void_info() -> void.VoidInfo:
    store = current_store()
    settings = current_settings()
    root = request.url_root
    return memoised(
        store,
        "void",
        lambda: void.build(store, base=settings.base, root=root, dumps=dumps.all_dumps(store)),
        extra=f"{root}|{settings.base}",
    )


def void_description() -> Response:
    try:
        choice = negotiate(request, [*RDF_CHOICES, HTML], override=request.args.get("format"))
    except NotAcceptable as exc:
        return not_acceptable(str(exc))
    info = _void_info()
    if choice is HTML:
        display = Display(current_settings().base, request.script_root)
        display.load_labels(current_store(), [s for sub in info.subsets for s in sub.sources])
        response = Response(
            render_template("void.html", info=info, display=display),
            content_type="text/html; charset=utf-8",
        )
        response.headers["Vary"] = "Accept"
        return response
    prefixes = {**RDF_PREFIXES, **void.PREFIXES}
    return rdf_response(void.triples(info), choice, prefixes=prefixes)


def dump_list() -> Response:
    store = current_store()
    built = dumps.all_dumps(store)
    root = request.url_root
    listing = [
        {
            "name": b.dump.name,
            "url": f"{root}dumps/{b.dump.name}",
            "title": b.dump.title,
            "description": b.dump.description,
            "media_type": b.dump.rdf_media_type,
            "compress_format": b.dump.compress_format,
            "size": b.size,
            "sha256": b.sha256,
        }
        for b in built
    ]
    wanted = request.args.get("format") or request.accept_mimetypes.best_match(
        ["text/html", "application/json"], default="text/html"
    )
    if wanted in ("json", "application/json"):
        response = jsonify({"dumps": listing, "void": f"{root}.well-known/void"})
    else:
        response = Response(
            render_template("dumps.html", dumps=listing), content_type="text/html; charset=utf-8"
        )
    response.headers["Vary"] = "Accept"
    return response


def dump_file(name: str) -> Response:
    if name not in dumps.DUMPS:
        return not_found(f"No dump {name}; see /dumps.")
    built = dumps.ensure(current_store(), name)
    response = send_file(
        built.path,
        mimetype=built.dump.media_type,
        etag=built.sha256,
        conditional=True,
        download_name=name,
        max_age=0,
    )
    # RFC 9530: lets a client check the bytes it received without reading the VoID.
    digest = base64.b64encode(bytes.fromhex(built.sha256)).decode()
    response.headers["Repr-Digest"] = f"sha-256=:{digest}:"
    return response


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/.well-known/void", "void", void_description, methods=["GET"])
    blueprint.add_url_rule("/dumps", "dump_list", dump_list, methods=["GET"])
    blueprint.add_url_rule("/dumps/", "dump_list", dump_list, methods=["GET"])
    blueprint.add_url_rule("/dumps/<name>", "dump_file", dump_file, methods=["GET"])

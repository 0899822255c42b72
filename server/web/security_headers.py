"""Headers that keep the pages safe in a browser: a Content-Security-Policy on every answer.

Templates escape every datum (Jinja's autoescape, nothing marked safe); the policy is
the second wall, so that markup that slipped through anyway could run no script,
load nothing from elsewhere and post no form elsewhere. Pages get only what they
use: their own stylesheet, inline <style> and <script> elements carrying this
request's nonce (`csp_nonce()` in templates), `data:` images (pyLODE's icons), and
fetches to this server. A page that needs more says so with `allow()`: the query
page adds scripts from this server ('self': YASGUI's file and the page's own, both
under server/static/), and inline styles, which YASGUI's result table writes at run
time. No page may load anything from another host.
Answers that are not HTML get a policy that allows nothing at all.

Every answer also carries X-Content-Type-Options: nosniff (a browser never reads a
Turtle or CSV answer as HTML), a Referrer-Policy that sends the full URL (query
text included) to this server only, and refuses to be framed (clickjacking).
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, g

HTML_TYPES = ("text/html", "application/xhtml+xml")
#: What pages may use, before what a page adds with allow(); the nonce is added to both.
BASE_POLICY: dict[str, list[str]] = {
    "default-src": ["'none'"],
    "script-src": [],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "form-action": ["'self'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
}
#: For everything that is not a page.
NOT_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def csp_nonce() -> str:
    """This request's nonce, for inline <script> and <style> elements."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def allow(directive: str, *sources: str) -> None:
    """Let this request's page use `sources` for `directive` (e.g. 'self' for scripts)."""
    extra: dict[str, list[str]] = g.setdefault("csp_extra", {})
    extra.setdefault(directive, []).extend(sources)


def page_policy() -> str:
    nonce = f"'nonce-{csp_nonce()}'"
    extra: dict[str, list[str]] = g.get("csp_extra") or {}
    parts = []
    for directive, sources in BASE_POLICY.items():
        values = [*sources, *extra.get(directive, [])]
        # A nonce disables 'unsafe-inline': a page that needs the latter gets no nonce.
        if directive in ("script-src", "style-src") and "'unsafe-inline'" not in values:
            values.append(nonce)
        parts.append(" ".join([directive, *dict.fromkeys(values)]))
    return "; ".join(parts)


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"csp_nonce": csp_nonce})

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype in HTML_TYPES:
            response.headers["Content-Security-Policy"] = page_policy()
        else:
            response.headers.setdefault("Content-Security-Policy", NOT_HTML_POLICY)
        return response

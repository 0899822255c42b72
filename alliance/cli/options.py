"""The `--store` option and those that reach a remote store, shared by every command with them.

`--store URL` (an http(s) SPARQL query endpoint) picks the remote backend; these options say
where it takes writes and with which credentials. They are kept out of the commands'
signatures (each command only passes `store_access()` on to `open_store`), so that adding a
backend option never changes every command.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from alliance.store import StoreAccess

F = TypeVar("F", bound=Callable[..., object])

_META = "alliance.store_access"

#: option, environment variable, open_store keyword, metavar, help
REMOTE_OPTIONS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "--store-update",
        "ALLIANCE_STORE_UPDATE",
        "update",
        "URL",
        "With --store URL: the SPARQL Update endpoint (needed to ingest or write).",
    ),
    (
        "--store-gsp",
        "ALLIANCE_STORE_GSP",
        "gsp",
        "URL",
        "With --store URL: the Graph Store Protocol endpoint (faster loads and graph reads; "
        "without it, INSERT DATA and CONSTRUCT are used).",
    ),
    (
        "--store-user",
        "ALLIANCE_STORE_USER",
        "user",
        "NAME",
        "With --store URL: user name for HTTP basic or digest auth, whichever the server asks.",
    ),
    (
        "--store-password",
        "ALLIANCE_STORE_PASSWORD",
        "password",
        "SECRET",
        "With --store URL: password for --store-user (prefer the environment variable).",
    ),
)


def _remember(keyword: str) -> Callable[[click.Context, click.Parameter, object], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: object) -> None:
        ctx.meta.setdefault(_META, {})[keyword] = value or None

    return callback


def remote_store_options(func: F) -> F:
    """Add --store-update, --store-gsp, --store-user and --store-password to a command."""
    for option, envvar, keyword, metavar, text in reversed(REMOTE_OPTIONS):
        func = click.option(
            option,
            envvar=envvar,
            show_envvar=True,
            metavar=metavar,
            expose_value=False,
            callback=_remember(keyword),
            help=text,
        )(func)
    return func


def store_access() -> StoreAccess:
    """The remote-store options of the running command, as `open_store` keywords."""
    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get(_META, {}) if ctx is not None else {}
    return StoreAccess(
        update=given.get("update"),
        gsp=given.get("gsp"),
        user=given.get("user"),
        password=given.get("password"),
    )


STORE_HELP = (
    "Folder of the embedded store (env ALLIANCE_STORE; default "
    "~/.local/share/alliance/store, or $XDG_DATA_HOME/alliance/store), or the http(s) URL "
    "of a remote SPARQL query endpoint (see --store-update)."
)


def store_option_saying(text: str) -> Callable[[F], F]:
    """`--store` and the remote-store options, `--store` explained by `text`."""

    def decorate(func: F) -> F:
        return click.option(
            "--store",
            "store_location",
            envvar="ALLIANCE_STORE",
            show_envvar=True,
            metavar="DIR|URL",
            help=text,
        )(remote_store_options(func))

    return decorate


#: `--store` and the remote-store options, as most commands explain them.
store_option = store_option_saying(STORE_HELP)

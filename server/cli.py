"""`alliance serve`: the production server (gunicorn) over the store."""

from __future__ import annotations

import logging
import os

import click

from alliance.server.settings import DEFAULT_BASE, Settings

log = logging.getLogger(__name__)


def ensure_ingested(location: str | None) -> None:
    """Build the store from the bundled sources when its folder holds none yet."""
    from alliance.ingest.pipeline import ingest
    from alliance.ingest.reference.certificate import certified_report
    from alliance.ingest.sources import bundled_sources
    from alliance.store import open_store

    with open_store(location) as store:
        if store.graphs():
            return
        click.echo("The store is empty: ingesting the bundled sources first…", err=True)
        summary = ingest(store, bundled_sources(), trusted=certified_report)
        total = sum(o.triples for o in summary.outcomes)
        click.echo(f"  {total:,} triples in {summary.seconds:.1f} s", err=True)


def run_gunicorn(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    """Serve with gunicorn's threaded workers: a slow query holds one thread, not the server."""
    from gunicorn.app.base import BaseApplication

    from alliance.server.app import create_app

    class Application(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("timeout", int(settings.query_timeout) + 30)
            self.cfg.set("accesslog", "-")
            if "control_socket_disable" in self.cfg.settings:
                # One shared control socket would tie unrelated servers together.
                self.cfg.set("control_socket_disable", True)

        def load(self):  # noqa: ANN202 - gunicorn's hook
            return create_app(settings)

    Application().run()


@click.command()
@click.option(
    "--store",
    "store_location",
    envvar="ALLIANCE_STORE",
    show_envvar=True,
    metavar="DIR",
    help="Folder of the embedded store (default ~/.local/share/alliance/store).",
)
@click.option("--host", default="127.0.0.1", show_default=True, envvar="ALLIANCE_HOST")
@click.option("--port", default=8000, show_default=True, type=int, envvar="ALLIANCE_PORT")
@click.option(
    "--workers",
    default=lambda: min(4, os.cpu_count() or 1),
    show_default="number of cores, at most 4",
    type=int,
    envvar="ALLIANCE_WORKERS",
    help="Worker processes.",
)
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=int,
    envvar="ALLIANCE_THREADS",
    help="Threads per worker.",
)
@click.option(
    "--base",
    default=DEFAULT_BASE,
    show_default=True,
    envvar="ALLIANCE_BASE",
    show_envvar=True,
    help="Public base of the minted IRIs; resources are served under /id/.",
)
@click.option(
    "--write-token",
    envvar="ALLIANCE_WRITE_TOKEN",
    show_envvar=True,
    default=None,
    help="Enables /sparql/update and /store for requests sending 'Authorization: Bearer TOKEN'.",
)
@click.option(
    "--no-ingest",
    is_flag=True,
    help="Serve whatever the store folder holds, even nothing; never ingest.",
)
def serve(
    store_location: str | None,
    host: str,
    port: int,
    workers: int,
    threads: int,
    base: str,
    write_token: str | None,
    no_ingest: bool,
) -> None:
    """Serve the SPARQL endpoint, linked-data pages and dumps over HTTP.

    If the store folder holds no store yet, it is first built from the
    bundled sources (unless --no-ingest).
    """
    from alliance.store import default_store_dir

    location = store_location or str(default_store_dir())
    if not no_ingest:
        ensure_ingested(location)
    else:
        os.makedirs(location, exist_ok=True)
    settings = Settings(store=location, base=base, write_token=write_token or None)
    click.echo(f"Alliance on http://{host}:{port}/ (store {location})", err=True)
    run_gunicorn(settings, host, port, workers, threads)

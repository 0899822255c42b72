"""How `alliance serve` runs: the first-start ingest in a child, then gunicorn and its workers.

The command itself (options, help) is `alliance.cli.serve`; this module is what it calls.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
from typing import Unpack

import click

from alliance.ingest.pipeline import ingest
from alliance.ingest.reference.certificate import certified_report
from alliance.ingest.sources import bundled_sources
from alliance.server.serving.worker import WaitressWorker
from alliance.server.settings import Settings
from alliance.store import StoreAccess, StoreError, open_store

log = logging.getLogger(__name__)


class PrepareFailed(Exception):
    """The first-start check or ingest failed (its child said why on stderr)."""


def ensure_ingested(location: str | None, **access: Unpack[StoreAccess]) -> None:
    """Build the store from the bundled sources when it holds none yet (folder or remote).

    `access`: the remote store's endpoints and credentials (see alliance.cli.options).
    Opens the store in this process: `serve` calls it through `ensure_ingested_apart`.
    """
    with open_store(location, **access) as store:
        if store.graphs():
            return
        click.echo("The store is empty: ingesting the bundled sources first…", err=True)
        summary = ingest(store, bundled_sources(), trusted=certified_report)
        total = sum(o.triples for o in summary.outcomes)
        click.echo(f"  {total:,} triples in {summary.seconds:.1f} s", err=True)


def _ensure_ingested_child(location: str | None, access: StoreAccess) -> None:
    """The child's side of `ensure_ingested_apart`: a failure is one line and exit status 1."""
    try:
        ensure_ingested(location, **access)
    except (StoreError, OSError) as exc:
        click.echo(f"Error: the store could not be prepared: {exc}", err=True)
        sys.exit(1)


def ensure_ingested_apart(location: str | None, **access: Unpack[StoreAccess]) -> None:
    """`ensure_ingested` in a child process that has exited before gunicorn forks.

    Why: opening the embedded store starts RocksDB's background threads in the process
    that opens it. gunicorn's workers are forked from its main process and inherit no
    threads, so a store opened there leaves every worker's RocksDB waiting on threads
    that do not exist: each write (the flush at its end) hung until gunicorn killed the
    worker, and stopping hung too. So the main process never opens the store; a spawned
    child (a fresh interpreter, not a fork) checks it and ingests, then exits.
    """
    context = multiprocessing.get_context("spawn")
    child = context.Process(
        target=_ensure_ingested_child, args=(location, access), name="alliance-first-start"
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise PrepareFailed(f"preparing the store failed (exit status {child.exitcode}); see above")


def prepare_metrics() -> str:
    """Point prometheus-client at a fresh folder where every worker writes its metrics.

    /metrics then sums the workers (see web/observability.py). Must run before prometheus-client
    is first imported in this process, which picks file-backed values at import, and so
    before the workers fork; fresh at each start, since values an earlier server left there
    would be summed into this one's. run_gunicorn removes it.
    """
    import sys

    if "prometheus_client" in sys.modules:
        log.warning("prometheus_client was imported early: /metrics may show one worker only")
    folder = tempfile.mkdtemp(prefix="alliance-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


def child_exit(server: object, worker: object) -> None:
    """gunicorn hook (main process): a dead worker's counts stay, its live values go."""
    from alliance.server.web import observability

    observability.worker_exited(worker.pid)  # type: ignore[attr-defined]


def run_gunicorn(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    threads: int,
    access_log: str = "-",
    log_format: str = "json",
) -> None:
    """Serve with gunicorn's threaded workers: a slow query holds one thread, not the server.

    The metrics folder and the access log are set up here, in the main process, before
    anything imports prometheus-client and before the workers fork: they inherit both.
    """
    metrics_folder, main_pid = prepare_metrics(), os.getpid()
    try:
        _run_gunicorn(settings, host, port, workers, threads, access_log, log_format)
    finally:
        if os.getpid() == main_pid:  # a worker leaves through here too, as SystemExit
            shutil.rmtree(metrics_folder, ignore_errors=True)


def _run_gunicorn(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    threads: int,
    access_log: str,
    log_format: str,
) -> None:
    from gunicorn.app.base import BaseApplication

    from alliance.server.app import create_app
    from alliance.server.web.observability import configure_access_log

    configure_access_log(access_log, log_format)

    class Application(BaseApplication):
        #: Read by the worker (its body limit).
        app_settings = settings

        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", WaitressWorker)
            self.cfg.set("timeout", int(settings.query_timeout) + 30)
            # web/observability.py's access log (configure_access_log) replaces gunicorn's.
            self.cfg.set("accesslog", None)
            self.cfg.set("child_exit", child_exit)
            if "control_socket_disable" in self.cfg.settings:
                # One shared control socket would tie unrelated servers together.
                self.cfg.set("control_socket_disable", True)

        def load(self):  # noqa: ANN202 - gunicorn's hook
            return create_app(settings)

    Application().run()

"""`alliance serve`: the production server (gunicorn) over the store."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import sys
import tempfile

import click

from alliance.server.settings import DEFAULT_BASE, Settings
from alliance.server.waitress_worker import LIGHT_THREADS
from alliance.store_options import remote_store_options, store_access

log = logging.getLogger(__name__)


def ensure_ingested(location: str | None, **access: str | None) -> None:
    """Build the store from the bundled sources when it holds none yet (folder or remote).

    `access`: the remote store's endpoints and credentials (see alliance.store_options).
    Opens the store in this process: `serve` calls it through `ensure_ingested_apart`.
    """
    from alliance.ingest.pipeline import ingest
    from alliance.ingest.reference.certificate import certified_report
    from alliance.ingest.sources import bundled_sources
    from alliance.store import open_store

    with open_store(location, **access) as store:
        if store.graphs():
            return
        click.echo("The store is empty: ingesting the bundled sources first…", err=True)
        summary = ingest(store, bundled_sources(), trusted=certified_report)
        total = sum(o.triples for o in summary.outcomes)
        click.echo(f"  {total:,} triples in {summary.seconds:.1f} s", err=True)


def _ensure_ingested_child(location: str | None, access: dict[str, str | None]) -> None:
    """The child's side of `ensure_ingested_apart`: a failure is one line and exit status 1."""
    from alliance.store import StoreError

    try:
        ensure_ingested(location, **access)
    except (StoreError, OSError) as exc:
        click.echo(f"Error: the store could not be prepared: {exc}", err=True)
        sys.exit(1)


def ensure_ingested_apart(location: str | None, **access: str | None) -> None:
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
        raise click.ClickException(
            f"preparing the store failed (exit status {child.exitcode}); see above"
        )


def prepare_metrics() -> str:
    """Point prometheus-client at a fresh folder where every worker writes its metrics.

    /metrics then sums the workers (see observability.py). Must run before prometheus-client
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
    from alliance.server import observability

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
    from alliance.server.observability import configure_access_log
    from alliance.server.waitress_worker import WaitressWorker

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
            # observability.py's access log (configure_access_log) replaces gunicorn's.
            self.cfg.set("accesslog", None)
            self.cfg.set("child_exit", child_exit)
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
    metavar="DIR|URL",
    help="Folder of the embedded store (default ~/.local/share/alliance/store), or the "
    "http(s) URL of a remote SPARQL query endpoint (see --store-update).",
)
@remote_store_options
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
    help="Threads per worker for queries, updates, uploads and validations; two more "
    "serve pages and /health, so that long queries never make them wait.",
)
@click.option(
    "--query-processes",
    type=click.IntRange(min=0),
    default=None,
    show_default="--threads + 2, one per thread",
    envvar="ALLIANCE_QUERY_PROCESSES",
    show_envvar=True,
    help="Query processes per worker (see store/isolated.py); 0 runs queries in the worker "
    "itself, where --query-timeout cannot stop them.",
)
@click.option(
    "--query-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    envvar="ALLIANCE_QUERY_TIMEOUT",
    show_envvar=True,
    help="Time limit of one query; a query over it is stopped and answered 503.",
)
@click.option(
    "--query-memory",
    type=click.IntRange(min=0),
    default=2048,
    show_default=True,
    metavar="MIB",
    envvar="ALLIANCE_QUERY_MEMORY",
    show_envvar=True,
    help="Memory cap of each query process and each process that parses uploads and "
    "updates, in MiB; past it that process ends and its client gets an error. 0: none.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=0),
    default=100_000,
    show_default=True,
    envvar="ALLIANCE_MAX_ROWS",
    show_envvar=True,
    help="Most rows (or triples) a /sparql answer may hold; over it: 422. 0: no limit.",
)
@click.option(
    "--max-result-bytes",
    type=click.IntRange(min=0),
    default=100_000_000,
    show_default=True,
    envvar="ALLIANCE_MAX_RESULT_BYTES",
    show_envvar=True,
    help="Most bytes a /sparql answer may hold; over it: 422. 0: no limit.",
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
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    envvar="ALLIANCE_CORS_ORIGIN",
    show_envvar=True,
    help="A web origin (https://app.example.org) whose pages may call /sparql/update and "
    "/store from a browser (repeatable; the variable is space-separated; * for any). "
    "Without any, those endpoints send no CORS headers; every other page allows any origin.",
)
@click.option(
    "--no-ingest",
    is_flag=True,
    help="Serve whatever the store folder holds, even nothing; never ingest.",
)
@click.option(
    "--access-log",
    default="-",
    show_default=True,
    metavar="PATH|-",
    envvar="ALLIANCE_ACCESS_LOG",
    show_envvar=True,
    help="Where the access log goes, one line per request: a file (appended) or - for stderr.",
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    envvar="ALLIANCE_LOG_FORMAT",
    show_envvar=True,
    help="Access log lines as JSON objects (fields in docs/deployment.md) or as plain text.",
)
@click.option(
    "--service-allow",
    "service_allow",
    multiple=True,
    metavar="URL",
    envvar="ALLIANCE_SERVICE_ALLOW",
    show_envvar=True,
    help="An endpoint SPARQL SERVICE may call (repeatable; the variable is space-separated). "
    "Without any, SERVICE is refused.",
)
@click.option(
    "--load-allow",
    "load_allow",
    multiple=True,
    metavar="URL",
    envvar="ALLIANCE_LOAD_ALLOW",
    show_envvar=True,
    help="A source SPARQL LOAD may fetch in /sparql/update (repeatable; the variable is "
    "space-separated). Without any, LOAD is refused, even with the write token.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=0),
    default=600,
    show_default=True,
    metavar="N",
    envvar="ALLIANCE_RATE_LIMIT",
    show_envvar=True,
    help="Costly requests (/sparql, /sparql/update, /store, POST /validate, /api/queries/…) "
    "per minute per client address, shared by all workers; over it: 429. 0: no limit.",
)
@click.option(
    "--trust-proxy",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    envvar="ALLIANCE_TRUST_PROXY",
    show_envvar=True,
    help="Number of reverse proxies in front whose X-Forwarded-For/-Proto to believe "
    "(1 behind one nginx). 0: the client is the connection's address.",
)
def serve(
    store_location: str | None,
    host: str,
    port: int,
    workers: int,
    threads: int,
    query_processes: int | None,
    query_timeout: float,
    query_memory: int,
    max_rows: int,
    max_result_bytes: int,
    base: str,
    write_token: str | None,
    cors_origins: tuple[str, ...],
    no_ingest: bool,
    access_log: str,
    log_format: str,
    service_allow: tuple[str, ...],
    load_allow: tuple[str, ...],
    rate_limit: int,
    trust_proxy: int,
) -> None:
    """Serve the SPARQL endpoint, linked-data pages and dumps over HTTP.

    If the store folder holds no store yet, it is first built from the
    bundled sources (unless --no-ingest).
    """
    from alliance.store import default_store_dir
    from alliance.store.remote import is_remote

    location = store_location or str(default_store_dir())
    access = store_access()
    if not no_ingest:
        ensure_ingested_apart(location, **access)
    elif not is_remote(location):
        os.makedirs(location, exist_ok=True)
    from alliance.server import outbound

    try:
        services, loads = outbound.allowlist(service_allow), outbound.allowlist(load_allow)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--service-allow / --load-allow") from None
    # One rate-limit file for every worker, so that the limit is the server's, not each
    # worker's. Removed by the main process only: a worker that exits (a restart) unwinds
    # this frame too, and must not take the file from the others.
    shared, main_pid = tempfile.mkdtemp(prefix="alliance-serve-"), os.getpid()
    try:
        settings = Settings(
            store=location,
            store_update=access["update"],
            store_gsp=access["gsp"],
            store_user=access["user"],
            store_password=access["password"],
            base=base,
            write_token=write_token or None,
            cors_origins=tuple(cors_origins),
            service_allow=services,
            load_allow=loads,
            rate_limit=rate_limit,
            rate_limit_file=os.path.join(shared, "rate-limit.sqlite"),
            trust_proxy=trust_proxy,
            query_timeout=query_timeout,
            threads=threads,
            query_memory=query_memory * 1024**2,
            max_rows=max_rows,
            max_result_bytes=max_result_bytes,
            # One per thread, light ones included: a request never waits for a free one.
            query_processes=(
                threads + LIGHT_THREADS if query_processes is None else query_processes
            ),
        )
        click.echo(f"Alliance on http://{host}:{port}/ (store {location})", err=True)
        run_gunicorn(settings, host, port, workers, threads, access_log, log_format)
    finally:
        if os.getpid() == main_pid:
            shutil.rmtree(shared, ignore_errors=True)

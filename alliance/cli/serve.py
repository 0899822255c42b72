"""`alliance serve`: the SPARQL endpoint, linked-data pages and dumps over HTTP (gunicorn)."""

from __future__ import annotations

import os
import shutil
import tempfile

import click

from alliance.cli.options import store_access, store_option
from alliance.server.serving.worker import LIGHT_THREADS
from alliance.server.settings import DEFAULT_BASE, Settings


@click.command()
@store_option
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
    from alliance.server.serving.runner import PrepareFailed, ensure_ingested_apart, run_gunicorn
    from alliance.store import default_store_dir
    from alliance.store.remote import is_remote

    location = store_location or str(default_store_dir())
    access = store_access()
    if not no_ingest:
        try:
            ensure_ingested_apart(location, **access)
        except PrepareFailed as exc:
            raise click.ClickException(str(exc)) from None
    elif not is_remote(location):
        os.makedirs(location, exist_ok=True)
    from alliance.server.web import outbound

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

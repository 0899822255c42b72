"""The `alliance` command: one subcommand per job, each a thin shell over library code."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import click

from alliance import __version__

STORE_HELP = (
    "Folder of the embedded store (env ALLIANCE_STORE; default "
    "~/.local/share/alliance/store, or $XDG_DATA_HOME/alliance/store), or the http(s) URL "
    "of a remote SPARQL query endpoint (see --store-update)."
)


def store_option(func):  # noqa: ANN001, ANN201 - click decorator
    from alliance.store_options import remote_store_options

    return click.option(
        "--store",
        "store_location",
        envvar="ALLIANCE_STORE",
        show_envvar=True,
        metavar="DIR|URL",
        help=STORE_HELP,
    )(remote_store_options(func))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="alliance")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Alliance: a knowledge graph of cooperation between French territories.

    \b
    Typical first run:
      alliance ingest                  build the store from the bundled sources
      alliance query cq1-pilot-contracts
      alliance query 'SELECT (COUNT(*) AS ?n) { ?s ?p ?o }'
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s"
    )


class _Progress:
    """Progress of one source's build on stderr: a live line on a terminal, nothing otherwise."""

    def __init__(self, name: str):
        self.name = name
        self.live = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int | None, what: str) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and (total is None or done < total):
            return
        self.last = now
        share = f"{done:,}/{total:,}" if total else f"{done:,}"
        click.echo(f"\r  {self.name}: {what} {share}\033[K", nl=False, err=True)

    @staticmethod
    def phase(text: str) -> None:
        """A long step starts: say so (a live line on a terminal, a log line otherwise)."""
        if sys.stderr.isatty():
            click.echo(f"\r  {text}…\033[K", nl=False, err=True)
        else:
            logging.getLogger("alliance.ingest").info("%s", text)


@main.command()
@store_option
@click.option("--force", is_flag=True, help="Rebuild and publish sources even if unchanged.")
@click.option("--list", "list_only", is_flag=True, help="List the bundled sources and exit.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Publish a source that yields no triple even over a graph that holds some "
    "(refused otherwise: an empty or truncated file would silently empty the graph).",
)
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
def ingest(
    store_location: str | None,
    force: bool,
    list_only: bool,
    allow_empty: bool,
    sources: tuple[str, ...],
) -> None:
    """Build or update the store from sources, each into its own named graph.

    SOURCE is a bundled source (ontology, territories, facts), a folder of
    curated CSV tables, or an RDF file (.ttl, .nt, .rdf, .jsonld); NAME=PATH
    picks the graph name. Without SOURCE, every bundled source is ingested.

    Unchanged sources are skipped. Each changed source is validated against
    the shapes before it is published: Violations refuse it (exit 1, store
    unchanged), Warnings are printed and published. All changes are published
    in one atomic step.
    """
    from alliance.ingest.pipeline import IngestRefused
    from alliance.ingest.pipeline import ingest as run_ingest
    from alliance.ingest.reference.certificate import certified_report
    from alliance.ingest.source import SourceError
    from alliance.ingest.sources import UnknownSource, bundled_sources, resolve
    from alliance.namespaces import graph_iri
    from alliance.store import StoreError, open_store
    from alliance.store_options import store_access

    if list_only:
        for source in bundled_sources():
            click.echo(f"{source.name:12} {graph_iri(source.name).value}  {source.title}")
        return
    try:
        chosen = [resolve(s) for s in sources] if sources else bundled_sources()
    except UnknownSource as exc:
        raise click.BadParameter(str(exc), param_hint="SOURCE") from exc
    try:
        with open_store(store_location, **store_access()) as store:
            if hasattr(store, "progress"):  # a remote store: its upload is long too
                store.progress = _Progress("publish")  # type: ignore[attr-defined]
            summary = run_ingest(
                store,
                chosen,
                force=force,
                progress=_Progress,
                trusted=certified_report,
                phase=_Progress.phase,
                allow_empty=allow_empty,
            )
    except IngestRefused as exc:
        if sys.stderr.isatty():
            click.echo("", err=True)
        click.secho(str(exc), fg="red", err=True)
        if exc.report is not None:
            click.echo(exc.report.text("en"), err=True)
        sys.exit(1)
    except (StoreError, SourceError) as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    if sys.stderr.isatty():
        click.echo("\r\033[K", nl=False, err=True)
    for outcome in summary.outcomes:
        line = f"{outcome.source:12} {outcome.status:9} {outcome.triples:>9,} triples"
        if outcome.status != "unchanged":
            line += (
                f"  built {outcome.build_seconds:.1f} s, validated {outcome.validate_seconds:.1f} s"
            )
        counts = outcome.report.counts()
        if counts:
            line += "  " + ", ".join(f"{n} {sev.lower()}(s)" for sev, n in sorted(counts.items()))
        click.echo(line)
        warnings = [r for r in outcome.report.results if r.severity != "Violation"]
        if warnings and outcome.status != "unchanged":
            from alliance.shapes.report import Report

            click.echo(Report(warnings).text("en", limit=10))
    total = sum(o.triples for o in summary.outcomes)
    if summary.changed:
        click.echo(
            f"{len(summary.outcomes)} graphs, {total:,} triples; "
            f"{len(summary.changed)} published ({summary.publish_seconds:.1f} s); "
            f"total {summary.seconds:.1f} s"
        )
    else:
        click.echo(f"{len(summary.outcomes)} graphs, {total:,} triples; nothing changed")


@main.command()
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "xml", "csv", "tsv", "turtle", "ntriples", "jsonld"]),
    default="table",
    show_default=True,
    help="table: readable; json/xml/csv/tsv: W3C SPARQL results formats; "
    "turtle/ntriples/jsonld: for CONSTRUCT and DESCRIBE.",
)
@click.option(
    "--plain-default-graph",
    is_flag=True,
    help="Query the plain default graph instead of the union of all named graphs.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Bind the query variable ?NAME to VALUE. For a named query, VALUE is read as the "
    "parameter's declared type (see `alliance queries`) and defaults apply; otherwise it is an "
    "IRI if it is http(s)://… or <…>, else a plain literal. Repeatable.",
)
@click.argument("query", metavar="QUERY_OR_FILE")
def query(
    store_location: str | None,
    fmt: str,
    plain_default_graph: bool,
    params: tuple[str, ...],
    query: str,
) -> None:
    """Run a SPARQL query on the store and print its results.

    QUERY_OR_FILE is the name of a bundled query (see `alliance queries`), a
    .rq file, or the query text itself. The project's prefixes (alli:, igeo:,
    org:, skos:…) are declared for you. Without GRAPH, a query sees the union
    of every source's graph.

    \b
    Example:
      alliance query cq9-territory-involvement \\
        --param territory=https://w3id.org/alliance/id/commune/69123
    """
    from pyoxigraph import Literal, NamedNode

    from alliance.queries import ParameterError, named_queries, read_query
    from alliance.queries.output import print_results
    from alliance.store import StoreError, open_store
    from alliance.store_options import store_access

    library = named_queries()
    named = None
    if query in library:
        named = library[query]
    elif query.endswith(".rq") and Path(query).is_file():
        named = read_query(Path(query))
    if named is not None:
        text = named.sparql()
    else:
        from alliance.namespaces import sparql_prefixes

        text = sparql_prefixes() + query
    given: dict[str, str] = {}
    for param in params:
        name, sep, value = param.partition("=")
        name = name.strip().lstrip("?$")
        if not sep or not name:
            raise click.BadParameter(f"{param!r}: expected NAME=VALUE", param_hint="--param")
        given[name] = value
    substitutions: dict[str, object] = {}
    if named is not None and named.parameters:
        # declared parameters: typed, checked, defaults filled in (see alliance.queries)
        try:
            substitutions = dict(named.bind(given))
        except ParameterError as exc:
            raise click.BadParameter(str(exc), param_hint="--param") from None
    else:
        for name, value in given.items():
            if value.startswith("<") and value.endswith(">"):
                substitutions[name] = NamedNode(value[1:-1])
            elif value.startswith(("http://", "https://")):
                substitutions[name] = NamedNode(value)
            else:
                substitutions[name] = Literal(value)
    location = store_location
    try:
        with open_store(location, read_only=True, **store_access()) as store:
            result = store.query(
                text,
                union_default_graph=not plain_default_graph,
                substitutions=substitutions or None,
            )
            print_results(result, fmt, sys.stdout.buffer)
    except StoreError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except RuntimeError as exc:  # pyoxigraph: a --param the query does not project
        if not substitutions:
            raise
        raise click.BadParameter(str(exc), param_hint="--param") from exc


@main.command("queries")
def list_queries() -> None:
    """List the bundled named queries."""
    from alliance.queries import named_queries

    for q in named_queries().values():
        click.echo(f"{q.name:32} {q.title}")
        for p in q.parameters:
            need = "required" if p.required else f"default {p.default}" if p.default else "optional"
            click.echo(f"{'':34}--param {p.name}={p.type.upper()}  ({need})")


@main.group()
def snapshot() -> None:
    """Maintain the bundled reference-territories snapshot."""


@snapshot.command("certify")
def certify_command() -> None:
    """Validate the snapshot in full and record the result beside it.

    Run after changing the shapes or the ontology: ingest reuses the record
    only while the snapshot, shapes and ontology are byte-identical to what
    it certifies.
    """
    from alliance.ingest.reference.certificate import CERTIFICATE, certify
    from alliance.ingest.territories import Territories

    start = time.perf_counter()
    report = certify(Territories())
    counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items())) or "conforms"
    click.echo(f"{CERTIFICATE}: {counts} ({time.perf_counter() - start:.1f} s)")


@main.command("dump")
@store_option
@click.argument("target", metavar="FILE")
def dump_command(store_location: str | None, target: str) -> None:
    """Back up the store: write every quad, with its graph, to FILE (N-Quads).

    FILE ending in .gz is compressed; - is standard output. The same content as
    the served /dumps/alliance.nq.gz. Restore it with `alliance restore`.
    """
    from alliance.store import StoreError, open_store
    from alliance.store.backup import dump
    from alliance.store_options import store_access

    start = time.perf_counter()
    try:
        with open_store(store_location, read_only=True, **store_access()) as store:
            dump(store, target)
    except (StoreError, OSError) as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    click.echo(f"dumped to {target} in {time.perf_counter() - start:.1f} s", err=True)


@main.command("restore")
@store_option
@click.argument("source", metavar="FILE")
def restore_command(store_location: str | None, source: str) -> None:
    """Restore the store from FILE, an N-Quads backup made by `alliance dump`.

    The store ends holding exactly the file's named graphs (others are dropped),
    in one atomic write: readers see the old content or the new, never a mix.
    A malformed file is reported with its line and changes nothing.
    """
    from alliance.store import StoreError, open_store
    from alliance.store.backup import restore
    from alliance.store_options import store_access

    start = time.perf_counter()
    try:
        with open_store(store_location, **store_access()) as store:
            done = restore(store, source)
    except SyntaxError as exc:
        click.secho(f"error: {source} is not valid N-Quads: {exc}", fg="red", err=True)
        sys.exit(1)
    except (StoreError, OSError) as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    click.echo(
        f"restored {done.graphs} graphs, {done.triples:,} triples from {source} "
        f"({done.dropped} dropped) in {time.perf_counter() - start:.1f} s",
        err=True,
    )


def _rebuild_command() -> click.Command:
    """`snapshot rebuild`: the reference package's command, followed by `certify`."""
    from alliance.ingest.reference.cli import rebuild_command
    from alliance.ingest.reference.snapshot import PACKAGE_DIR

    @click.pass_context
    def rebuild(ctx: click.Context, **options: object) -> None:
        ctx.invoke(rebuild_command, **options)
        if Path(str(options["out_dir"])).resolve() == PACKAGE_DIR.resolve():
            ctx.invoke(certify_command)

    return click.Command(
        "rebuild",
        callback=rebuild,
        params=rebuild_command.params,
        help=(rebuild_command.help or "") + "\n\nThe bundled snapshot is then certified.",
    )


snapshot.add_command(_rebuild_command())


def _serve_command() -> click.Command:
    from alliance.server.cli import serve

    return serve


main.add_command(_serve_command(), "serve")


def _validate_command() -> click.Command:
    from alliance.shapes.cli import validate

    return validate


main.add_command(_validate_command(), "validate")


if __name__ == "__main__":  # pragma: no cover
    main()

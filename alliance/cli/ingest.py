"""`alliance ingest`: build or update the store from sources, with progress on a terminal."""

from __future__ import annotations

import logging
import sys
import time

import click

from alliance.cli.options import store_option


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


@click.command()
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

    SOURCE is a bundled source (ontology, territories, territory-history, facts), a folder of
    curated CSV tables, or an RDF file (.ttl, .nt, .rdf, .jsonld); NAME=PATH
    picks the graph name. Without SOURCE, every bundled source is ingested.

    Unchanged sources are skipped. Each changed source is validated against
    the shapes before it is published: Violations refuse it (exit 1, store
    unchanged), Warnings are printed and published. All changes are published
    in one atomic step.
    """
    from alliance.cli.options import store_access
    from alliance.ingest.pipeline import IngestRefused
    from alliance.ingest.pipeline import ingest as run_ingest
    from alliance.ingest.reference.certificate import certified_report
    from alliance.ingest.source import SourceError
    from alliance.ingest.sources import UnknownSource, bundled_sources, resolve
    from alliance.namespaces import graph_iri
    from alliance.store import StoreError, open_store

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

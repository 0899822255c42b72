"""`alliance validate`: SHACL validation for curators, of files before ingest or of the store.

A thin shell: `inputs` chooses what to validate and with which context, `curator_report` merges
the runs, `render` formats them.
"""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import click

from alliance.cli.options import store_access, store_option_saying
from alliance.shapes.render import FORMATS


@click.command("validate")
@store_option_saying(
    "Folder of the embedded store, or http(s) URL of a remote SPARQL endpoint: validated "
    "when no FILE is given, else the context the FILEs are validated in (default without "
    "FILE: ~/.local/share/alliance/store)."
)
@click.option(
    "--shapes",
    "shapes_paths",
    multiple=True,
    metavar="FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="SHACL shapes to use instead of the project's (repeatable). Nothing is then added "
    "to the data graph: it is exactly the FILEs (or every graph of the store); with FILEs, "
    "--store only supplies labels.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text: for a curator; html: a standalone page; csv: one row per result; "
    "turtle: a standard sh:ValidationReport; json: see alliance.shapes.render.JSON_FORMAT.",
)
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    default="fr",
    show_default=True,
    help="Language of messages, labels and shape names.",
)
@click.argument(
    "files", nargs=-1, metavar="[FILE]...", type=click.Path(exists=True, path_type=Path)
)
def validate(
    store_location: str | None,
    shapes_paths: tuple[Path, ...],
    fmt: str,
    lang: str,
    files: tuple[Path, ...],
) -> None:
    """Validate curated tables, RDF files or the store against SHACL shapes.

    FILE is a folder of curated CSV tables (or one .csv of such a folder), or an RDF file
    (.ttl, .nt, .rdf/.owl/.xml, .jsonld/.json). With --store, FILEs are validated in the
    context of that store, as ingest would validate them; without it, in the context of
    the bundled sources (ontology, reference territories, curated facts). Without FILE,
    the store's published dataset (every graph) is validated.

    Results are grouped by shape and message, with each focus node's label, its path and
    value, and where it comes from (table and row, file, or store graph and its sources).

    \b
    Exit status, as pySHACL's command:
      0  conforms: no result at all
      1  does not conform: any result, Violation, Warning or Info (SHACL's
         sh:conforms), or a problem in a curated table
      2  error: malformed or unknown file (with its line and column), no store
    Ingest differs: it refuses a source only for a Violation, and publishes
    Warnings and Infos.
    """
    from alliance.ingest.source import SourceError
    from alliance.ingest.validate_inputs import (
        load_inputs,
        load_shapes,
        store_labels,
        store_locations,
        validate_files,
        validate_store,
    )
    from alliance.shapes.curator_report import build_report
    from alliance.shapes.gate import shapes_graph
    from alliance.shapes.render import render
    from alliance.store import StoreError, open_store

    quiet_rdflib()
    store = None
    try:
        shapes = load_shapes(shapes_paths) if shapes_paths else None
        problems = []
        if files:
            loaded, problems = load_inputs(files)
            if store_location:
                store = open_store(store_location, read_only=True, **store_access())
            runs = validate_files(loaded, shapes, store)
            validated = [str(f) for f in files]
        else:
            store = open_store(store_location, read_only=True, **store_access())
            runs = validate_store(store, shapes)
            validated = [f"store {store_location or 'default'}"]
        lookup = store
        report = build_report(
            runs,
            shapes if shapes is not None else shapes_graph(),
            lang=lang,
            problems=problems,
            validated=validated,
            labels=(lambda iris: store_labels(lookup, iris)) if lookup else None,
            locations=(lambda iris: store_locations(lookup, iris)) if lookup else None,
        )
    except SourceError as exc:
        for problem in exc.problems:
            click.secho(f"error: {problem}", fg="red", err=True)
        sys.exit(2)
    except StoreError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    finally:
        if store is not None:
            store.close()
    click.echo(render(report, fmt), nl=False)
    sys.exit(0 if report.conforms else 1)


def quiet_rdflib() -> None:
    """Keep rdflib's complaints about ill-formed literals off a curator's terminal.

    sh:datatype reports them as results; the tracebacks rdflib logs (and its warnings) only
    show with -v.
    """
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("rdflib.term").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", category=UserWarning, module="rdflib.term")

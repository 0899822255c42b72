"""`alliance dump` and `alliance restore`: back the store up to one N-Quads file, and back."""

from __future__ import annotations

import sys
import time

import click

from alliance.cli.options import store_option


@click.command("dump")
@store_option
@click.argument("target", metavar="FILE")
def dump_command(store_location: str | None, target: str) -> None:
    """Back up the store: write every quad, with its graph, to FILE (N-Quads).

    FILE ending in .gz is compressed; - is standard output. The same content as
    the served /dumps/alliance.nq.gz. Restore it with `alliance restore`.
    """
    from alliance.cli.options import store_access
    from alliance.store import StoreError, open_store
    from alliance.store.backup import dump

    start = time.perf_counter()
    try:
        with open_store(store_location, read_only=True, **store_access()) as store:
            dump(store, target)
    except (StoreError, OSError) as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    click.echo(f"dumped to {target} in {time.perf_counter() - start:.1f} s", err=True)


@click.command("restore")
@store_option
@click.argument("source", metavar="FILE")
def restore_command(store_location: str | None, source: str) -> None:
    """Restore the store from FILE, an N-Quads backup made by `alliance dump`.

    The store ends holding exactly the file's named graphs (others are dropped),
    in one atomic write: readers see the old content or the new, never a mix.
    A malformed file is reported with its line and changes nothing.
    """
    from alliance.cli.options import store_access
    from alliance.store import StoreError, open_store
    from alliance.store.backup import restore

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

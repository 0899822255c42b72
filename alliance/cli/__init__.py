"""The `alliance` command line: one subcommand per job, each a thin shell over library code.

The top layer of the project: commands parse options, call the library (`alliance.ingest`,
`alliance.store`, `alliance.server`…) and print. Each lives in a module of its own here;
they import the library inside their function, so that `alliance --help` stays quick.
"""

from __future__ import annotations

import logging

import click

from alliance import __version__
from alliance.cli import backup, ingest, query, serve, snapshot, validate


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


main.add_command(ingest.ingest)
main.add_command(query.query)
main.add_command(query.list_queries)
main.add_command(snapshot.snapshot)
main.add_command(backup.dump_command)
main.add_command(backup.restore_command)
main.add_command(serve.serve)
main.add_command(validate.validate)

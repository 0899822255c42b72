"""`python -m alliance.ingest.reference rebuild --from DATA_DIR`: maintain the snapshot.

The same command as `alliance snapshot rebuild` (alliance/cli/snapshot.py), without the
certification that follows it there.
"""

import click

from alliance.cli.snapshot import rebuild_command


@click.group(name="python -m alliance.ingest.reference")
def main() -> None:
    """Maintain the bundled snapshot of the official French territories."""


main.add_command(rebuild_command)

if __name__ == "__main__":
    main()

"""The curated facts source: CSV tables a curator edits, checked, then turned into `id:graph/facts`.

Why CSV: a curator edits these tables in a spreadsheet or a text editor, and a reviewer reads a
diff of them. Each table is described once, as data (`TABLES`: columns, kinds, targets), and one
generic checker walks that description, so adding a column is one line and every problem comes
back at once, located as a spreadsheet shows it (file, row with the header as row 1, column).
The format is documented for curators in `ingest/facts/SCHEMA.md`; the IRIs and terms follow
`docs/model.md`.

The package, by job: schema.py (the tables, as data), reading.py (one table's bytes to rows),
checks.py (every cell, and the rules across tables), emit.py (rows to triples), source.py
(the `CuratedFacts` source the pipeline ingests).
"""

from alliance.ingest.curated.schema import FACTS_DIR, TABLES, TABLES_BY_NAME
from alliance.ingest.curated.source import CuratedFacts

__all__ = ["FACTS_DIR", "TABLES", "TABLES_BY_NAME", "CuratedFacts"]

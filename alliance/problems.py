"""The problem type: one thing wrong in an input, located as precisely as its format allows.

Shared by everything that reads users' inputs and reports on them: ingest's sources (curated
tables, RDF files, the territories snapshot), the validation reports (`shapes/`) and the
server's error answers. A problem names its file and, where the format has them, the table
row and field, or the line and column, so that a curator can go straight to it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input, located as precisely as the format allows."""

    file: str
    message: str
    row: int | None = None  # 1-based data row in a table (the header is row 1)
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        if self.field:
            where += f", field '{self.field}'"
        return f"{where}: {self.message}"

"""Reading one table: its bytes decoded (UTF-8, or a clear error), its header checked, its rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from alliance.ingest.curated.schema import LIST_SEPARATOR, Table
from alliance.problems import Problem


@dataclass
class Row:
    """One data row, with its row number as a spreadsheet shows it (header = row 1)."""

    table: Table
    number: int
    cells: dict[str, str]

    def one(self, column: str) -> str:
        return self.cells.get(column, "")

    def many(self, column: str) -> list[str]:
        return split_list(self.one(column))

    @property
    def key(self) -> str:
        return " / ".join(self.one(c) for c in self.table.key)

    def problem(self, column: str | None, message: str) -> Problem:
        return Problem(file=self.table.file, row=self.number, field=column, message=message)


def split_list(cell: str) -> list[str]:
    """The items of a `;`-separated cell; empty items (e.g. a trailing `;`) are ignored."""
    return [item.strip() for item in cell.split(LIST_SEPARATOR) if item.strip()]


def decode(path: Path, raw: bytes) -> tuple[str, Problem | None]:
    """The text of a table, and a problem locating its first byte that is not UTF-8.

    A badly encoded file is still decoded (with replacement characters) so that its ids stay
    known: one wrong byte then yields one problem, not one per row referring to that table.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # UTF-16 ("Unicode text" in a spreadsheet): read as UTF-8 it would give one garbled
        # problem per column and row; say it once, and read it anyway to keep its ids known.
        message = (
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark), not UTF-8; "
            "save the file as UTF-8 (CSV UTF-8 in a spreadsheet)"
        )
        problem = Problem(file=path.name, row=1, line=1, message=message)
        return raw.decode("utf-16", errors="replace"), problem
    bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0  # spreadsheets often write one
    try:
        return raw[bom:].decode("utf-8"), None
    except UnicodeDecodeError as error:
        start = bom + error.start
        prefix = raw[bom:start].decode("utf-8")
        records = list(csv.reader(io.StringIO(prefix, newline="")))
        at_row_start = not prefix or prefix.endswith(("\n", "\r"))
        row = len(records) + 1 if at_row_start else len(records)
        header = [c.strip() for c in records[0]] if records else []
        cell = 0 if at_row_start else len(records[-1]) - 1
        column = header[cell] if row > 1 and cell < len(header) else None
        line = raw[:start].count(b"\n") + 1
        message = (
            f"not valid UTF-8: byte 0x{raw[start]:02x} at byte offset {start} (line {line}); "
            "save the file as UTF-8 (CSV UTF-8 in a spreadsheet)"
        )
        problem = Problem(file=path.name, row=row, line=line, field=column, message=message)
        return raw[bom:].decode("utf-8", errors="replace"), problem


def read_table(path: Path, table: Table) -> tuple[list[Row], list[Problem]]:
    """The rows of one table and the problems of its shape (encoding, header, cell counts)."""
    text, problem = decode(path, path.read_bytes())
    problems: list[Problem] = [problem] if problem else []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    header: list[str] = []
    number = 0
    try:
        for number, record in enumerate(reader, start=1):
            if number == 1:
                header = [name.strip() for name in record]
                problems += check_header(table, header)
            elif any(cell.strip() for cell in record):
                if len(record) != len(header):
                    problems.append(malformed(table, number, len(record), len(header)))
                    continue
                cells = {n: c.strip() for n, c in zip(header, record, strict=True) if n}
                rows.append(Row(table, number, cells))
    except csv.Error as error:
        message = (
            f"malformed CSV ({error}) while reading line {reader.line_num}; look for an "
            "unclosed or stray double quote in this row: a quoted cell must end with '\"'"
        )
        problems.append(
            Problem(file=table.file, row=number + 1, line=reader.line_num, message=message)
        )
    if number == 0:
        problems.append(Problem(table.file, "empty file: the header row is missing", row=1))
    return rows, problems


def malformed(table: Table, number: int, cells: int, expected: int) -> Problem:
    message = (
        f"malformed row: it has {cells} cells but the header has {expected}; "
        "a cell holding a comma must be quoted"
    )
    return Problem(file=table.file, row=number, message=message)


def check_header(table: Table, header: list[str]) -> Iterator[Problem]:
    """Unknown, repeated or missing columns, reported on row 1."""
    known = {c.name for c in table.all_columns()}
    expected = ", ".join(c.name for c in table.all_columns())
    seen: set[str] = set()
    for name in header:
        if not name:
            yield Problem(table.file, "a column has no name in the header", row=1)
        elif name in seen:
            yield Problem(table.file, f"column '{name}' appears twice", row=1, field=name)
        elif name not in known:
            message = f"unknown column '{name}'; the columns of {table.file} are: {expected}"
            yield Problem(table.file, message, row=1, field=name)
        seen.add(name)
    for column in table.all_columns():
        if column.required and column.name not in seen:
            message = f"missing required column '{column.name}' ({column.expected()})"
            yield Problem(table.file, message, row=1, field=column.name)

"""Named SPARQL queries: one `.rq` file per question users ask of the graph.

Each file starts with a header of `#` comment lines, `key: value`:

    # title: The four pilot reciprocity contracts
    # description: Which urban and which rural party is in each pilot contract.
    # question: 1           (the competency question it answers, when it does)

The name of a query is its file name without `.rq`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from alliance.namespaces import sparql_prefixes

QUERIES_DIR = Path(__file__).resolve().parent
HEADER_LINE = re.compile(r"^#\s*([A-Za-z_-]+)\s*:\s*(.*)$")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    path: Path
    title: str
    description: str
    text: str
    header: dict[str, str] = field(default_factory=dict)

    def sparql(self) -> str:
        """The query with the project's prefixes declared ahead of its own."""
        return sparql_prefixes() + self.text


def read_query(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        match = HEADER_LINE.match(line)
        if match:
            last = match.group(1).lower()
            header[last] = match.group(2).strip()
        elif last and line.strip("# "):
            header[last] += " " + line.lstrip("#").strip()  # continued value
    return NamedQuery(
        name=path.stem,
        path=path,
        title=header.get("title", path.stem),
        description=header.get("description", ""),
        text=text,
        header=header,
    )


def named_queries(directory: Path = QUERIES_DIR) -> dict[str, NamedQuery]:
    """Every named query in `directory`, by name."""
    return {p.stem: read_query(p) for p in sorted(directory.glob("*.rq"))}

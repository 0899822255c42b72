"""The bundled history of the territories: commune versions since 1943, EPCI members in 2020.

Why a second snapshot: the reference territories (`snapshot.py`) describe France as it is
today, while the curated facts are dated 2015–2016. INSEE's COG history, as packaged by the
`@etalab/decoupage-administratif` data package (version 0.8.0, Licence Ouverte), lists every
version of every commune since 1 January 1943 with its start and end dates, the reason of each
change and the versions before and after it, up to 1 January 2019. The same package carries
the DGCL's list of EPCI à fiscalité propre and their member communes at 1 January 2020 (its
README says so: 0.8.0 is the package's only 2020 vintage, and only for the EPCI).

`rebuild_history` reads the package's two JSON files once and writes a compact, reviewable and
byte-reproducible extract beside this module; `read_versions` and `read_epci_2020` read it back.
Only the versions of type COM (communes proper) are kept: communes déléguées, associées and
"parts" are stages of a merger, not territories the graph reasons about, so each change is
resolved to the COM versions on both sides of it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: Where the committed history lives (this package's folder, beside the reference snapshot).
PACKAGE_DIR = Path(__file__).resolve().parent
HISTORY_JSON = "history.json"
#: Perimeters at past dates that no bundled list gives, from cited sources (maintained by hand).
PERIMETERS_FILE = "perimeters.csv"
PERIMETER_SOURCES_FILE = "perimeter-sources.csv"
#: Mergers and renamings of EPCI, from cited sources (maintained by hand).
EPCI_CHANGES_FILE = "epci-changes.csv"
VERSIONS_FILE = "commune-versions.csv.gz"
EPCI_2020_FILE = "epci-2020.csv.gz"
#: Columns of the two history tables, in file order.
VERSION_COLUMNS = ("code", "nom", "debut", "fin", "raison_debut", "raison_fin", "successeurs")
EPCI_COLUMNS = ("siren", "nom", "nature", "membres")

#: The history's first day: versions without a start date were in force then.
HISTORY_START = "1943-01-01"
#: The history's last day: versions without an end date were still in force then.
HISTORY_END = "2019-01-01"
#: The day the 2020 EPCI list describes.
EPCI_VINTAGE = "2020-01-01"
#: The data package's EPCI types → the natures used by the reference snapshot.
EPCI_TYPES = {"METRO": "ME", "MET69": "ME", "CU": "CU", "CA": "CA", "CC": "CC"}
PACKAGE = "@etalab/decoupage-administratif"


@dataclass(frozen=True)
class CommuneVersion:
    """One version of a commune: its code and name between two dates."""

    code: str
    name: str
    start: str
    end: str  # "" while still in force at HISTORY_END
    start_reason: str
    end_reason: str
    successors: tuple[str, ...]  # keys (`code@start`) of the versions that follow it

    @property
    def key(self) -> str:
        return f"{self.code}@{self.start}"


@dataclass(frozen=True)
class Epci2020:
    siren: str
    name: str
    nature: str
    members: tuple[str, ...]


def read_versions(directory: Path = PACKAGE_DIR) -> Iterator[CommuneVersion]:
    """Every commune version of the bundled history, in file order."""
    for row in _read(directory / VERSIONS_FILE, VERSION_COLUMNS):
        yield CommuneVersion(
            code=row[0],
            name=row[1],
            start=row[2],
            end=row[3],
            start_reason=row[4],
            end_reason=row[5],
            successors=tuple(row[6].split()),
        )


def read_epci_2020(directory: Path = PACKAGE_DIR) -> Iterator[Epci2020]:
    """Every EPCI of the 2020 list with its member communes' codes."""
    for row in _read(directory / EPCI_2020_FILE, EPCI_COLUMNS):
        yield Epci2020(siren=row[0], name=row[1], nature=row[2], members=tuple(row[3].split()))


def _read(path: Path, columns: tuple[str, ...]) -> Iterator[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        if tuple(header) != columns:
            raise ValueError(f"{path}: header is {header}, expected {list(columns)}")
        for number, row in enumerate(reader, start=2):
            if len(row) != len(columns):
                raise ValueError(f"{path}: row {number} has {len(row)} fields")
            yield row


# --- rebuilding ------------------------------------------------------------------------------


def rebuild_history(package_dir: Path, out_dir: Path = PACKAGE_DIR) -> dict[str, object]:
    """Write the history extract from an unpacked data package (its `package/` folder)."""
    meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    entries = json.loads((package_dir / "data/historique-communes.json").read_text("utf-8"))
    epcis = json.loads((package_dir / "data/epci.json").read_text("utf-8"))
    versions = _commune_versions(entries)
    epci_rows: list[tuple[str, ...]] = sorted(
        (
            e["code"],
            e["nom"],
            EPCI_TYPES[e["type"]],
            " ".join(sorted(m["code"] for m in e["membres"])),
        )
        for e in epcis
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / VERSIONS_FILE, VERSION_COLUMNS, versions)
    _write(out_dir / EPCI_2020_FILE, EPCI_COLUMNS, epci_rows)
    summary: dict[str, object] = {
        "package": PACKAGE,
        "version": meta["version"],
        "licence": "Licence Ouverte / Open Licence (data); MIT (the package's code, not used)",
        "history_start": HISTORY_START,
        "history_end": HISTORY_END,
        "epci_vintage": EPCI_VINTAGE,
        "counts": {
            "commune_versions": len(versions),
            "epci_2020": len(epci_rows),
            "communes_valid": {
                day: sum(1 for v in versions if v[2] <= day and (not v[3] or v[3] > day))
                for day in ("2015-01-01", "2016-01-01", "2017-01-01", "2019-01-01")
            },
        },
        "files": {
            name: "sha256:" + hashlib.sha256((out_dir / name).read_bytes()).hexdigest()
            for name in (VERSIONS_FILE, EPCI_2020_FILE)
        },
    }
    (out_dir / HISTORY_JSON).write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return summary


def _commune_versions(entries: list[dict]) -> list[tuple[str, ...]]:
    """The COM versions, each change resolved to the COM versions it leads to."""
    by_id = {e["id"]: e for e in entries}
    coms = [e for e in entries if e["type"] == "COM"]
    ended_on: dict[tuple[str, str], dict] = {
        (e["code"], e["dateFin"]): e for e in coms if e.get("dateFin")
    }

    def key(entry: dict) -> str:
        return f"{entry['code']}@{entry.get('dateDebut') or HISTORY_START}"

    def as_com(entry_id: str | None, on: str) -> dict | None:
        """The COM version an entry stands for: itself, or its pole (the commune it joined)."""
        entry = by_id.get(entry_id or "")
        if entry is None:
            return None
        if entry["type"] == "COM":
            return entry
        pole = by_id.get(entry.get("pole") or "")
        if pole is None:
            return None
        # the pole named may be an older version of that commune: take the one of that day
        return next(
            (
                e
                for e in coms
                if e["code"] == pole["code"]
                and (e.get("dateDebut") or HISTORY_START) <= on
                and (not e.get("dateFin") or e["dateFin"] > on)
            ),
            None,
        )

    successors: dict[str, set[str]] = {key(e): set() for e in coms}
    for e in coms:
        if e.get("dateFin") and e.get("successeur"):
            target = as_com(e["successeur"], e["dateFin"])
            if target is not None and target is not e:
                successors[key(e)].add(key(target))
        start = e.get("dateDebut")
        if start and e.get("predecesseur"):
            before = by_id.get(e["predecesseur"])
            source = before if before and before["type"] == "COM" else None
            if source is None and before is not None:
                # a restored or detached commune: it comes from the commune it was part of
                pole = by_id.get(before.get("pole") or "")
                if pole is not None:
                    source = ended_on.get((pole["code"], start)) or _valid(coms, pole, start)
            if source is not None and source is not e:
                successors[key(source)].add(key(e))
    return [
        (
            e["code"],
            e["nom"],
            e.get("dateDebut") or HISTORY_START,
            e.get("dateFin") or "",
            e.get("raisonDebut") or "",
            e.get("raisonFin") or "",
            " ".join(sorted(successors[key(e)])),
        )
        for e in sorted(coms, key=lambda e: (e["code"], e.get("dateDebut") or HISTORY_START))
    ]


def _valid(coms: list[dict], like: dict, before: str) -> dict | None:
    """The version of `like`'s commune in force the day before `before`."""
    return next(
        (
            e
            for e in coms
            if e["code"] == like["code"]
            and (e.get("dateDebut") or HISTORY_START) < before
            and (not e.get("dateFin") or e["dateFin"] >= before)
        ),
        None,
    )


def _write(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A gzip CSV with mtime 0 and no stored name, so the same input gives the same bytes."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(text.getvalue().encode("utf-8"))
    log.info("wrote %s (%d rows)", path, len(rows))

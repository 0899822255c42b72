"""A small map of one point, drawn as inline SVG on a lon/lat frame of metropolitan France.

Why not a tile map: pages must work offline and must not make browsers call third-party
servers. A coarse outline of the mainland and Corsica is enough to see where a town hall is;
a link to OpenStreetMap at the same coordinates gives the real map to whoever wants it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: The frame: longitudes and latitudes of metropolitan France with a margin.
WEST, EAST, SOUTH, NORTH = -5.5, 10.0, 41.0, 51.5
#: Width of the drawing in SVG units (the height follows from the projection).
WIDTH = 320.0
#: Equirectangular projection true at the frame's middle latitude.
_XSCALE = math.cos(math.radians((SOUTH + NORTH) / 2))
_UNIT = WIDTH / ((EAST - WEST) * _XSCALE)
HEIGHT = round((NORTH - SOUTH) * _UNIT, 1)

# Coarse outlines (lon, lat), a few dozen vertices: a locator, not a cartographic product.
MAINLAND = [
    (2.55, 51.09),
    (3.2, 50.75),
    (4.2, 50.25),
    (4.85, 50.15),
    (4.9, 49.8),
    (5.8, 49.5),
    (6.4, 49.45),
    (7.0, 49.15),
    (8.2, 48.97),
    (7.8, 48.6),
    (7.55, 47.95),
    (7.59, 47.59),
    (6.9, 47.4),
    (6.45, 46.95),
    (6.1, 46.45),
    (6.2, 46.2),
    (6.8, 46.35),
    (6.86, 45.83),
    (7.1, 45.5),
    (6.6, 45.1),
    (7.0, 44.85),
    (6.9, 44.4),
    (7.5, 44.1),
    (7.5, 43.78),
    (7.27, 43.7),
    (6.6, 43.2),
    (5.9, 43.1),
    (5.3, 43.3),
    (4.6, 43.4),
    (4.0, 43.55),
    (3.7, 43.4),
    (3.1, 43.1),
    (3.17, 42.44),
    (2.5, 42.35),
    (1.7, 42.5),
    (0.7, 42.8),
    (-0.3, 42.8),
    (-1.4, 43.1),
    (-1.78, 43.36),
    (-1.55, 43.48),
    (-1.25, 44.6),
    (-1.1, 45.5),
    (-1.2, 46.2),
    (-2.2, 46.9),
    (-2.5, 47.3),
    (-3.0, 47.5),
    (-4.4, 47.8),
    (-4.75, 48.35),
    (-4.6, 48.6),
    (-3.5, 48.85),
    (-2.0, 48.65),
    (-1.5, 48.63),
    (-1.6, 49.2),
    (-1.95, 49.72),
    (-1.6, 49.65),
    (-1.25, 49.7),
    (-1.1, 49.35),
    (-0.3, 49.3),
    (0.1, 49.5),
    (0.6, 49.85),
    (1.1, 49.93),
    (1.6, 50.2),
    (1.6, 50.73),
    (1.85, 50.95),
    (2.37, 51.05),
]
CORSICA = [
    (9.4, 43.0),
    (9.55, 42.7),
    (9.55, 42.1),
    (9.2, 41.37),
    (8.8, 41.6),
    (8.74, 41.92),
    (8.55, 42.4),
    (9.0, 42.7),
    (9.3, 42.85),
]

POINT_WKT = re.compile(
    r"^\s*(?:<[^>]*>\s*)?POINT\s*\(\s*([-+]?\d+(?:\.\d+)?)\s+([-+]?\d+(?:\.\d+)?)\s*\)\s*$",
    re.IGNORECASE,
)


def parse_point(wkt: str) -> tuple[float, float] | None:
    """(lon, lat) of a WKT `POINT(lon lat)` (GeoSPARQL's default CRS is CRS84), else None."""
    match = POINT_WKT.match(wkt)
    if not match:
        return None
    lon, lat = float(match.group(1)), float(match.group(2))
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return lon, lat


def project(lon: float, lat: float) -> tuple[float, float]:
    return round((lon - WEST) * _XSCALE * _UNIT, 1), round((NORTH - lat) * _UNIT, 1)


def _points(outline: list[tuple[float, float]]) -> str:
    return " ".join("{},{}".format(*project(lon, lat)) for lon, lat in outline)


@dataclass(frozen=True)
class PointMap:
    """Everything the template needs to draw the map; numbers and fixed strings only."""

    lon: float
    lat: float
    x: float | None  # None when the point lies outside the frame (overseas)
    y: float | None
    width: float
    height: float
    mainland: str
    corsica: str
    meridians: list[tuple[float, str]]  # x, label
    parallels: list[tuple[float, str]]  # y, label
    osm_url: str


def point_map(lon: float, lat: float) -> PointMap:
    inside = WEST <= lon <= EAST and SOUTH <= lat <= NORTH
    x, y = project(lon, lat) if inside else (None, None)
    meridians = [(project(m, NORTH)[0], f"{m}°") for m in range(-4, 10, 2)]
    parallels = [(project(WEST, p)[1], f"{p}°N") for p in range(42, 52, 2)]
    osm = f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=13/{lat:.6f}/{lon:.6f}"
    return PointMap(
        lon=lon,
        lat=lat,
        x=x,
        y=y,
        width=WIDTH,
        height=HEIGHT,
        mainland=_points(MAINLAND),
        corsica=_points(CORSICA),
        meridians=meridians,
        parallels=parallels,
        osm_url=osm,
    )

"""Académie and département boundaries, simplified for the dashboard maps (Douglas-Peucker, pure numpy).

The reference GeoJSON files (data.education.gouv.fr for académies; IGN Admin Express / INSEE COG via
france-geojson for départements; Licence Ouverte 2.0) hold ~57k and ~150k vertices. The dashboard
needs a few thousand: each ring is simplified with a tolerance in degrees, rings that collapse are
dropped, and coordinates are rounded to 4 decimals (about 10 m).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

ACADEMIES_FILE = "fr-en-contour-academies-2020.geojson"
DEPARTEMENTS_FILE = "departements-avec-outre-mer.geojson"


def _douglas_peucker(points: np.ndarray, tolerance: float) -> np.ndarray:
    """Keep the vertices of a polyline that deviate more than ``tolerance`` from the simplified line."""
    n = len(points)
    if n <= 3:
        return points
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        a, b = points[first], points[last]
        segment = points[first + 1 : last]
        ab = b - a
        norm = np.hypot(*ab)
        if norm == 0:
            distances = np.hypot(*(segment - a).T)
        else:
            distances = np.abs(ab[0] * (segment[:, 1] - a[1]) - ab[1] * (segment[:, 0] - a[0])) / norm
        i = int(np.argmax(distances))
        if distances[i] > tolerance:
            index = first + 1 + i
            keep[index] = True
            stack += [(first, index), (index, last)]
    return points[keep]


def simplify_ring(ring: list, tolerance: float) -> list | None:
    """A closed ring simplified; None when fewer than 4 points (a triangle) are left."""
    points = np.asarray(ring, dtype=float)[:, :2]
    simplified = _douglas_peucker(points, tolerance)
    if len(simplified) < 4:
        return None
    rounded = np.round(simplified, 4)
    return [[float(x), float(y)] for x, y in rounded]


def simplify_geometry(geometry: dict, tolerance: float) -> dict | None:
    """Polygon / MultiPolygon simplified (holes kept when they survive)."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    out = []
    for polygon in polygons:
        rings = [simplify_ring(ring, tolerance) for ring in polygon]
        if rings and rings[0] is not None:
            out.append([rings[0], *(r for r in rings[1:] if r is not None)])
    if not out:
        return None
    return {"type": "MultiPolygon", "coordinates": out}


@lru_cache(maxsize=8)
def _simplified(path: str, mtime_ns: int, code_property: str, name_property: str,
                tolerance: float) -> tuple[tuple[str, str, str], ...]:
    """(code, name, geometry JSON) of every feature of a GeoJSON file, simplified (cached per file version)."""
    rows = []
    for feature in json.loads(Path(path).read_text(encoding="utf-8"))["features"]:
        geometry = simplify_geometry(feature["geometry"], tolerance)
        if geometry:
            props = feature["properties"]
            rows.append((props[code_property], props.get(name_property, props[code_property]),
                         json.dumps(geometry, separators=(",", ":"))))
    return tuple(rows)


def boundary_rows(reference_dir: Path, departement_academie: dict[str, str], names: dict[str, str],
                  tolerance: float = 0.01) -> list[tuple[str, str, str, str | None, str]]:
    """(geo_level, code, name, academie_code, geometry JSON) for every académie and département found."""
    rows = []
    geo = Path(reference_dir) / "geo"
    academies = geo / ACADEMIES_FILE
    if academies.exists():
        for code, name, geometry in _simplified(str(academies.resolve()), academies.stat().st_mtime_ns,
                                                "code_academie", "name", tolerance):
            rows.append(("academie", code, names.get(code, name), code, geometry))
    departements = geo / DEPARTEMENTS_FILE
    if departements.exists():
        for code, name, geometry in _simplified(str(departements.resolve()), departements.stat().st_mtime_ns,
                                                "code", "nom", tolerance / 2):
            rows.append(("departement", code, name, departement_academie.get(code), geometry))
    return rows

"""Buildings as CityJSON 2.0 LoD1 solids (https://www.cityjson.org/specs/2.0.1/).

Each building is a ``Building`` city object with one ``Solid`` geometry of ``lod`` "1": its footprint
extruded from the lowest ground point (``abs_h_min_m``) to ``abs_h_min_m + height_m``. Vertices are in
British National Grid metres with heights above Ordnance Datum Newlyn (``referenceSystem`` EPSG:7405,
OSGB36 / British National Grid + ODN height), stored as integers with ``transform`` (scale 1 mm). Shells
face outwards: the floor counter-clockwise seen from below, the roof counter-clockwise from above, walls
counter-clockwise from outside.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from metaliverpool.atomic import write_text_atomic

CITYJSON_VERSION = "2.0"
REFERENCE_SYSTEM = "https://www.opengis.net/def/crs/EPSG/0/7405"
SCALE_M = 0.001


def _rings(polygon: shapely.Polygon) -> list[np.ndarray]:
    """Exterior (counter-clockwise) then interiors (clockwise), without the closing vertex."""
    oriented = shapely.geometry.polygon.orient(polygon, sign=1.0)
    return [np.asarray(ring.coords)[:-1, :2] for ring in (oriented.exterior, *oriented.interiors)]


def _solid(
    polygon: shapely.Polygon, base_m: float, top_m: float, vertices: list[tuple[float, float, float]]
) -> list:
    """Boundaries of one extruded solid, appending its vertices to ``vertices``."""

    def vertex(x: float, y: float, z: float) -> int:
        vertices.append((x, y, z))
        return len(vertices) - 1

    rings = _rings(polygon)
    bottom = [[vertex(x, y, base_m) for x, y in ring] for ring in rings]
    top = [[vertex(x, y, top_m) for x, y in ring] for ring in rings]
    floor = [list(reversed(ring)) for ring in bottom]
    roof = [list(ring) for ring in top]
    walls = []
    for low, high in zip(bottom, top, strict=True):
        count = len(low)
        for i in range(count):
            j = (i + 1) % count
            walls.append([[low[i], low[j], high[j], high[i]]])
    return [[floor, roof, *walls]]


def buildings_to_cityjson(buildings: pd.DataFrame) -> dict[str, Any]:
    """The CityJSON document of a ``buildings`` table (EPSG:4326 footprints); buildings without a
    height are left out."""
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    vertices: list[tuple[float, float, float]] = []
    objects: dict[str, Any] = {}
    records = [{str(k): v for k, v in r.items()} for r in buildings.to_dict(orient="records")]
    for row in records:
        height, base = float(row["height_m"]), float(row["abs_h_min_m"])
        if not (math.isfinite(height) and math.isfinite(base)) or row["geometry"] is None:
            continue
        projected = shapely.transform(
            row["geometry"], lambda xy: np.column_stack(to_bng.transform(xy[:, 0], xy[:, 1]))
        )
        parts = [p for p in shapely.get_parts(projected) if isinstance(p, shapely.Polygon)]
        geometry = [
            {"type": "Solid", "lod": "1", "boundaries": _solid(part, base, base + height, vertices)}
            for part in parts
        ]
        objects[f"building-{int(row['building_id'])}"] = {
            "type": "Building",
            "attributes": {
                "measuredHeight": round(height, 3),
                "relH2": None
                if not math.isfinite(float(row["rel_h2_m"]))
                else round(float(row["rel_h2_m"]), 3),
                "absHMin": round(base, 3),
                "source": str(row["source"]),
                "confidence": float(row["confidence"]),
            },
            "geometry": geometry,
        }
    points = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    translate = points.min(axis=0) if len(points) else np.zeros(3)
    integers = np.rint((points - translate) / SCALE_M).astype(np.int64)
    return {
        "type": "CityJSON",
        "version": CITYJSON_VERSION,
        "transform": {"scale": [SCALE_M] * 3, "translate": [float(v) for v in translate]},
        "metadata": {"referenceSystem": REFERENCE_SYSTEM},
        "CityObjects": objects,
        "vertices": integers.tolist(),
    }


def write_cityjson(buildings: pd.DataFrame, path: Path) -> Path:
    """Write the buildings as a CityJSON file (atomically); returns the path."""
    write_text_atomic(Path(path), json.dumps(buildings_to_cityjson(buildings), separators=(",", ":")))
    return Path(path)

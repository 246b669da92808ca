"""Write twin tables as GeoJSON layers (RFC 7946, EPSG:4326) that QGIS and web maps open.

``twin_to_geojson(twin, folder)`` writes one ``<table>.geojson`` per table with a geometry column, each a
FeatureCollection whose properties are the table's other columns. Written atomically as a folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.atomic import atomic_directory
from metaliverpool.network.twin import GEOMETRY_TABLES, Twin


def _plain(value: Any) -> Any:
    """A JSON-ready version of a cell value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.ndarray | list | tuple):
        return [_plain(v) for v in value]
    return value


def frame_to_geojson(frame: pd.DataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of ``frame`` (shapely ``geometry`` column, other columns as properties)."""
    geometries = shapely.to_geojson(frame["geometry"].to_numpy())
    columns = [c for c in frame.columns if c != "geometry"]
    records = frame[columns].to_dict(orient="records")
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(geometry) if geometry is not None else None,
            "properties": {k: _plain(v) for k, v in record.items()},
        }
        for geometry, record in zip(geometries, records, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def twin_to_geojson(twin: Twin, folder: Path, tables: tuple[str, ...] | None = None) -> list[Path]:
    """Write the geometry tables of ``twin`` into ``folder`` as ``<table>.geojson``; returns the paths."""
    names = [n for n in twin.tables() if n in GEOMETRY_TABLES and (tables is None or n in tables)]
    with atomic_directory(Path(folder)) as staging:
        for name in names:
            text = json.dumps(frame_to_geojson(twin.tables()[name]), separators=(",", ":"))
            (staging / f"{name}.geojson").write_text(text, encoding="utf-8")
    return [Path(folder) / f"{name}.geojson" for name in names]

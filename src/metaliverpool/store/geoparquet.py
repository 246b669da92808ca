"""GeoParquet 1.0 read/write for pandas DataFrames with a shapely ``geometry`` column.

The geometry is stored as WKB in a binary column named ``geometry``; the file's ``geo`` metadata key
follows GeoParquet 1.0.0 (https://geoparquet.org/releases/v1.0.0/) with CRS EPSG:4326 (longitude,
latitude order, as GeoParquet's default OGC:CRS84), so QGIS, GDAL and geopandas open the files. Tables
without a geometry column are written as plain Parquet. Reading returns shapely geometries again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from metaliverpool.errors import InputError

GEOMETRY_COLUMN = "geometry"
GEOPARQUET_VERSION = "1.0.0"


def _crs_projjson() -> dict[str, Any]:
    """PROJJSON of EPSG:4326."""
    from pyproj import CRS

    return dict(CRS.from_epsg(4326).to_json_dict())


def _geo_metadata(geometries: np.ndarray) -> dict[str, Any]:
    """The GeoParquet ``geo`` metadata for an array of shapely geometries."""
    present = geometries[~shapely.is_missing(geometries)]
    types = sorted({str(name) for name in shapely.get_type_id(present)}) if len(present) else []
    type_names = {
        "0": "Point",
        "1": "LineString",
        "3": "Polygon",
        "4": "MultiPoint",
        "5": "MultiLineString",
        "6": "MultiPolygon",
        "7": "GeometryCollection",
    }
    bbox = list(shapely.total_bounds(present)) if len(present) else []
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": [type_names.get(t, "Unknown") for t in types],
        "crs": _crs_projjson(),
    }
    if bbox and all(np.isfinite(bbox)):
        column["bbox"] = [float(v) for v in bbox]
    return {"version": GEOPARQUET_VERSION, "primary_column": GEOMETRY_COLUMN, "columns": {"geometry": column}}


def table_from_frame(frame: pd.DataFrame) -> pa.Table:
    """Arrow table of ``frame`` with its shapely ``geometry`` column encoded as WKB plus ``geo`` metadata."""
    if GEOMETRY_COLUMN not in frame.columns:
        return pa.Table.from_pandas(frame, preserve_index=False)
    geometries = np.asarray(frame[GEOMETRY_COLUMN].to_numpy(), dtype=object)
    wkb = shapely.to_wkb(geometries)
    plain = frame.drop(columns=[GEOMETRY_COLUMN])
    table = pa.Table.from_pandas(plain, preserve_index=False)
    table = table.append_column(GEOMETRY_COLUMN, pa.array(list(wkb), type=pa.binary()))
    metadata = dict(table.schema.metadata or {})
    metadata[b"geo"] = json.dumps(_geo_metadata(geometries)).encode("utf-8")
    return table.replace_schema_metadata(metadata)


def write_geoparquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` (GeoParquet if it has a ``geometry`` column, else plain Parquet)."""
    pq.write_table(table_from_frame(frame), path, compression="zstd")


def read_geoparquet(path: Path) -> pd.DataFrame:
    """Read a (Geo)Parquet file; a WKB ``geometry`` column comes back as shapely geometries.

    List columns come back as Python lists. Raises :class:`InputError` when the file is missing or is
    not Parquet.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found (expected a Parquet table)")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise InputError(path, f"not a readable Parquet file ({error})") from None
    frame = table.to_pandas()
    for name, column_type in zip(table.schema.names, table.schema.types, strict=True):
        if pa.types.is_list(column_type) or pa.types.is_large_list(column_type):
            frame[name] = [v.tolist() if hasattr(v, "tolist") else list(v or []) for v in frame[name]]
    if GEOMETRY_COLUMN in frame.columns:
        frame[GEOMETRY_COLUMN] = shapely.from_wkb(frame[GEOMETRY_COLUMN].to_numpy())
    return frame

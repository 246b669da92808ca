"""``metaliverpool survey``: buildings, heights and road widths from survey data (``docs/survey.md``).

- ``survey buildings (--dsm F --dtm F [--ortho F] | --points F...) --out FILE [--footprints F]``: the
  buildings alone, as GeoParquet (``.parquet``), GeoJSON (``.geojson``/``.json``), CityJSON LoD1
  (``.city.json``) or a 3D Tiles folder (``.3dtiles``: ``tileset.json`` + ``buildings.glb``), chosen by
  extension.
- ``survey ingest --twin DIR (--dsm F --dtm F [--ortho F] | --points F...) --out DIR [--footprints F]``:
  a copy of the twin with ``buildings`` and ``kerbs`` tables, the link columns ``measured_width_m``,
  ``width_stations`` and ``lane_check``, and the survey's provenance in the manifest (``survey``).

Both print one JSON line last. Bad input (a corrupt LAS, a DSM without a CRS, DSM and DTM grids that
differ, an unknown extension) exits with code 2 and one line naming the file; nothing is written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer

from metaliverpool.atomic import write_bytes_atomic, write_text_atomic
from metaliverpool.errors import InputError
from metaliverpool.ingest.survey import enrich_twin, footprint_heights, read_footprints, survey_buildings
from metaliverpool.ingest.survey_points import PointSurvey
from metaliverpool.ingest.survey_raster import BRITISH_NATIONAL_GRID, RasterSurvey
from metaliverpool.ingest.survey_source import GridSource
from metaliverpool.network.twin import TABLE_COLUMNS
from metaliverpool.store.bundle import read_manifest, read_optional_table, read_twin, write_twin
from metaliverpool.store.cityjson import write_cityjson
from metaliverpool.store.geojson import frame_to_geojson
from metaliverpool.store.geoparquet import table_from_frame
from metaliverpool.store.tiles3d import write_3dtiles
from metaliverpool.survey.config import SurveyConfig

BUILDINGS_TABLE = "buildings"
KERBS_TABLE = "kerbs"
SURVEY_TABLES = (BUILDINGS_TABLE, KERBS_TABLE)
"""Optional twin tables ``survey ingest`` writes (replaced when a twin is enriched again)."""
OUTPUT_FORMATS = {
    ".parquet": "geoparquet",
    ".geojson": "geojson",
    ".json": "geojson",
    ".city.json": "cityjson",
    ".3dtiles": "3dtiles",
}
"""``survey buildings --out`` extensions and the format each writes."""


def register(app: typer.Typer) -> None:
    """Add the ``survey`` command group to ``app``."""
    group = typer.Typer(help="Buildings, heights and road widths from survey data (LiDAR, drone).")
    group.command(name="buildings", help="Building footprints and heights from a DSM/DTM or point cloud.")(
        buildings_command
    )
    group.command(name="ingest", help="A twin copy with buildings, measured road widths and lane checks.")(
        ingest_command
    )
    app.add_typer(group, name="survey")


def output_format(path: Path) -> str:
    """The format of ``--out`` by its extension, or :class:`InputError`."""
    name = path.name.lower()
    for extension, kind in sorted(OUTPUT_FORMATS.items(), key=lambda item: -len(item[0])):
        if name.endswith(extension):
            return kind
    raise InputError(path, f"unknown extension (expected one of {', '.join(OUTPUT_FORMATS)})", where="--out")


def open_survey(
    dsm: Path | None, dtm: Path | None, points: list[Path], crs: str, cell_m: float, ortho: Path | None = None
) -> GridSource:
    """The survey given on the command line: a DSM and a DTM (and an orthophoto), or point clouds."""
    if points and (dsm or dtm):
        raise InputError("--points", "give either --dsm and --dtm, or --points, not both")
    if points and ortho:
        raise InputError(
            "--ortho", "an orthophoto goes with --dsm and --dtm (a classified cloud has no need)"
        )
    if points:
        return PointSurvey(points, cell_m=cell_m, crs=crs)
    if dsm is None or dtm is None:
        raise InputError("--dsm/--dtm", "give both --dsm and --dtm (or --points)")
    return RasterSurvey(dsm, dtm, crs=crs, ortho_path=ortho, green_index=SurveyConfig().green_index)


def write_buildings(buildings: pd.DataFrame, path: Path) -> None:
    """Write the buildings in the format of ``path``'s extension, atomically."""
    kind = output_format(path)
    if kind == "geoparquet":
        sink = pa.BufferOutputStream()
        pq.write_table(table_from_frame(buildings), sink, compression="zstd")
        write_bytes_atomic(path, sink.getvalue().to_pybytes())
    elif kind == "geojson":
        write_text_atomic(path, json.dumps(frame_to_geojson(buildings), separators=(",", ":")))
    elif kind == "cityjson":
        write_cityjson(buildings, path)
    else:
        write_3dtiles(buildings, path)


def summary(buildings: pd.DataFrame, started: float) -> dict[str, object]:
    """The JSON line's building part."""
    heights = buildings["height_m"].to_numpy(dtype=float) if len(buildings) else np.empty(0)
    finite = heights[np.isfinite(heights)]
    return {
        "buildings": len(buildings),
        "with_height": len(finite),
        "median_height_m": round(float(np.median(finite)), 2) if len(finite) else None,
        "seconds": round(time.perf_counter() - started, 2),
    }


SOURCE_OPTIONS = {
    "dsm": typer.Option(None, "--dsm", help="Digital surface model (GeoTIFF, any CRS)."),
    "dtm": typer.Option(None, "--dtm", help="Digital terrain model on the DSM's grid (GeoTIFF)."),
    "points": typer.Option([], "--points", help="Classified point clouds (LAS/LAZ); repeat for more files."),
    "footprints": typer.Option(
        None, "--footprints", help="GeoJSON footprints (EPSG:4326, e.g. OSM buildings) to give heights to."
    ),
    "ortho": typer.Option(
        None, "--ortho", help="Orthophoto (GeoTIFF, RGB) on or near the DSM's area: green cells are trees."
    ),
    "crs": typer.Option(BRITISH_NATIONAL_GRID, "--crs", help="Metric projection to work in."),
    "cell": typer.Option(1.0, "--cell", help="Grid cell (m) for point clouds."),
}


def buildings_command(
    out: Path = typer.Option(
        ..., "--out", help="Output: .parquet (GeoParquet), .geojson, .city.json or a .3dtiles folder."
    ),
    dsm: Path | None = SOURCE_OPTIONS["dsm"],
    dtm: Path | None = SOURCE_OPTIONS["dtm"],
    points: list[Path] = SOURCE_OPTIONS["points"],
    footprints: Path | None = SOURCE_OPTIONS["footprints"],
    ortho: Path | None = SOURCE_OPTIONS["ortho"],
    crs: str = SOURCE_OPTIONS["crs"],
    cell: float = SOURCE_OPTIONS["cell"],
) -> None:
    """Extract (or measure given) buildings and write them; print the summary JSON line."""
    started = time.perf_counter()
    output_format(out)
    given = read_footprints(footprints) if footprints else None
    config = SurveyConfig()
    source = open_survey(dsm, dtm, points, crs, cell, ortho)
    try:
        buildings = (
            footprint_heights(source, given, config)
            if given is not None
            else survey_buildings(source, config)
        )
    finally:
        if isinstance(source, RasterSurvey):
            source.close()
    write_buildings(buildings, out)
    print(json.dumps({"out": str(out), **summary(buildings, started)}))


def ingest_command(
    twin: Path = typer.Option(..., "--twin", help="Twin bundle folder."),
    out: Path = typer.Option(..., "--out", help="Folder of the enriched twin copy."),
    dsm: Path | None = SOURCE_OPTIONS["dsm"],
    dtm: Path | None = SOURCE_OPTIONS["dtm"],
    points: list[Path] = SOURCE_OPTIONS["points"],
    footprints: Path | None = SOURCE_OPTIONS["footprints"],
    ortho: Path | None = SOURCE_OPTIONS["ortho"],
    crs: str = SOURCE_OPTIONS["crs"],
    cell: float = SOURCE_OPTIONS["cell"],
) -> None:
    """Write a copy of ``twin`` enriched by the survey; print the summary JSON line."""
    started = time.perf_counter()
    manifest = read_manifest(twin)
    base = read_twin(twin)
    optional = [n for n in manifest.get("tables", {}) if n not in TABLE_COLUMNS and n not in SURVEY_TABLES]
    extra = {name: read_optional_table(twin, name) for name in optional}
    given = read_footprints(footprints) if footprints else None
    source = open_survey(dsm, dtm, points, crs, cell, ortho)
    try:
        enriched, buildings, kerbs = enrich_twin(base, source, SurveyConfig(), given)
    finally:
        if isinstance(source, RasterSurvey):
            source.close()
    tables = {name: frame for name, frame in extra.items() if frame is not None}
    write_twin(enriched, out, extra_tables={**tables, BUILDINGS_TABLE: buildings, KERBS_TABLE: kerbs})
    record = enriched.manifest["survey"]
    line = {
        "out": str(out),
        **summary(buildings, started),
        "links_measured": record["links_measured"],
        "lane_check": record["lane_check"],
    }
    print(json.dumps(line))

"""Buildings, heights and carriageway widths of a survey (DSM/DTM rasters or LAS/LAZ clouds).

Streams the survey grid tile by tile (:meth:`GridSource.tiles`) through the engine of
:mod:`metaliverpool.survey`, then reads the cells around each footprint and each road link again for
heights and widths. Output geometries are in EPSG:4326 like every twin table (``docs/survey.md``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from metaliverpool.errors import InputError
from metaliverpool.ingest.build import code_version
from metaliverpool.ingest.catalogue import file_record
from metaliverpool.ingest.survey_source import GridSource
from metaliverpool.network.twin import Twin
from metaliverpool.survey.config import SurveyConfig
from metaliverpool.survey.footprints import (
    building_mask,
    footprints_from_pieces,
    pieces_from_mask,
    touches_edge,
)
from metaliverpool.survey.heights import building_heights, height_confidence
from metaliverpool.survey.widths import WidthResult, carriageway_width, lane_check

TILE_CELLS = 1024
"""Side of the tiles the grid is streamed in (cells)."""

BUILDING_COLUMNS = (
    "building_id",
    "height_m",
    "rel_h2_m",
    "abs_h_min_m",
    "abs_h2_m",
    "abs_h_max_m",
    "area_m2",
    "source",
    "confidence",
    "geometry",
)
"""Columns of the ``buildings`` table (``docs/survey.md``)."""


def overlap_cells(config: SurveyConfig) -> int:
    """Tile overlap that makes every core cell's mask independent of the tiling: the roughness window's
    radius, plus one cell each for the interior erosion, the second differences and the 3 x 3 opening
    (two passes)."""
    return config.window_cells // 2 + 4


def transformer_to_wgs84(crs: object) -> Transformer:
    """Projected (x, y) in ``crs`` to longitude, latitude."""
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def transformer_from_wgs84(crs: object) -> Transformer:
    """Longitude, latitude to projected (x, y) in ``crs``."""
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def project(geometries: np.ndarray, transformer: Transformer) -> np.ndarray:
    """Geometries with every coordinate passed through ``transformer`` (x, y order)."""
    return shapely.transform(
        geometries, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )


def extract_footprints(
    source: GridSource, config: SurveyConfig, tile_cells: int = TILE_CELLS
) -> list[shapely.Polygon]:
    """Building outlines of the whole survey (projected metres), streamed tile by tile."""
    inner: list[shapely.Polygon] = []
    edge: list[shapely.Polygon] = []
    for tile in source.tiles(tile_cells, overlap_cells(config)):
        box = tile.core_box()
        for piece in pieces_from_mask(building_mask(tile, config), tile):
            (edge if touches_edge(piece, box) else inner).append(piece)
    return footprints_from_pieces(inner, edge, config)


def buildings_table(
    source: GridSource, footprints: list[shapely.Geometry], label: str, config: SurveyConfig
) -> pd.DataFrame:
    """The ``buildings`` table of ``footprints`` (projected metres): OS height attributes, area, source
    and confidence; ``height_m`` is RelHMax. Footprints outside the survey get NaN heights, confidence 0."""
    rows = []
    margin = 2 * source.cell_m
    for footprint in footprints:
        heights = building_heights(footprint, source.window_around(footprint.bounds, margin))
        rows.append(
            {
                "height_m": heights.rel_h_max_m,
                "rel_h2_m": heights.rel_h2_m,
                "abs_h_min_m": heights.abs_h_min_m,
                "abs_h2_m": heights.abs_h2_m,
                "abs_h_max_m": heights.abs_h_max_m,
                "area_m2": float(footprint.area),
                "source": label,
                "confidence": height_confidence(heights),
            }
        )
    frame = pd.DataFrame(rows, columns=[c for c in BUILDING_COLUMNS if c not in ("building_id", "geometry")])
    frame.insert(0, "building_id", np.arange(len(frame), dtype=np.int32))
    geometries = np.asarray(footprints, dtype=object)
    frame["geometry"] = (
        project(geometries, transformer_to_wgs84(source.crs)) if len(geometries) else geometries
    )
    return frame


def survey_buildings(source: GridSource, config: SurveyConfig, tile_cells: int = TILE_CELLS) -> pd.DataFrame:
    """Footprints extracted from the survey, with their heights."""
    return buildings_table(source, extract_footprints(source, config, tile_cells), source.kind, config)


def footprint_heights(
    source: GridSource, footprints_wgs84: pd.DataFrame, config: SurveyConfig
) -> pd.DataFrame:
    """Heights of given footprints (``geometry`` in EPSG:4326, e.g. OSM buildings); their other columns
    are kept, and ``source`` says ``footprints+<survey kind>``."""
    projected = project(
        np.asarray(footprints_wgs84["geometry"].to_numpy(), dtype=object), transformer_from_wgs84(source.crs)
    )
    table = buildings_table(source, list(projected), f"footprints+{source.kind}", config)
    table["geometry"] = footprints_wgs84["geometry"].to_numpy()
    extra = footprints_wgs84.drop(columns=[c for c in footprints_wgs84.columns if c in BUILDING_COLUMNS])
    return pd.concat([table, extra.reset_index(drop=True)], axis=1)


def carriageway_lanes(links: pd.DataFrame) -> np.ndarray:
    """Lanes of each link's whole carriageway: its own, plus the opposite direction's on a two-way way."""
    lanes = links["lanes"].to_numpy(dtype=np.int64)
    key = pd.Series(
        lanes,
        index=pd.MultiIndex.from_arrays([links["osm_way_id"], links["from_node_id"], links["to_node_id"]]),
    )
    key = key[~key.index.duplicated()]
    reverse = pd.MultiIndex.from_arrays([links["osm_way_id"], links["to_node_id"], links["from_node_id"]])
    opposite = key.reindex(reverse).fillna(0).to_numpy(dtype=np.int64)
    return lanes + opposite


KERB_COLUMNS = ("link_id", "osm_way_id", "side", "offset_m", "geometry")
"""Columns of the ``kerbs`` table: one kerb (or wall) line per side of each measured carriageway."""


def link_widths(
    source: GridSource, links: pd.DataFrame, config: SurveyConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per link (in ``links`` order): ``measured_width_m`` (NaN where not measured: tunnels, links off the
    survey, no edges found), ``width_stations`` and ``lane_check``; and the ``kerbs`` table: the kerb
    lines of each measured carriageway once (the first link over it), EPSG:4326."""
    projected = project(
        np.asarray(links["geometry"].to_numpy(), dtype=object), transformer_from_wgs84(source.crs)
    )
    tunnels = links["tunnel"].to_numpy(dtype=bool) if "tunnel" in links else np.zeros(len(links), dtype=bool)
    lanes = carriageway_lanes(links)
    widths = np.full(len(links), np.nan)
    stations = np.zeros(len(links), dtype=np.int32)
    measured: dict[bytes, WidthResult] = {}
    kerbs = []
    for i, line in enumerate(projected):
        if tunnels[i] or line is None or line.is_empty:
            continue
        key = shapely.to_wkb(shapely.normalize(line))
        if key not in measured:
            window = source.window_around(line.bounds, config.max_half_width_m + 2 * source.cell_m)
            result = carriageway_width(window, line, config) if window.dsm_m.size else WidthResult(np.nan, 0)
            measured[key] = result
            if np.isfinite(result.width_m):
                for side, offset in (("left", result.left_m), ("right", -result.right_m)):
                    kerb = line.offset_curve(offset)
                    kerbs.append(
                        (int(links["link_id"].iloc[i]), int(links["osm_way_id"].iloc[i]), side, offset, kerb)
                    )
        widths[i], stations[i] = measured[key].width_m, measured[key].stations
    checks = [lane_check(float(w), int(n), config) for w, n in zip(widths, lanes, strict=True)]
    columns = pd.DataFrame({"measured_width_m": widths, "width_stations": stations, "lane_check": checks})
    kerb_table = pd.DataFrame(kerbs, columns=list(KERB_COLUMNS))
    if len(kerb_table):
        geometries = np.asarray(kerb_table["geometry"].to_numpy(), dtype=object)
        kerb_table["geometry"] = project(geometries, transformer_to_wgs84(source.crs))
    return columns, kerb_table


def survey_record(source: GridSource, config: SurveyConfig) -> dict[str, object]:
    """Provenance of a survey for a manifest: the files read (with SHA-256), grid, CRS and parameters."""
    files = []
    for entry in source.provenance():
        record = file_record(Path(str(entry["path"])))
        files.append({**entry, "sha256": record.get("sha256", "")})
    return {
        "kind": source.kind,
        "files": files,
        "crs": source.crs.to_string(),
        "cell_m": source.cell_m,
        "grid_cells": [source.rows, source.cols],
        "config": dataclasses.asdict(config),
        "code_version": code_version(),
    }


def enrich_twin(
    twin: Twin, source: GridSource, config: SurveyConfig, footprints: pd.DataFrame | None = None
) -> tuple[Twin, pd.DataFrame, pd.DataFrame]:
    """A copy of ``twin`` with the survey's link columns (``measured_width_m``, ``width_stations``,
    ``lane_check``) and the manifest's ``survey`` record; the ``buildings`` table (heights of the given
    ``footprints``, EPSG:4326, e.g. OSM buildings, when there are any, else extracted ones); and the
    ``kerbs`` table (:func:`link_widths`)."""
    if footprints is not None:
        buildings = footprint_heights(source, footprints, config)
    else:
        buildings = survey_buildings(source, config)
    widths, kerbs = link_widths(source, twin.links, config)
    links = twin.links.drop(columns=[c for c in widths.columns if c in twin.links.columns])
    links = pd.concat([links.reset_index(drop=True), widths], axis=1)
    record = survey_record(source, config)
    record["buildings"] = len(buildings)
    record["building_source"] = "footprints" if footprints is not None else "extracted"
    record["links_measured"] = int(np.isfinite(widths["measured_width_m"]).sum())
    record["lane_check"] = {k: int(v) for k, v in widths["lane_check"].value_counts().sort_index().items()}
    manifest = {**twin.manifest, "survey": record}
    return dataclasses.replace(twin, links=links, manifest=manifest), buildings, kerbs


def read_footprints(path: Path) -> pd.DataFrame:
    """Building footprints from a GeoJSON FeatureCollection (EPSG:4326 Polygons or MultiPolygons, e.g.
    OSM buildings); properties become columns. Raises :class:`InputError` naming the feature."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found (expected a GeoJSON FeatureCollection of footprints)")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(path, f"not valid JSON ({error})") from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise InputError(path, "expected a GeoJSON FeatureCollection", where="field 'features'")
    rows = []
    for number, feature in enumerate(features):
        try:
            geometry = shapely.geometry.shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError, shapely.errors.GEOSException) as error:
            raise InputError(path, f"unreadable geometry ({error})", where=f"feature {number}") from None
        if not isinstance(geometry, shapely.Polygon | shapely.MultiPolygon) or geometry.is_empty:
            raise InputError(
                path,
                f"expected a Polygon or MultiPolygon, found {geometry.geom_type}",
                where=f"feature {number}",
            )
        properties = feature.get("properties") or {}
        rows.append({**{f"footprint_{k}": v for k, v in properties.items()}, "geometry": geometry})
    return pd.DataFrame(rows) if rows else pd.DataFrame({"geometry": pd.Series([], dtype=object)})

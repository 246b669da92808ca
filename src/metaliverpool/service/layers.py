"""Map layers of a twin, encoded compactly for the web map (columnar binary, no GeoJSON).

Format ``MLL1`` (little-endian), read by ``web/src/layers.ts``::

    b"MLL1"  uint32 header_length  header (UTF-8 JSON)  zero padding to 8 bytes  column buffers

The header is ``{"layer": name, "count": rows, "columns": {name: {"dtype", "offset", "length"}},
"categories": {name: [values]}}``: ``offset`` is in bytes from the start of the buffers (each buffer is
8-byte aligned), ``length`` in elements. A categorical column holds ``uint16`` codes into its list in
``categories``. Geometry is flattened: ``positions`` (float32 lon, lat pairs, degrees) with ``path_start``
(uint32, rows + 1 vertex offsets) for lines, and ``ring_start`` (vertex offsets) with ``polygon_start``
(ring offsets, rows + 1) for polygons (multi-polygons are split into one row per part). Float32 keeps
positions to about 2 cm here. OSM ids travel as float64 (exact below 2**53).
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.network.twin import Twin

MAGIC = b"MLL1"
LAYER_NAMES = ("links", "zones", "services", "junctions", "bus_stops")


def encode_columns(
    layer: str, count: int, columns: dict[str, np.ndarray], categories: dict[str, list[str]]
) -> bytes:
    """Pack named numpy columns into one ``MLL1`` buffer."""
    header_columns: dict[str, dict[str, Any]] = {}
    chunks: list[bytes] = []
    offset = 0
    for name, values in columns.items():
        array = np.ascontiguousarray(values)
        data = array.tobytes()
        header_columns[name] = {"dtype": array.dtype.name, "offset": offset, "length": int(array.size)}
        padding = (-len(data)) % 8
        chunks.append(data + b"\0" * padding)
        offset += len(data) + padding
    header = json.dumps(
        {"layer": layer, "count": count, "columns": header_columns, "categories": categories},
        separators=(",", ":"),
    ).encode("utf-8")
    header += b" " * ((-(8 + len(header))) % 8)
    return MAGIC + struct.pack("<I", len(header)) + header + b"".join(chunks)


def decode_columns(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The header and the columns of an ``MLL1`` buffer (the inverse of :func:`encode_columns`)."""
    if data[:4] != MAGIC:
        raise ValueError("not an MLL1 layer")
    (length,) = struct.unpack_from("<I", data, 4)
    header = json.loads(data[8 : 8 + length])
    base = 8 + length
    columns = {
        name: np.frombuffer(data, dtype=spec["dtype"], count=spec["length"], offset=base + spec["offset"])
        for name, spec in header["columns"].items()
    }
    return header, columns


def _categorical(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(values.fillna("").astype(str), sort=True)
    return codes.astype(np.uint16), [str(value) for value in uniques]


def encode_links(twin: Twin) -> bytes:
    """Road links as paths with class, lanes, speed limit, capacity, name and OSM way id."""
    links = twin.links
    coords, index = shapely.get_coordinates(np.asarray(links["geometry"].to_numpy()), return_index=True)
    counts = np.bincount(index, minlength=len(links))
    path_start = np.zeros(len(links) + 1, dtype=np.uint32)
    np.cumsum(counts, out=path_start[1:])
    highway, highway_values = _categorical(links["highway"])
    name, name_values = _categorical(links["name"])
    access, access_values = _categorical(links["access"])
    columns = {
        "positions": coords.astype(np.float32).ravel(),
        "path_start": path_start,
        "link_id": links["link_id"].to_numpy(np.int32),
        "osm_way_id": links["osm_way_id"].to_numpy(np.float64),
        "lanes": links["lanes"].to_numpy(np.float32),
        "speed_limit_mps": links["speed_limit_mps"].to_numpy(np.float32),
        "capacity_vph": links["capacity_vph"].to_numpy(np.float32),
        "length_m": links["length_m"].to_numpy(np.float32),
        "highway": highway,
        "name": name,
        "access": access,
    }
    return encode_columns(
        "links",
        len(links),
        columns,
        {"highway": highway_values, "name": name_values, "access": access_values},
    )


def flatten_polygons(geometries: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``positions``, ``ring_start`` and ``polygon_start`` columns of polygons and multi-polygons (each
    part one row), and the index of the geometry each row came from."""
    polygons, owner = shapely.get_parts(geometries, return_index=True)
    ring_start: list[int] = [0]
    polygon_start: list[int] = [0]
    chunks: list[np.ndarray] = []
    vertices = 0
    for polygon in polygons:
        rings = [polygon.exterior, *polygon.interiors] if isinstance(polygon, shapely.Polygon) else []
        for ring in rings:
            ring_coords = np.asarray(ring.coords)[:, :2]
            chunks.append(ring_coords)
            vertices += len(ring_coords)
            ring_start.append(vertices)
        polygon_start.append(len(ring_start) - 1)
    positions = np.concatenate(chunks).astype(np.float32).ravel() if chunks else np.zeros(0, np.float32)
    columns = {
        "positions": positions,
        "ring_start": np.asarray(ring_start, dtype=np.uint32),
        "polygon_start": np.asarray(polygon_start, dtype=np.uint32),
    }
    return columns, owner


def encode_zones(twin: Twin) -> bytes:
    """Zones (LSOAs) as polygons with population and IMD decile; multi-polygons split into parts."""
    zones = twin.zones.reset_index(drop=True)
    geometry, owner = flatten_polygons(np.asarray(zones["geometry"].to_numpy()))
    code, code_values = _categorical(zones["zone_code"].iloc[owner])
    kind, kind_values = _categorical(zones["kind"].iloc[owner])
    names = zones["name"] if "name" in zones.columns else pd.Series([""] * len(zones))
    name, name_values = _categorical(names.fillna("").astype(str).iloc[owner])
    columns = {
        **geometry,
        "zone_id": zones["zone_id"].to_numpy(np.int32)[owner],
        "population": zones["population"].fillna(0).to_numpy(np.float32)[owner],
        "imd_decile": zones["imd_decile"].fillna(0).to_numpy(np.float32)[owner],
        "zone_code": code.astype(np.uint16),
        "kind": kind,
        "name": name.astype(np.uint16),
    }
    categories = {"zone_code": code_values, "kind": kind_values, "name": name_values}
    return encode_columns("zones", len(owner), columns, categories)


def encode_buildings(buildings: pd.DataFrame) -> bytes:
    """A twin's ``buildings`` table (``docs/survey.md``) as polygons for 3D extrusion: ``height_m``
    (RelHMax, metres above the lowest ground point; NaN when unmeasured), ``rel_h2_m`` (roof base, m),
    ``confidence`` (0-1), ``building_id`` and ``source``; multi-polygons split into parts."""
    buildings = buildings.reset_index(drop=True)
    geometry, owner = flatten_polygons(np.asarray(buildings["geometry"].to_numpy()))
    source, source_values = _categorical(buildings["source"].iloc[owner])
    columns = {
        **geometry,
        "building_id": buildings["building_id"].to_numpy(np.int32)[owner],
        "height_m": buildings["height_m"].to_numpy(np.float32)[owner],
        "rel_h2_m": buildings["rel_h2_m"].to_numpy(np.float32)[owner],
        "confidence": buildings["confidence"].to_numpy(np.float32)[owner],
        "source": source,
    }
    return encode_columns("buildings", len(owner), columns, {"source": source_values})


def encode_points(layer: str, frame: pd.DataFrame, numeric: dict[str, str], text: tuple[str, ...]) -> bytes:
    """Points (``lon``, ``lat``) with numeric columns (name -> dtype) and categorical text columns."""
    positions = np.column_stack(
        [frame["lon"].to_numpy(np.float64), frame["lat"].to_numpy(np.float64)]
    ).astype(np.float32)
    columns: dict[str, np.ndarray] = {"positions": positions.ravel()}
    categories: dict[str, list[str]] = {}
    for name, dtype in numeric.items():
        columns[name] = frame[name].to_numpy(dtype)
    for name in text:
        columns[name], categories[name] = _categorical(frame[name])
    return encode_columns(layer, len(frame), columns, categories)


def first_osm_node(values: pd.Series) -> np.ndarray:
    """The first OSM node id of each junction (float64), or -1 when it has none."""
    return np.asarray([float(ids[0]) if len(ids) else -1.0 for ids in values], dtype=np.float64)


def encode_link_change(links: pd.DataFrame) -> bytes:
    """A run's link flow change (``links.parquet`` of the scenario pipeline) for the difference map.

    Columns: ``link_id`` (the base twin's link id, int32), ``baseline_vph``, ``scenario_vph`` and
    ``change_vph`` (float32, vehicles per hour, mean over seeds).
    """
    columns = {
        "link_id": links["base_link_id"].to_numpy(np.int32),
        "baseline_vph": links["baseline_vph"].to_numpy(np.float32),
        "scenario_vph": links["scenario_vph"].to_numpy(np.float32),
        "change_vph": links["change_vph"].to_numpy(np.float32),
    }
    return encode_columns("link_change", len(links), columns, {})


def encode_layer(twin: Twin, layer: str) -> bytes:
    """The ``MLL1`` encoding of one of :data:`LAYER_NAMES`."""
    if layer == "links":
        return encode_links(twin)
    if layer == "zones":
        return encode_zones(twin)
    if layer == "services":
        return encode_points("services", twin.services, {"service_id": "int32"}, ("kind", "name"))
    if layer == "junctions":
        junctions = twin.junctions.copy()
        junctions["osm_node_id"] = first_osm_node(junctions["osm_node_ids"])
        return encode_points(
            "junctions", junctions, {"junction_id": "int32", "osm_node_id": "float64"}, ("control",)
        )
    if layer == "bus_stops":
        stops = twin.bus_stops.copy()
        stops["osm_node_id"] = stops["osm_node_id"].astype(np.float64)
        return encode_points("bus_stops", stops, {"osm_node_id": "float64"}, ("name",))
    raise KeyError(layer)

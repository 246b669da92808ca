"""Buildings as OGC 3D Tiles 1.1: one tile of LoD1 extrusions in binary glTF 2.0.

Written by hand because py3dtiles 12.1.1 requires numpy < 2.4 and numba < 0.64 (the project runs newer
ones). The folder holds ``tileset.json`` (3D Tiles 1.1, https://docs.ogc.org/cs/22-025r4/22-025r4.html)
and ``buildings.glb`` (glTF 2.0 binary, https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html):

- each footprint is extruded from 0 to ``height_m`` (RelHMax) in a local east-north-up frame at the
  buildings' centre (ground-relative, so the buildings stand on a map without terrain; the survey's ODN
  heights are in the CityJSON export); footprints are laid flat in a transverse Mercator projection
  centred there, so over a survey a few km across the frame departs from the ellipsoid by d^2 / 2R
  (0.3 m at 2 km);
- the root tile's ``transform`` takes that frame to Earth-centred coordinates (EPSG:4978); its
  ``boundingVolume`` is a ``region`` (radians, metres);
- glTF is y-up, so a local (east, north, up) vertex is stored as (east, up, -north), as the 3D Tiles
  specification's y-up to z-up convention expects;
- one mesh, flat normals, unsigned 32-bit indices; each solid (roof, floor, walls) is closed with its
  triangles counter-clockwise seen from outside.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from metaliverpool.atomic import atomic_directory

GLB_MAGIC = 0x46546C67
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
FLOAT, UNSIGNED_INT = 5126, 5125
CONTENT = "buildings.glb"


def enu_frame(lon_deg: float, lat_deg: float) -> np.ndarray:
    """4 x 4 matrix from local east-north-up metres at (lon, lat, 0) to Earth-centred metres."""
    x, y, z = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True).transform(lon_deg, lat_deg, 0.0)
    lon, lat = math.radians(lon_deg), math.radians(lat_deg)
    east = [-math.sin(lon), math.cos(lon), 0.0]
    north = [-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)]
    up = [math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)]
    frame = np.eye(4)
    frame[:3, 0], frame[:3, 1], frame[:3, 2], frame[:3, 3] = east, north, up, (x, y, z)
    return frame


def _triangles(polygon: shapely.Polygon) -> list[np.ndarray]:
    """Triangles (3 x 2 arrays, counter-clockwise) covering ``polygon``."""
    out = []
    for triangle in shapely.get_parts(shapely.constrained_delaunay_triangles(polygon)):
        ring = np.asarray(shapely.geometry.polygon.orient(triangle, sign=1.0).exterior.coords)[:3]
        out.append(ring)
    return out


def extrusion_triangles(polygon: shapely.Polygon, height_m: float) -> np.ndarray:
    """Triangles (n x 3 x 3, local east-north-up metres) of the closed extrusion of ``polygon``."""
    triangles = []
    for flat in _triangles(polygon):
        triangles.append(np.column_stack([flat, np.full(3, height_m)]))  # roof, facing up
        triangles.append(np.column_stack([flat[::-1], np.zeros(3)]))  # floor, facing down
    oriented = shapely.geometry.polygon.orient(polygon, sign=1.0)
    for ring in (oriented.exterior, *oriented.interiors):
        coords = np.asarray(ring.coords)
        for (x0, y0), (x1, y1) in itertools.pairwise(coords[:, :2]):
            low0, low1 = (x0, y0, 0.0), (x1, y1, 0.0)
            high0, high1 = (x0, y0, height_m), (x1, y1, height_m)
            triangles.append(np.array([low0, low1, high1]))
            triangles.append(np.array([low0, high1, high0]))
    return np.asarray(triangles, dtype=np.float64).reshape(-1, 3, 3)


def _glb(positions: np.ndarray, normals: np.ndarray) -> bytes:
    """A binary glTF of one triangle mesh (positions and normals float32 n x 3, glTF axes)."""
    indices = np.arange(len(positions), dtype=np.uint32)
    blobs = [positions.astype(np.float32).tobytes(), normals.astype(np.float32).tobytes(), indices.tobytes()]
    offsets = np.cumsum([0, *[len(b) for b in blobs]])
    document: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "metaliverpool.store.tiles3d"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}, "indices": 2, "mode": 4}]}],
        "buffers": [{"byteLength": int(offsets[-1])}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": int(offsets[0]), "byteLength": len(blobs[0]), "target": ARRAY_BUFFER},
            {"buffer": 0, "byteOffset": int(offsets[1]), "byteLength": len(blobs[1]), "target": ARRAY_BUFFER},
            {
                "buffer": 0,
                "byteOffset": int(offsets[2]),
                "byteLength": len(blobs[2]),
                "target": ELEMENT_ARRAY_BUFFER,
            },
        ],
        "accessors": [
            {
                "bufferView": 0,
                "componentType": FLOAT,
                "count": len(positions),
                "type": "VEC3",
                "min": [float(v) for v in positions.astype(np.float32).min(axis=0)],
                "max": [float(v) for v in positions.astype(np.float32).max(axis=0)],
            },
            {"bufferView": 1, "componentType": FLOAT, "count": len(normals), "type": "VEC3"},
            {"bufferView": 2, "componentType": UNSIGNED_INT, "count": len(indices), "type": "SCALAR"},
        ],
    }
    text = json.dumps(document, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    binary = b"".join(blobs)
    binary += b"\0" * (-len(binary) % 4)
    length = 12 + 8 + len(text) + 8 + len(binary)
    return (
        struct.pack("<III", GLB_MAGIC, 2, length)
        + struct.pack("<II", len(text), CHUNK_JSON)
        + text
        + struct.pack("<II", len(binary), CHUNK_BIN)
        + binary
    )


def buildings_to_3dtiles(buildings: pd.DataFrame) -> tuple[dict[str, Any], bytes]:
    """``tileset.json`` and the glb of a ``buildings`` table (EPSG:4326 footprints, ``height_m``); buildings
    without a height are left out."""
    usable = buildings[np.isfinite(buildings["height_m"].to_numpy(dtype=float))]
    if usable.empty:
        raise ValueError("no building has a height")
    geometries = np.asarray(usable["geometry"].to_numpy(), dtype=object)
    west, south, east, north = shapely.total_bounds(geometries)
    lon0, lat0 = (west + east) / 2, (south + north) / 2
    to_enu = Transformer.from_crs(
        "EPSG:4326",
        f"+proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84",
        always_xy=True,
    )
    triangles = []
    for geometry, height in zip(geometries, usable["height_m"].to_numpy(dtype=float), strict=True):
        local = shapely.transform(geometry, lambda xy: np.column_stack(to_enu.transform(xy[:, 0], xy[:, 1])))
        for part in shapely.get_parts(local):
            triangles.append(extrusion_triangles(part, height))
    enu = np.concatenate(triangles)
    normals = np.cross(enu[:, 1] - enu[:, 0], enu[:, 2] - enu[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    y_up = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # (e, n, u) -> (e, u, -n)
    positions = enu.reshape(-1, 3) @ y_up.T
    vertex_normals = np.repeat(normals, 3, axis=0) @ y_up.T
    tileset = {
        "asset": {"version": "1.1", "generator": "metaliverpool.store.tiles3d"},
        "geometricError": 100.0,
        "root": {
            "transform": [float(v) for v in enu_frame(lon0, lat0).T.ravel()],
            "boundingVolume": {
                "region": [
                    *(math.radians(v) for v in (west, south, east, north)),
                    0.0,
                    float(usable["height_m"].max()),
                ]
            },
            "geometricError": 0.0,
            "refine": "ADD",
            "content": {"uri": CONTENT},
        },
    }
    return tileset, _glb(positions, vertex_normals)


def write_3dtiles(buildings: pd.DataFrame, folder: Path) -> Path:
    """Write ``tileset.json`` and ``buildings.glb`` into ``folder`` (atomically); returns the folder."""
    tileset, glb = buildings_to_3dtiles(buildings)
    with atomic_directory(Path(folder)) as staging:
        (staging / "tileset.json").write_text(json.dumps(tileset, indent=1), encoding="utf-8")
        (staging / CONTENT).write_bytes(glb)
    return Path(folder)

"""The public map's region layers, built once per server from the data folder: compact GeoJSON
(coordinates quantised to 1e-5 degrees, about 1.1 m, polygons simplified by 2e-5 degrees, about 2 m),
gzipped, with an ETag; and a name search over them.

Layers (``LAYER_NAMES``): ``districts`` (the land: the six districts, with a label point),
``wards`` (with a label point), ``lsoas`` (population, IMD decile and the deciles of its domains),
``services`` (hospitals, GPs, schools with details),
``stations`` (rail stations and ferry terminals), ``bus_stops`` and ``roads`` (motorways, trunk and main
roads). Everything outside the districts is drawn as water/background by the client.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely

from metaliverpool.ingest import region_layers

LAYER_NAMES = ("districts", "wards", "lsoas", "services", "stations", "bus_stops", "roads")
PRECISION_DEG = 1e-5
"""Coordinate quantum (degrees): 1.1 m north-south, 0.7 m east-west at 53.4 N."""
SIMPLIFY_DEG = 2e-5
"""Polygon and line simplification tolerance (degrees), below a pixel at the region's zoom levels."""
SEARCH_KINDS = ("district", "ward", "lsoa", "rail", "ferry", "hospital", "gp", "school", "street", "bus")
"""The order search results come in (before the match quality)."""


@dataclass(frozen=True)
class PublicLayer:
    """One layer: gzipped GeoJSON, its ETag, feature count and uncompressed size (bytes)."""

    gzip_bytes: bytes
    etag: str
    features: int
    raw_bytes: int


def _geometry(geometry: Any, simplify: bool) -> dict[str, Any]:
    if simplify:
        geometry = shapely.simplify(geometry, SIMPLIFY_DEG, preserve_topology=True)
    geometry = shapely.set_precision(geometry, PRECISION_DEG)
    mapping: dict[str, Any] = shapely.geometry.mapping(geometry)
    return json.loads(json.dumps(mapping), parse_float=lambda text: round(float(text), 5))


def encode_layer(rows: list[dict[str, Any]], simplify: bool) -> PublicLayer:
    """Rows (``geometry`` plus properties) as a gzipped GeoJSON FeatureCollection."""
    features = [
        {
            "type": "Feature",
            "geometry": _geometry(row["geometry"], simplify),
            "properties": {key: value for key, value in row.items() if key != "geometry"},
        }
        for row in rows
    ]
    raw = json.dumps({"type": "FeatureCollection", "features": features}, separators=(",", ":")).encode()
    packed = gzip.compress(raw, compresslevel=9, mtime=0)
    etag = '"' + hashlib.sha256(packed).hexdigest()[:32] + '"'
    return PublicLayer(packed, etag, len(features), len(raw))


def _point(geometry: Any) -> tuple[float, float]:
    point = geometry if geometry.geom_type == "Point" else shapely.point_on_surface(geometry)
    return round(float(point.x), 5), round(float(point.y), 5)


def _entry(kind: str, name: str, detail: str, geometry: Any) -> dict[str, Any]:
    lon, lat = _point(geometry)
    return {"kind": kind, "name": name, "detail": detail, "lon": lon, "lat": lat}


class PublicMap:
    """The region layers of one data folder, read and encoded on :meth:`build` (once), and searched."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self._lock = threading.Lock()
        self._layers: dict[str, PublicLayer] = {}
        self._search: list[dict[str, Any]] = []
        self.bounds: list[float] = []

    def build(self) -> None:
        """Read every source and encode every layer (InputError naming a missing or bad file)."""
        with self._lock:
            if self._layers:
                return
            data = self.data
            districts = region_layers.read_districts(data)
            region = shapely.union_all([d["geometry"] for d in districts])
            # stops and services a little outside the clipped boundary (on the shore) still count
            near_region = shapely.buffer(region, 0.005)
            wards = region_layers.read_wards(data)
            for area in (*districts, *wards):
                area["label_lon"], area["label_lat"] = _point(area["geometry"])
            lsoas = region_layers.read_lsoas(data)
            services = region_layers.read_services(data, near_region)
            stops = region_layers.read_stops(data, near_region)
            roads = region_layers.read_roads(data)
            stations = [s for s in stops if s["kind"] != "bus"]
            buses = [s for s in stops if s["kind"] == "bus"]
            self._layers = {
                "districts": encode_layer(districts, simplify=True),
                "wards": encode_layer(wards, simplify=True),
                "lsoas": encode_layer(lsoas, simplify=True),
                "services": encode_layer(services, simplify=False),
                "stations": encode_layer(stations, simplify=False),
                "bus_stops": encode_layer(buses, simplify=False),
                "roads": encode_layer(roads, simplify=True),
            }
            self.bounds = [round(float(v), 5) for v in shapely.bounds(region)]
            self._search = self._search_entries(districts, wards, lsoas, services, stops, roads)

    @staticmethod
    def _search_entries(
        districts: list[dict[str, Any]],
        wards: list[dict[str, Any]],
        lsoas: list[dict[str, Any]],
        services: list[dict[str, Any]],
        stops: list[dict[str, Any]],
        roads: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        entries = [_entry("district", d["name"], d["code"], d["geometry"]) for d in districts]
        entries += [_entry("ward", w["name"], w["district"], w["geometry"]) for w in wards]
        entries += [_entry("lsoa", z["name"], z["code"], z["geometry"]) for z in lsoas]
        entries += [
            _entry(
                s["kind"],
                s["name"],
                s["details"].get("postcode", s["details"].get("Postcode", "")),
                s["geometry"],
            )
            for s in services
        ]
        entries += [
            _entry(
                s["kind"],
                s["name"],
                " ".join(filter(None, (s["indicator"], s["street"], s["locality"]))),
                s["geometry"],
            )
            for s in stops
        ]
        streets: dict[str, list[Any]] = {}
        for road in roads:
            for name in {road["name"], road["ref"]} - {""}:
                streets.setdefault(name, []).append(road["geometry"])
        for stop in stops:
            if stop["street"]:
                streets.setdefault(stop["street"].title(), []).append(stop["geometry"])
        for name, geometries in streets.items():
            entries.append(_entry("street", name, "", shapely.union_all(geometries).centroid))
        return entries

    def layer(self, name: str) -> PublicLayer:
        """One layer (built on first use)."""
        self.build()
        return self._layers[name]

    def summary(self) -> dict[str, Any]:
        """The region's bounds (west, south, east, north degrees) and each layer's counts and sizes."""
        self.build()
        return {
            "bounds": self.bounds,
            "layers": [
                {
                    "name": name,
                    "features": layer.features,
                    "bytes": layer.raw_bytes,
                    "gzip_bytes": len(layer.gzip_bytes),
                }
                for name, layer in self._layers.items()
            ],
            "attribution": "Contains National Statistics and OS data © Crown copyright and database right; "
            "NHS Choices, DfE, DfT NaPTAN, National Highways (OGL v3); © OpenStreetMap contributors (ODbL)",
        }

    def search(self, query: str, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` places whose name contains ``query`` (case-insensitive): names starting with it
        first, then by kind (``SEARCH_KINDS``) and name."""
        self.build()
        needle = " ".join(query.lower().split())
        hits = [e for e in self._search if needle in e["name"].lower()]
        hits.sort(
            key=lambda e: (not e["name"].lower().startswith(needle), SEARCH_KINDS.index(e["kind"]), e["name"])
        )
        seen: set[tuple[str, str]] = set()
        unique = []
        for hit in hits:
            key = (hit["kind"], hit["name"])
            if hit["kind"] == "bus" and key in seen:
                continue  # bus stops of one name on both sides of a road: one result
            seen.add(key)
            unique.append(hit)
        return unique[:limit]

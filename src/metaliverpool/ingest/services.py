"""Services: hospitals, GP practices, schools and OSM amenities inside the study area.

Sources: ``poi/lcr_hospitals_nhs_choices.geojson`` (NHS Choices hospitals),
``poi/lcr_gp_practices_nhs_choices.geojson`` (NHS Choices GP practices),
``poi/lcr_schools_gias_ofsted.geojson`` (DfE GIAS schools) and
``osm/liverpool_city_amenities_overpass_2021-06-17.json`` (OSM ``amenity=*``; building outlines are
placed at the mean of their nodes). Each row keeps its source and the source's id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.ingest.osm_read import read_overpass_json
from metaliverpool.ingest.zones import read_geojson_features

POI_SOURCES = (
    (
        "hospital",
        "nhs_choices_hospitals",
        "poi/lcr_hospitals_nhs_choices.geojson",
        "OrganisationName",
        "OrganisationCode",
    ),
    (
        "gp",
        "nhs_choices_gp",
        "poi/lcr_gp_practices_nhs_choices.geojson",
        "OrganisationName",
        "OrganisationCode",
    ),
    ("school", "gias_schools", "poi/lcr_schools_gias_ofsted.geojson", "name", "urn"),
)
AMENITIES_FILE = "osm/liverpool_city_amenities_overpass_2021-06-17.json"


def read_poi(path: Path, kind: str, source: str, name_key: str, id_key: str) -> list[dict[str, Any]]:
    """Point features of one POI GeoJSON file as service rows."""
    rows = []
    feature: Any
    for feature in read_geojson_features(path):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = feature.get("properties", {}) if isinstance(feature, dict) else {}
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            continue
        lon, lat = (float(v) for v in geometry["coordinates"][:2])
        rows.append(
            {
                "kind": kind,
                "name": str(props.get(name_key) or ""),
                "source": source,
                "source_id": str(props.get(id_key) or ""),
                "lon": lon,
                "lat": lat,
            }
        )
    return rows


def read_osm_amenities(path: Path) -> list[dict[str, Any]]:
    """``amenity=*`` nodes and ways of an Overpass JSON file as service rows (kind = amenity value)."""
    osm = read_overpass_json(path)
    rows = []
    for node_id, tags in sorted(osm.node_tags.items()):
        if "amenity" in tags and node_id in osm.node_lonlat:
            lon, lat = osm.node_lonlat[node_id]
            rows.append(_amenity_row(tags, f"node/{node_id}", lon, lat))
    for way in sorted(osm.ways, key=lambda w: w.osm_way_id):
        coords = [osm.node_lonlat[n] for n in way.node_ids if n in osm.node_lonlat]
        if "amenity" in way.tags and coords:
            lon, lat = np.mean(np.array(coords), axis=0)
            rows.append(_amenity_row(way.tags, f"way/{way.osm_way_id}", float(lon), float(lat)))
    return rows


def _amenity_row(tags: dict[str, str], source_id: str, lon: float, lat: float) -> dict[str, Any]:
    return {
        "kind": tags["amenity"],
        "name": tags.get("name", ""),
        "source": "osm_amenities_2021",
        "source_id": source_id,
        "lon": lon,
        "lat": lat,
    }


def study_area_services(data: Path, study_area: shapely.Polygon) -> pd.DataFrame:
    """All services inside ``study_area`` (``service_id``, ``zone_code``, ``node_id`` set by the caller)."""
    rows: list[dict[str, Any]] = []
    for kind, source, relative, name_key, id_key in POI_SOURCES:
        rows.extend(read_poi(data / relative, kind, source, name_key, id_key))
    amenities = data / AMENITIES_FILE
    if amenities.is_file():
        rows.extend(read_osm_amenities(amenities))
    frame = pd.DataFrame(rows, columns=["kind", "name", "source", "source_id", "lon", "lat"])
    points = shapely.points(frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float))
    inside = shapely.contains(study_area, points)
    frame = frame[inside].copy()
    frame["geometry"] = shapely.points(frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float))
    return frame.sort_values(["source", "source_id", "kind"]).reset_index(drop=True)


SCHOOLS_FILE = next(relative for kind, _, relative, _, _ in POI_SOURCES if kind == "school")


def school_phases(data: Path) -> dict[str, str]:
    """The DfE GIAS phase (``primary``, ``secondary``, ``all-through``, ``sixth-form``) of every school in
    the data folder's schools file, by URN (the ``source_id`` of ``gias_schools`` services)."""
    phases = {}
    for feature in read_geojson_features(data / SCHOOLS_FILE):
        props = feature.get("properties", {}) if isinstance(feature, dict) else {}
        urn, phase = props.get("urn"), props.get("phase")
        if urn is not None and phase:
            phases[str(urn)] = str(phase).strip().lower()
    return phases

"""Find the twin rows an edit names: links of OSM ways, links inside or across a polygon, nodes, zones.

Every lookup that finds nothing raises :class:`~metaliverpool.errors.InputError` naming the scenario file,
the edit and the field, so a scenario written for another twin (or with a typo) fails before any run.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from metaliverpool.errors import InputError

BoolArray = npt.NDArray[np.bool_]


def mask_links_of_ways(
    links: pd.DataFrame, osm_way_ids: Iterable[int], *, source: str, where: str, field: str = "osm_way_ids"
) -> BoolArray:
    """Rows of ``links`` on any of ``osm_way_ids``; every way must carry at least one link."""
    wanted = list(osm_way_ids)
    present = set(links["osm_way_id"].to_numpy(dtype=np.int64).tolist())
    missing = [way for way in wanted if way not in present]
    if missing:
        raise InputError(
            source,
            f"OSM way {missing[0]} is not a road of this twin (not drivable, or outside the extract)",
            where=f"{where}, field '{field}'",
        )
    return np.asarray(links["osm_way_id"].isin(wanted).to_numpy(), dtype=np.bool_)


def link_midpoints(links: pd.DataFrame, nodes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of each link's midpoint along its geometry (straight from-to midpoint if it has none)."""
    lon_of = nodes.set_index("node_id")["lon"]
    lat_of = nodes.set_index("node_id")["lat"]
    lon = 0.5 * (
        lon_of.reindex(links["from_node_id"]).to_numpy(dtype=np.float64)
        + lon_of.reindex(links["to_node_id"]).to_numpy(dtype=np.float64)
    )
    lat = 0.5 * (
        lat_of.reindex(links["from_node_id"]).to_numpy(dtype=np.float64)
        + lat_of.reindex(links["to_node_id"]).to_numpy(dtype=np.float64)
    )
    if "geometry" in links.columns:
        geometries = links["geometry"].to_numpy(dtype=object)
        has_line = np.array([isinstance(g, shapely.LineString) and not g.is_empty for g in geometries])
        if has_line.any():
            points = shapely.line_interpolate_point(list(geometries[has_line]), 0.5, normalized=True)
            lon[has_line] = shapely.get_x(points)
            lat[has_line] = shapely.get_y(points)
    return lon, lat


def mask_links_inside(
    links: pd.DataFrame, nodes: pd.DataFrame, polygon: shapely.Polygon, *, source: str, where: str
) -> BoolArray:
    """Rows of ``links`` whose midpoint lies inside ``polygon``; at least one must."""
    lon, lat = link_midpoints(links, nodes)
    inside = np.asarray(shapely.contains_xy(polygon, lon, lat), dtype=np.bool_)
    if not inside.any():
        raise InputError(
            source,
            "the polygon contains no road of this twin (coordinates are [lon, lat] in EPSG:4326)",
            where=f"{where}, field 'area'",
        )
    return inside


def mask_nodes_inside(nodes: pd.DataFrame, polygon: shapely.Polygon) -> pd.Series:
    """Boolean Series indexed by ``node_id``: the node lies inside ``polygon``."""
    inside = shapely.contains_xy(
        polygon, nodes["lon"].to_numpy(dtype=np.float64), nodes["lat"].to_numpy(dtype=np.float64)
    )
    return pd.Series(np.asarray(inside, dtype=bool), index=nodes["node_id"].to_numpy())


def node_of_osm_node(nodes: pd.DataFrame, osm_node_id: int, *, source: str, where: str, field: str) -> int:
    """The twin ``node_id`` of an OSM node (it must be a node of the road network)."""
    hits = nodes.loc[nodes["osm_node_id"] == osm_node_id, "node_id"]
    if hits.empty:
        raise InputError(
            source,
            f"OSM node {osm_node_id} is not a node of this twin's road network",
            where=f"{where}, field '{field}'",
        )
    return int(hits.iloc[0])


def zone_of_lsoa(zones: pd.DataFrame, lsoa_code: str, *, source: str, where: str, field: str) -> pd.Series:
    """The ``zones`` row of an LSOA code (internal zones only)."""
    hits = zones[(zones["zone_code"] == lsoa_code) & (zones["kind"] == "lsoa")]
    if hits.empty:
        raise InputError(
            source, f"LSOA {lsoa_code} is not a zone of this twin", where=f"{where}, field '{field}'"
        )
    return hits.iloc[0]

"""Access to services as DfT's Journey Time Statistics (JTS) define it: per LSOA, the minimum door-to-door
time in minutes to the nearest destination of each service type by car, by cycle and on foot.

Method (``docs/access.md`` has the sources and every departure from JTS):

- **Origins** (:func:`lsoa_origins`): one point per LSOA (the zone's ``anchor_lon``/``anchor_lat``), or
  a point on each of its Output Areas with the LSOA's time the plain mean over them. JTS starts from
  Output Area population-weighted centroids and averages over the LSOA's Output Areas.
- **Destinations** (:func:`jts_destinations`): GP practices (NHS), hospitals (NHS), primary and secondary
  schools (DfE GIAS, split by phase). Food stores and town centres are not in the twin's services.
- **Walk**: 4.8 km/h on the active-travel links plus the roads pedestrians may use
  (:func:`metaliverpool.metrics.access.walkable_roads`), both ways.
- **Cycle**: 16 km/h on the roads cyclists may use (no motorways, no tunnels), one-way streets one way,
  plus the cycle-usable active links (:data:`CYCLE_ACTIVE_HIGHWAYS`), both ways.
- **Car**: the morning-peak congested link times the caller passes (the static assignment), on the car
  links (no bus-only links); the legs from the origin to the car and from the car to the door are walked
  at 4.8 km/h.
- Every origin and destination joins its mode's network at the nearest node of a strongly connected
  component of at least 100 nodes (:func:`joinable_nodes`) by a straight leg at the connector speed
  (walk, cycle: the mode's own speed; car: walking speed). An LSOA with no destination of a type in its
  part of the network gets no time (NaN): on foot and by cycle the Wirral side of the twin cannot reach
  Liverpool (the tunnels are closed to both).

The minimum over destinations is exact: one Dijkstra search per origin node, then the least of
access leg + network time + egress leg over every destination.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from metaliverpool.metrics.access import (
    WALK_SPEED_MPS,
    active_network,
    min_parallel,
    walkable_roads,
    walking_network,
)
from metaliverpool.network.geodesy import local_xy_m

FloatArray = npt.NDArray[np.float64]

CYCLE_SPEED_MPS = 16.0 / 3.6
"""Cycling speed, 16 km/h (DfT Journey Time Statistics)."""
CYCLE_ACTIVE_HIGHWAYS = ("cycleway", "path", "track", "bridleway", "living_street", "crossing")
"""Active-travel link classes a cyclist may ride (footways, pedestrian areas and steps are excluded)."""

JTS_SERVICES = ("PS", "SS", "GP", "Hosp", "Food", "Town")
"""JTS service codes, in the order of tables JTS0502, 0503, 0505, 0506, 0507, 0508."""
MODE_SUFFIX = {"car": "Cart", "cycle": "Cyct", "walk": "Walkt"}
"""JTS column suffix per mode (``GPCart``, ``GPCyct``, ``GPWalkt``)."""
MIN_JOIN_COMPONENT_NODES = 100
"""Smallest strongly connected component a point may join (judgement; :func:`joinable_nodes`)."""
PRIMARY_PHASES = ("primary", "all-through")
SECONDARY_PHASES = ("secondary", "all-through")
"""GIAS phases counted as primary and as secondary schools (an all-through school is both)."""


@dataclass(frozen=True, eq=False)
class ModeNetwork:
    """One mode's network: traversal times (s) between nodes, node positions, and the speed (m/s) of the
    straight legs joining an origin or destination to its nearest node."""

    graph: sp.csr_matrix
    lon: FloatArray
    lat: FloatArray
    connector_speed_mps: float
    node_mask: npt.NDArray[np.bool_] | None = None
    """Nodes an origin or destination may join (default: all; see :func:`joinable_nodes`)."""


def jts_destinations(
    services: pd.DataFrame, school_phase: Mapping[str, str] | None = None
) -> dict[str, pd.DataFrame]:
    """The destinations (``lon``, ``lat``) of each JTS service the twin has, by JTS code.

    GP: ``kind == "gp"``; Hosp: ``kind == "hospital"`` from a non-OSM source; PS and SS: DfE GIAS schools
    (``source == "gias_schools"``) whose ``source_id`` (URN) has a primary or secondary phase in
    ``school_phase`` (without it, no PS or SS). A service with no destination is left out.
    """
    kind = services["kind"].astype(str)
    source = services["source"].astype(str)
    chosen = {
        "GP": kind == "gp",
        "Hosp": (kind == "hospital") & ~source.str.startswith("osm"),
    }
    if school_phase is not None and "source_id" in services.columns:
        gias = (kind == "school") & (source == "gias_schools")
        phase = services["source_id"].astype(str).map(school_phase)
        chosen["PS"] = gias & phase.isin(PRIMARY_PHASES)
        chosen["SS"] = gias & phase.isin(SECONDARY_PHASES)
    result = {}
    for code in JTS_SERVICES:
        mask = chosen.get(code)
        if mask is not None and bool(mask.any()):
            result[code] = services.loc[mask.to_numpy(), ["lon", "lat"]].reset_index(drop=True)
    return result


def car_network(road_nodes: pd.DataFrame, road_links: pd.DataFrame, link_time_s: FloatArray) -> ModeNetwork:
    """The car network with ``link_time_s`` per row of ``road_links`` (bus-only links left out)."""
    car = (
        (road_links["access"] != "bus_only").to_numpy()
        if "access" in road_links.columns
        else np.ones(len(road_links), dtype=bool)
    )
    row = pd.Series(np.arange(len(road_nodes)), index=road_nodes["node_id"].to_numpy())
    tails = row.reindex(road_links["from_node_id"].to_numpy()[car]).to_numpy(dtype=np.int64)
    heads = row.reindex(road_links["to_node_id"].to_numpy()[car]).to_numpy(dtype=np.int64)
    times = np.maximum(np.asarray(link_time_s, dtype=np.float64)[car], 1e-3)
    graph = min_parallel(tails, heads, times, len(road_nodes))
    on_car_link = np.zeros(len(road_nodes), dtype=bool)
    on_car_link[tails] = True
    on_car_link[heads] = True
    return ModeNetwork(
        graph=graph,
        lon=road_nodes["lon"].to_numpy(dtype=np.float64),
        lat=road_nodes["lat"].to_numpy(dtype=np.float64),
        connector_speed_mps=WALK_SPEED_MPS,
        node_mask=on_car_link,
    )


def walk_network(
    road_nodes: pd.DataFrame, road_links: pd.DataFrame, active_nodes: pd.DataFrame, active_links: pd.DataFrame
) -> ModeNetwork:
    """The walking network at 4.8 km/h (the one :func:`~metaliverpool.metrics.access.walk_access` uses)."""
    network = walking_network(road_nodes, road_links, active_nodes, active_links)
    return ModeNetwork(network.graph, network.lon, network.lat, WALK_SPEED_MPS)


def cycle_network(
    road_nodes: pd.DataFrame, road_links: pd.DataFrame, active_nodes: pd.DataFrame, active_links: pd.DataFrame
) -> ModeNetwork:
    """The cycling network at 16 km/h: roads (no motorways or tunnels) as coded, so one-way streets stay
    one-way, and the :data:`CYCLE_ACTIVE_HIGHWAYS` active links both ways."""
    network = active_network(
        road_nodes,
        road_links,
        active_nodes,
        active_links,
        speed_mps=CYCLE_SPEED_MPS,
        road_mask=walkable_roads(road_links),  # the same rule as on foot: no motorways, no tunnels
        active_mask=active_links["highway"].isin(CYCLE_ACTIVE_HIGHWAYS).to_numpy(),
        roads_both_ways=False,
    )
    return ModeNetwork(network.graph, network.lon, network.lat, CYCLE_SPEED_MPS)


def joinable_nodes(network: ModeNetwork) -> npt.NDArray[np.int64]:
    """Nodes an origin or destination may join: those (within ``node_mask``) of the network's strongly
    connected components of at least :data:`MIN_JOIN_COMPONENT_NODES` nodes, so that no point attaches to
    an isolated path or a one-way trap, while a part of the network cut off from the rest (the Wirral side
    on foot: the Mersey tunnels are closed to pedestrians) keeps its own origins and destinations."""
    _, label = connected_components(network.graph, directed=True, connection="strong")
    allowed = np.ones(label.size, dtype=bool) if network.node_mask is None else network.node_mask.copy()
    sizes = np.bincount(label[allowed], minlength=int(label.max()) + 1 if label.size else 0)
    big = sizes >= min(MIN_JOIN_COMPONENT_NODES, int(sizes.max()) if sizes.size else 0)
    return np.flatnonzero(allowed & big[label]) if label.size else np.flatnonzero(allowed)


def _join(
    network: ModeNetwork, allowed: npt.NDArray[np.int64], lon: FloatArray, lat: FloatArray
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Nearest ``allowed`` node of each point and the straight distance to it (m)."""
    ref_lat = float(np.mean(network.lat)) if network.lat.size else 53.4
    tree = cKDTree(local_xy_m(network.lon[allowed], network.lat[allowed], ref_lat))
    distance_m, position = tree.query(local_xy_m(lon, lat, ref_lat))
    return allowed[np.asarray(position, dtype=np.int64)], np.asarray(distance_m, dtype=np.float64)


def nearest_time_s(
    network: ModeNetwork,
    origin_lon: FloatArray,
    origin_lat: FloatArray,
    dest_lon: FloatArray,
    dest_lat: FloatArray,
) -> FloatArray:
    """Door-to-door time (s) from each origin to its nearest destination (``inf`` if none is reachable)."""
    origin_lon = np.asarray(origin_lon, dtype=np.float64)
    if origin_lon.size == 0 or np.asarray(dest_lon).size == 0:
        return np.full(origin_lon.size, np.inf)
    allowed = joinable_nodes(network)
    origin_nodes, origin_m = _join(network, allowed, origin_lon, np.asarray(origin_lat, dtype=np.float64))
    dest_nodes, dest_m = _join(
        network, allowed, np.asarray(dest_lon, np.float64), np.asarray(dest_lat, np.float64)
    )
    sources, row_of_origin = np.unique(origin_nodes, return_inverse=True)
    times = np.atleast_2d(dijkstra(network.graph, directed=True, indices=sources))
    door_to_door = times[:, dest_nodes] + dest_m[None, :] / network.connector_speed_mps
    best = door_to_door.min(axis=1)[row_of_origin]
    return np.asarray(best + origin_m / network.connector_speed_mps, dtype=np.float64)


def outside_may_be_nearer(
    origin_lon: FloatArray,
    origin_lat: FloatArray,
    dest_lon: FloatArray,
    dest_lat: FloatArray,
    study_bbox: Sequence[float],
) -> npt.NDArray[np.bool_]:
    """Origins closer (straight line) to the edge of the study area ``(west, south, east, north)`` than to
    the nearest destination inside it: a destination outside the twin might be the nearest one."""
    west, south, east, north = (float(v) for v in study_bbox)
    ref_lat = 0.5 * (south + north)
    origins = local_xy_m(origin_lon, origin_lat, ref_lat)
    corners = local_xy_m([west, east, east, west], [south, south, north, north], ref_lat)
    edge_m = shapely.distance(shapely.points(origins), shapely.LinearRing(corners))
    if np.asarray(dest_lon).size == 0:
        return np.ones(len(origins), dtype=bool)
    nearest_m, _ = cKDTree(local_xy_m(dest_lon, dest_lat, ref_lat)).query(origins)
    return np.asarray(edge_m < nearest_m)


def origin_points(zones: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
    """Each zone's origin (lon, lat): ``anchor_lon``/``anchor_lat`` when the twin has them, else a point on
    the zone polygon's surface (how the build places the anchor)."""
    if {"anchor_lon", "anchor_lat"} <= set(zones.columns):
        return zones["anchor_lon"].to_numpy(dtype=np.float64), zones["anchor_lat"].to_numpy(dtype=np.float64)
    points = shapely.point_on_surface(zones["geometry"].to_numpy(dtype=object))
    return np.asarray(shapely.get_x(points), dtype=np.float64), np.asarray(
        shapely.get_y(points), dtype=np.float64
    )


def lsoa_origins(zones: pd.DataFrame, output_areas: pd.DataFrame | None = None) -> pd.DataFrame:
    """The origins of the LSOA zones (``kind == "lsoa"`` when the column exists): ``LSOA_code``, ``lon``,
    ``lat``. One per LSOA (:func:`origin_points`), or with ``output_areas`` (``lsoa_code``, ``lon``,
    ``lat``) one per Output Area of each LSOA, as JTS does; an LSOA with no Output Area keeps its own."""
    lsoas = zones[zones["kind"] == "lsoa"] if "kind" in zones.columns else zones
    lon, lat = origin_points(lsoas)
    own = pd.DataFrame({"LSOA_code": lsoas["zone_code"].astype(str).to_numpy(), "lon": lon, "lat": lat})
    if output_areas is None:
        return own
    areas = output_areas.rename(columns={"lsoa_code": "LSOA_code"})[["LSOA_code", "lon", "lat"]]
    areas = areas[areas["LSOA_code"].isin(own["LSOA_code"])]
    return pd.concat([areas, own[~own["LSOA_code"].isin(areas["LSOA_code"])]], ignore_index=True)


def jts_access_table(
    origins: pd.DataFrame,
    destinations: Mapping[str, pd.DataFrame],
    networks: Mapping[str, ModeNetwork],
    study_bbox: Sequence[float] | None = None,
) -> pd.DataFrame:
    """One row per LSOA of ``origins`` (:func:`lsoa_origins`; in order of first appearance): ``LSOA_code``,
    then for each service in ``destinations`` (JTS order) and each mode in ``networks`` the minutes
    ``<S><suffix>`` (e.g. ``GPCart``), the mean over the LSOA's origins that reach a destination (NaN when
    none does); with ``study_bbox``, ``edge_services`` lists (``;``-separated) the services whose times
    may not be the true nearest: from some origin a destination outside the study area may be nearer
    (:func:`outside_may_be_nearer`), or by some mode none is reachable inside it."""
    lon = origins["lon"].to_numpy(dtype=np.float64)
    lat = origins["lat"].to_numpy(dtype=np.float64)
    codes = origins["LSOA_code"].astype(str)
    order = pd.unique(codes)
    table = pd.DataFrame({"LSOA_code": order})
    edge: dict[str, list[str]] = {code: [] for code in order}
    for code in JTS_SERVICES:
        if code not in destinations:
            continue
        places = destinations[code]
        dest_lon = places["lon"].to_numpy(dtype=np.float64)
        dest_lat = places["lat"].to_numpy(dtype=np.float64)
        doubtful = np.zeros(len(origins), dtype=bool)
        for mode, network in networks.items():
            minutes = nearest_time_s(network, lon, lat, dest_lon, dest_lat) / 60.0
            finite = pd.Series(np.where(np.isfinite(minutes), minutes, np.nan), index=codes.to_numpy())
            table[f"{code}{MODE_SUFFIX[mode]}"] = finite.groupby(level=0).mean().reindex(order).to_numpy()
            doubtful |= ~np.isfinite(minutes)
        if study_bbox is not None:
            doubtful |= outside_may_be_nearer(lon, lat, dest_lon, dest_lat, study_bbox)
            for lsoa in pd.unique(codes[doubtful]):
                edge[lsoa].append(code)
    if study_bbox is not None:
        table["edge_services"] = [";".join(edge[lsoa]) for lsoa in order]
    return table


def jts_differences(ours: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """One row per LSOA and JTS column both tables have, with a value in both: ``LSOA_code``, ``column``,
    ``service``, ``mode``, ``twin_min``, ``jts_min``, ``difference_min`` (twin minus JTS) and ``edge``
    (the twin flags the service at that LSOA in ``edge_services``: a nearer one may be outside it)."""
    columns = [c for c in ours.columns if c in published.columns and _service_mode(c) is not None]
    joined = ours.merge(published, on="LSOA_code", suffixes=("_twin", "_jts"))
    edges = (
        joined["edge_services"].fillna("").astype(str).str.split(";")
        if "edge_services" in joined.columns
        else pd.Series([[] for _ in range(len(joined))], index=joined.index)
    )
    parts = []
    for column in columns:
        service, mode = _service_mode(column) or ("", "")
        twin = pd.to_numeric(joined[f"{column}_twin"], errors="coerce")
        jts = pd.to_numeric(joined[f"{column}_jts"], errors="coerce")
        both = (twin.notna() & jts.notna()).to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "LSOA_code": joined["LSOA_code"].to_numpy()[both],
                    "column": column,
                    "service": service,
                    "mode": mode,
                    "twin_min": twin.to_numpy(dtype=float)[both],
                    "jts_min": jts.to_numpy(dtype=float)[both],
                    "edge": [service in listed for listed in edges[both]],
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=[*DIFFERENCE_COLUMNS])
    table = pd.concat(parts, ignore_index=True)
    table["difference_min"] = table["twin_min"] - table["jts_min"]
    return table[list(DIFFERENCE_COLUMNS)]


DIFFERENCE_COLUMNS = (
    "LSOA_code",
    "column",
    "service",
    "mode",
    "twin_min",
    "jts_min",
    "difference_min",
    "edge",
)


def _service_mode(column: str) -> tuple[str, str] | None:
    """(service, mode) of a JTS time column the twin computes (``GPCart`` -> ``("GP", "car")``)."""
    for mode, suffix in MODE_SUFFIX.items():
        if column.endswith(suffix) and column[: -len(suffix)] in JTS_SERVICES:
            return column[: -len(suffix)], mode
    return None


def compare_with_jts(ours: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Side by side per JTS column both tables have (service and mode): the LSOAs with a value in both, the
    median minutes of each, the median and mean difference (twin minus JTS), the median absolute
    difference, and the same median absolute difference over the LSOAs the twin does not flag at the edge
    (``edge_lsoas`` of them are flagged; see :func:`jts_differences`)."""
    pairs = jts_differences(ours, published)
    rows = []
    for column, group in pairs.groupby("column", sort=False):
        inner = group[~group["edge"].astype(bool)]
        rows.append(
            {
                "column": column,
                "service": group["service"].iloc[0],
                "mode": group["mode"].iloc[0],
                "lsoas": len(group),
                "twin_median_min": float(group["twin_min"].median()),
                "jts_median_min": float(group["jts_min"].median()),
                "median_diff_min": float(group["difference_min"].median()),
                "mean_diff_min": float(group["difference_min"].mean()),
                "median_abs_diff_min": float(group["difference_min"].abs().median()),
                "edge_lsoas": int(len(group) - len(inner)),
                "median_abs_diff_unflagged_min": float(inner["difference_min"].abs().median())
                if len(inner)
                else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


COMPARISON_COLUMNS = (
    "column",
    "service",
    "mode",
    "lsoas",
    "twin_median_min",
    "jts_median_min",
    "median_diff_min",
    "mean_diff_min",
    "median_abs_diff_min",
    "edge_lsoas",
    "median_abs_diff_unflagged_min",
)

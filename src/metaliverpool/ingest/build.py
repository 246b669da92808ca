"""Build a twin from the sources: OSM network, zones, services, demand (``metaliverpool build``).

``build_twin(BuildConfig(...), data_dir, on_step)`` returns a :class:`~metaliverpool.network.twin.Twin`;
the caller writes it with :func:`metaliverpool.store.bundle.write_twin`. Deterministic: the same inputs
and config give the same tables. ``on_step(name)`` is called as each step starts (for progress bars).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.demand.model import DemandConfig, NtsTripRate, morning_peak_demand
from metaliverpool.demand.profile import AM_PEAK_SHARE_OF_WEEKDAY
from metaliverpool.errors import InputError
from metaliverpool.ingest.catalogue import SOURCES, file_record
from metaliverpool.ingest.coding import code_network
from metaliverpool.ingest.osm_network import NetworkConfig, RoadNetwork, nearest_node_ids, network_from_osm
from metaliverpool.ingest.osm_read import OsmData, read_osm
from metaliverpool.ingest.regions import Region, get_region
from metaliverpool.ingest.services import study_area_services
from metaliverpool.ingest.zones import DECILE_COLUMNS, lsoa_zones
from metaliverpool.network.twin import Twin

BUILD_STEPS = ("read OSM", "road network", "zones", "services", "demand", "network coding")

SERVICE_ATTRACTION_WEIGHTS = {"hospital": 200.0, "school": 30.0, "gp": 10.0}
"""Attraction weight per service (employment proxy); any other OSM amenity counts 1."""
RESIDENT_ATTRACTION_WEIGHT = 0.01
"""Attraction weight per resident (trips to homes, escort trips)."""
AM_PEAK_SHARE_OF_DAY = AM_PEAK_SHARE_OF_WEEKDAY
"""Share of a day's car traffic in 07:00-10:00 (DfT TRA0307, weekday: about 6.5 + 7 + 6 %)."""
MILE_KM = 1.609344


@dataclass(frozen=True)
class BuildConfig:
    """What to build: a region, optionally another OSM extract, and the model parameters."""

    region: str = "liverpool-centre"
    osm_path: Path | None = None
    network: NetworkConfig | None = None
    demand: DemandConfig = field(default_factory=DemandConfig)
    calibrate_to_dft: bool = True


def code_version() -> dict[str, str]:
    """Package version and, when run from a git checkout, the commit."""
    try:
        package = version("metaliverpool")
    except PackageNotFoundError:
        package = "unknown"
    commit = ""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        commit = result.stdout.strip() if result.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return {"package": package, "git_commit": commit}


def check_region(osm: OsmData, region: Region, path: Path) -> None:
    """:class:`InputError` unless most highway nodes lie inside the region (and some in the study box)."""
    used = {n for way in osm.ways if "highway" in way.tags for n in way.node_ids}
    if not used:
        raise InputError(path, "no highway ways found (expected an OSM extract with roads)")
    ids = sorted(used)
    lonlat = np.array([osm.node_lonlat[n] for n in ids])
    lon_min, lat_min, lon_max, lat_max = region.bounds
    m = region.margin_deg
    inside = (
        (lonlat[:, 0] >= lon_min - m)
        & (lonlat[:, 0] <= lon_max + m)
        & (lonlat[:, 1] >= lat_min - m)
        & (lonlat[:, 1] <= lat_max + m)
    )
    if inside.mean() < 0.5:
        first = int(np.flatnonzero(~inside)[0])
        raise InputError(
            path,
            f"coordinates fall outside region {region.name!r} "
            f"(lon {lon_min}..{lon_max}, lat {lat_min}..{lat_max}): {100 * (1 - inside.mean()):.0f}% of road "
            f"nodes are outside, e.g. node {ids[first]} at {lonlat[first, 0]:.4f}, {lonlat[first, 1]:.4f}",
        )
    if region.study_bbox is not None:
        b = region.study_bbox
        in_box = (
            (lonlat[:, 0] >= b[0]) & (lonlat[:, 0] <= b[2]) & (lonlat[:, 1] >= b[1]) & (lonlat[:, 1] <= b[3])
        )
        if not in_box.any():
            raise InputError(path, f"no road node inside the study area of region {region.name!r} {b}")


def clip_to_study_box(osm: OsmData, bbox: tuple[float, float, float, float]) -> OsmData:
    """Keep the ways with a node in ``bbox`` (whole ways), as the Overpass query of the staged file did."""
    lonlat = osm.node_lonlat

    def touches(way_node_ids: tuple[int, ...]) -> bool:
        for n in way_node_ids:
            lon, lat = lonlat[n]
            if bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]:
                return True
        return False

    ways = [w for w in osm.ways if touches(w.node_ids)]
    return OsmData(osm.node_lonlat, osm.node_tags, ways, osm.relations, osm.timestamp)


def study_polygon(region: Region, network: RoadNetwork) -> shapely.Polygon:
    """The study area: the region's box, or the bounding box of the extract's core network."""
    if region.study_bbox is not None:
        return shapely.box(*region.study_bbox)
    core = network.nodes[network.nodes["in_core"]]
    return shapely.box(core["lon"].min(), core["lat"].min(), core["lon"].max(), core["lat"].max())


def reachability(network: RoadNetwork) -> tuple[np.ndarray, np.ndarray]:
    """(can reach a core node, reachable from a core node) per node, over car links."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    links = network.links[network.links["access"] == "all"]
    count = len(network.nodes)
    core = network.nodes["in_core"].to_numpy(dtype=bool)
    source = int(np.flatnonzero(core)[0])
    a = links["from_node_id"].to_numpy()
    b = links["to_node_id"].to_numpy()
    forward = coo_matrix((np.ones(len(a)), (a, b)), shape=(count, count)).tocsr()
    backward = forward.T.tocsr()
    from_core = np.zeros(count, dtype=bool)
    from_core[breadth_first_order(forward, source, directed=True, return_predecessors=False)] = True
    to_core = np.zeros(count, dtype=bool)
    to_core[breadth_first_order(backward, source, directed=True, return_predecessors=False)] = True
    return to_core, from_core


ZONE_ACCESS_HIGHWAYS = frozenset(
    {"primary", "secondary", "tertiary", "unclassified", "residential", "living_street", "service", "road"}
)
"""A zone's trips start and end at a node on one of these classes (not in a tunnel, not on a trunk road)."""


def local_access_nodes(network: RoadNetwork) -> np.ndarray:
    """Per node: touches a non-tunnel link of a local class (:data:`ZONE_ACCESS_HIGHWAYS`)."""
    links = network.links
    local = links["highway"].isin(ZONE_ACCESS_HIGHWAYS) & ~links["tunnel"] & (links["access"] == "all")
    mask = np.zeros(len(network.nodes), dtype=bool)
    mask[links.loc[local, "from_node_id"].to_numpy()] = True
    mask[links.loc[local, "to_node_id"].to_numpy()] = True
    return mask


def zone_access_nodes(zones: pd.DataFrame, network: RoadNetwork) -> list[np.ndarray]:
    """Per zone (``zone_id`` order), the road nodes its trips start and end at: for an LSOA, every core
    node on a local road class (:func:`local_access_nodes`) inside its boundary, or its ``node_id`` when
    there is none; for an external zone, its cordon node. Loading a zone's whole demand onto one node
    overloads that node's one or two local links (up to 1.7 times their capacity in the peak hour in
    central Liverpool), a queue no street there has."""
    nodes = network.nodes
    mask = nodes["in_core"].to_numpy(dtype=bool) & local_access_nodes(network)
    ids = nodes["node_id"].to_numpy()[mask]
    lon = nodes["lon"].to_numpy()[mask]
    lat = nodes["lat"].to_numpy()[mask]
    out: list[np.ndarray] = []
    for kind, geometry, node_id in zip(zones["kind"], zones["geometry"], zones["node_id"], strict=True):
        inside = ids[shapely.contains_xy(geometry, lon, lat)] if kind == "lsoa" else ids[:0]
        out.append(np.sort(inside).astype(np.int32) if inside.size else np.array([node_id], dtype=np.int32))
    return out


def build_zones(lsoa: pd.DataFrame, network: RoadNetwork, services: pd.DataFrame) -> pd.DataFrame:
    """LSOA zones (from ``ingest.zones.lsoa_zones``) plus external cordon zones, with what demand needs."""
    zones = lsoa.copy()
    nodes = network.nodes
    core_mask = nodes["in_core"].to_numpy(dtype=bool) & local_access_nodes(network)
    zones["node_id"] = nearest_node_ids(
        nodes, zones["anchor_lon"].to_numpy(), zones["anchor_lat"].to_numpy(), mask=core_mask
    )
    weights = services["kind"].map(SERVICE_ATTRACTION_WEIGHTS).fillna(1.0)
    per_zone = weights.groupby(services["zone_code"]).sum()
    zones["service_count"] = (
        zones["zone_code"].map(services.groupby("zone_code").size()).fillna(0).astype(np.int32)
    )
    zones["attraction_weight"] = zones["zone_code"].map(per_zone).fillna(0.0) + RESIDENT_ATTRACTION_WEIGHT * (
        zones["population"] * zones["network_share"]
    )
    zones["cordon_in_capacity_vph"] = 0.0
    zones["cordon_out_capacity_vph"] = 0.0

    to_core, from_core = reachability(network)
    links = network.links
    cordon = nodes[nodes["kind"] == "cordon"]
    external = []
    row: Any
    for number, row in enumerate(cordon.itertuples(), start=1):
        node_id = int(row.node_id)
        cap_in = (
            float(links.loc[links["from_node_id"] == node_id, "capacity_vph"].sum())
            if to_core[node_id]
            else 0.0
        )
        cap_out = (
            float(links.loc[links["to_node_id"] == node_id, "capacity_vph"].sum())
            if from_core[node_id]
            else 0.0
        )
        external.append(
            {
                "zone_code": f"EXT_{number}",
                "name": str(row.zone_name),
                "kind": "external",
                "msoa_code": "",
                "lad_code": "",
                "population": 0.0,
                "network_share": 1.0,
                "node_id": node_id,
                "cordon_in_capacity_vph": cap_in,
                "cordon_out_capacity_vph": cap_out,
                "attraction_weight": 0.0,
                "service_count": 0,
                "geometry": shapely.Point(row.lon, row.lat),
                "anchor_lon": row.lon,
                "anchor_lat": row.lat,
                **dict.fromkeys(DECILE_COLUMNS, -1),
            }
        )
    if external:
        zones = pd.concat([zones, pd.DataFrame(external)], ignore_index=True)
    zones.insert(0, "zone_id", np.arange(len(zones), dtype=np.int32))
    zones["node_id"] = zones["node_id"].astype(np.int32)
    zones["node_lon"] = nodes["lon"].to_numpy()[zones["node_id"].to_numpy()]
    zones["node_lat"] = nodes["lat"].to_numpy()[zones["node_id"].to_numpy()]
    for column in DECILE_COLUMNS:
        zones[column] = zones[column].astype(np.int32)
    return zones


def locate_services(services: pd.DataFrame, zones: pd.DataFrame, network: RoadNetwork) -> pd.DataFrame:
    """Add ``service_id``, ``zone_code`` (containing LSOA) and ``node_id`` (nearest road node)."""
    services = services.copy()
    lsoa = zones[zones["kind"] == "lsoa"]
    points = services["geometry"].to_numpy()
    tree = shapely.STRtree(lsoa["geometry"].to_numpy())
    point_index, zone_index = tree.query(points, predicate="within")
    codes = np.full(len(services), "", dtype=object)
    codes[point_index] = lsoa["zone_code"].to_numpy()[zone_index]
    services["zone_code"] = codes
    services["node_id"] = nearest_node_ids(
        network.nodes, services["lon"].to_numpy(), services["lat"].to_numpy()
    )
    services.insert(0, "service_id", np.arange(len(services), dtype=np.int32))
    return services


def dft_target_vehicle_km(network: RoadNetwork, zones: pd.DataFrame, data_dir: Path) -> dict[str, Any] | None:
    """Vehicle-km of cars in 07:00-10:00 on the network, from DfT annual traffic per road-km of its LAs."""
    path = data_dir / "traffic" / "lcr_la_annual_traffic_dft_2023.csv"
    if not path.is_file():
        return None
    traffic = pd.read_csv(path)
    lads = sorted(set(zones.loc[zones["kind"] == "lsoa", "lad_code"]))
    rows = traffic[traffic["local_authority_code"].isin(lads)]
    if rows.empty:
        return None
    per_road_km_year = rows["cars_and_taxis"].sum() * MILE_KM / rows["link_length_km"].sum()
    links = network.links
    public = links[(links["highway"] != "service") & ~links["connector"].astype(bool)]
    road_km = float((public["length_m"] * np.where(public["oneway"], 1.0, 0.5)).sum()) / 1000.0
    target = per_road_km_year / 365.0 * AM_PEAK_SHARE_OF_DAY * road_km
    return {
        "local_authorities": lads,
        "year": int(rows["year"].iloc[0]),
        "car_vehicle_km_per_road_km_per_year": round(float(per_road_km_year), 1),
        "am_peak_share_of_day": AM_PEAK_SHARE_OF_DAY,
        "network_road_km": round(road_km, 3),
        "target_vehicle_km": round(float(target), 1),
    }


def census_outbound_ratio(zones: pd.DataFrame, data_dir: Path) -> dict[str, Any] | None:
    """Out-commuters / in-commuters of the study area's main local authority (Census 2021 ODWP01EW).

    The main authority is the one with the most residents in the study area. Used as the ratio of
    external exits to external entries in the morning peak.
    """
    path = data_dir / "census2021" / "lcr_ltla_commute_flows_census2021_odwp01ew.csv"
    lsoa = zones[zones["kind"] == "lsoa"]
    if not path.is_file() or lsoa.empty:
        return None
    flows = pd.read_csv(path)
    residents = (lsoa["population"] * lsoa["network_share"]).groupby(lsoa["lad_code"]).sum()
    lad = str(residents.idxmax())
    outbound = float(flows.loc[(flows["origin_code"] == lad) & (flows["dest_code"] != lad), "count"].sum())
    inbound = float(flows.loc[(flows["dest_code"] == lad) & (flows["origin_code"] != lad), "count"].sum())
    internal = float(flows.loc[(flows["dest_code"] == lad) & (flows["origin_code"] == lad), "count"].sum())
    if inbound <= 0:
        return None
    return {
        "local_authority": lad,
        "out_commuters": outbound,
        "in_commuters": inbound,
        "resident_workers_in_authority": internal,
        "outbound_ratio": round(outbound / inbound, 4),
    }


def build_twin(config: BuildConfig, data_dir: Path, on_step: Callable[[str], None] | None = None) -> Twin:
    """Build the twin described by ``config`` from the sources in ``data_dir``."""
    step = on_step or (lambda name: None)
    region = get_region(config.region)
    if config.osm_path is not None:
        osm_path = Path(config.osm_path)
    elif region.osm_file is not None:
        osm_path = data_dir / region.osm_file
    else:
        raise InputError(
            region.name, "this region has no staged OSM extract; give one with --osm FILE", where="--osm"
        )
    step("read OSM")
    osm = read_osm(osm_path)
    check_region(osm, region, osm_path)
    if region.study_bbox is not None:
        osm = clip_to_study_box(osm, region.study_bbox)
    step("road network")
    network_config = config.network or NetworkConfig(study_bbox=region.study_bbox)
    network = network_from_osm(osm, network_config)
    if network.links.empty:
        raise InputError(osm_path, "no drivable roads found")
    step("zones")
    area = study_polygon(region, network)
    lsoa = lsoa_zones(data_dir, area)
    step("services")
    services = locate_services(study_area_services(data_dir, area), lsoa, network)
    zones = build_zones(lsoa, network, services)
    step("demand")
    calibration = dft_target_vehicle_km(network, zones, data_dir) if config.calibrate_to_dft else None
    commuting = census_outbound_ratio(zones, data_dir) if config.calibrate_to_dft else None
    demand_config = config.demand
    overrides: dict[str, Any] = {}
    if calibration is not None and demand_config.target_vehicle_km is None:
        overrides["target_vehicle_km"] = calibration["target_vehicle_km"]
    if commuting is not None:
        overrides["outbound_ratio"] = commuting["outbound_ratio"]
    if overrides:
        demand_config = DemandConfig(**{**demand_config.as_dict(), **overrides})
    demand = morning_peak_demand(zones, demand_config, zone_access_nodes(zones, network))
    sources = []
    for source in SOURCES:
        path = data_dir / source.path
        if source.name.startswith("osm_centre") and config.osm_path is not None:
            continue
        if path.is_file():
            sources.append(
                {
                    "name": source.name,
                    "licence": source.licence,
                    "attribution": source.attribution,
                    **file_record(path),
                }
            )
    if config.osm_path is not None:
        sources.insert(
            0,
            {
                "name": "osm",
                "licence": "ODbL 1.0",
                "attribution": "© OpenStreetMap contributors",
                **file_record(osm_path),
            },
        )
    manifest = {
        "region": region.name,
        "region_description": region.description,
        "study_area": {"bbox": [float(v) for v in area.bounds]},
        "osm_timestamp": osm.timestamp,
        "sources": sources,
        "build_config": {
            "region": config.region,
            "osm_path": str(osm_path),
            "network": network_config.as_dict(),
            "demand": demand_config.as_dict(),
            "car_trips_per_resident_from": (
                NtsTripRate().as_dict()
                if demand_config.car_trips_per_resident == NtsTripRate().per_resident()
                else "given in the build config"
            ),
            "service_attraction_weights": SERVICE_ATTRACTION_WEIGHTS,
            "resident_attraction_weight": RESIDENT_ATTRACTION_WEIGHT,
        },
        "code_version": code_version(),
        "dropped": network.dropped,
        "demand": {**demand.summary, "calibration": calibration, "census2021_commuting": commuting},
    }
    step("network coding")
    twin = Twin(
        nodes=network.nodes,
        links=network.links,
        junctions=network.junctions,
        turn_restrictions=network.turn_restrictions,
        zones=zones,
        services=services,
        active_nodes=network.active_nodes,
        active_links=network.active_links,
        bus_stops=network.bus_stops,
        trips=demand.trips,
        manifest=manifest,
    )
    return code_network(twin)

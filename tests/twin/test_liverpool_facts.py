"""The real central-Liverpool twin: facts anyone can check in OpenStreetMap and the IMD 2019 file."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from metaliverpool.cli.main import main
from metaliverpool.ingest.osm_read import read_overpass_json
from metaliverpool.network.clusters import cluster_points
from metaliverpool.network.geodesy import local_xy_m
from metaliverpool.network.twin import Twin
from metaliverpool.store.bundle import read_twin

pytestmark = pytest.mark.slow
OSM_FILE = "osm/liverpool_centre_highway_features_overpass_2025-09-17.json"


@pytest.fixture(scope="module")
def bundle(liverpool_centre_bundle: Path) -> Path:
    return liverpool_centre_bundle


@pytest.fixture(scope="module")
def twin(bundle: Path) -> Twin:
    return read_twin(bundle)


def test_catharine_street_is_a_two_way_primary_at_30_mph(twin: Twin) -> None:
    links = twin.links[twin.links["osm_way_id"] == 4085159]
    assert len(links) >= 2
    assert (links["highway"] == "primary").all() and (links["name"] == "Catharine Street").all()
    assert not links["oneway"].any()
    pairs = set(zip(links["from_node_id"], links["to_node_id"], strict=True))
    assert all((b, a) in pairs for a, b in pairs)  # both directions of every segment
    assert np.allclose(links["speed_limit_mps"], 30 * 0.44704)


def _car_path_links(twin: Twin, origin: int, destination: int) -> list[int]:
    """Links of the fastest car path (scipy Dijkstra; parallel links reduced to the fastest)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    links = twin.links[twin.links["access"] == "all"]
    time = (links["length_m"] / links["free_speed_mps"]).to_numpy()
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for a, b, t, link in zip(links["from_node_id"], links["to_node_id"], time, links["link_id"], strict=True):
        if (int(a), int(b)) not in best or t < best[(int(a), int(b))][0]:
            best[(int(a), int(b))] = (float(t), int(link))
    keys = list(best)
    n = len(twin.nodes)
    graph = coo_matrix(
        ([best[k][0] for k in keys], ([k[0] for k in keys], [k[1] for k in keys])), shape=(n, n)
    ).tocsr()
    _, predecessors = dijkstra(graph, indices=origin, return_predecessors=True)
    path = []
    node = destination
    while node != origin:
        previous = int(predecessors[node])
        assert previous >= 0, "destination unreachable"
        path.append(best[(previous, node)][1])
        node = previous
    return path[::-1]


def _nearest_core_node(twin: Twin, lon: float, lat: float) -> int:
    nodes = twin.nodes[twin.nodes["in_core"]]
    distance = (nodes["lon"] - lon) ** 2 + ((nodes["lat"] - lat) * 1.7) ** 2
    return int(nodes["node_id"].to_numpy()[int(np.argmin(distance.to_numpy()))])


def test_queensway_tunnel_is_tolled_and_a_crossing_pays_once(twin: Twin) -> None:
    links = twin.links
    queensway = links[links["osm_way_id"].isin([5098633, 5098634])]
    assert len(queensway) > 0 and queensway["tolled"].all()
    tunnel = links[links["name"].str.startswith("Queensway") & links["tunnel"]]
    assert len(tunnel) > 0 and tunnel["tolled"].all() and tunnel["toll_gbp"].max() == pytest.approx(1.80)
    town_hall = _nearest_core_node(twin, -2.9917, 53.4072)  # Liverpool Town Hall
    hamilton_square = _nearest_core_node(twin, -3.0138, 53.3943)  # Birkenhead
    for origin, destination in ((town_hall, hamilton_square), (hamilton_square, town_hall)):
        path = links.set_index("link_id").loc[_car_path_links(twin, origin, destination)]
        assert path["tunnel"].any()  # the only road crossings of the Mersey here are the tunnels
        assert path["toll_gbp"].sum() == pytest.approx(1.80)


def test_signalised_junctions_match_clustered_signal_nodes(twin: Twin, liverpool_data: Path) -> None:
    osm = read_overpass_json(liverpool_data / OSM_FILE)
    signals = sorted(n for n, tags in osm.node_tags.items() if tags.get("highway") == "traffic_signals")
    assert len(signals) == 339  # SOURCES.md
    junctions = twin.junctions[twin.junctions["control"] == "signals"]
    claimed = [s for group in junctions["signal_osm_node_ids"] for s in group]
    assert len(claimed) == len(set(claimed))  # each signal node in one junction only
    assert len(claimed) >= 0.9 * len(signals)
    xy = np.array([osm.node_lonlat[n] for n in signals])
    local = local_xy_m(xy[:, 0], xy[:, 1], 53.4)
    loose = int(cluster_points(local, 50.0).max()) + 1
    tight = int(cluster_points(local, 25.0).max()) + 1
    assert loose <= len(junctions) <= tight


def test_zone_population_equals_imd_total(twin: Twin, liverpool_data: Path) -> None:
    lsoa = twin.zones[twin.zones["kind"] == "lsoa"]
    codes = set(lsoa["zone_code"])
    total = 0
    with open(liverpool_data / "imd2019" / "lcr_imd2019_domains_and_population.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["LSOA code (2011)"] in codes:
                total += int(row["Total population: mid 2015 (excluding prisoners)"])
    assert len(codes) == len(lsoa) > 30
    assert lsoa["population"].sum() == total
    assert lsoa["imd_decile"].between(1, 10).all()


def test_every_trip_has_a_car_path(twin: Twin) -> None:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order

    links = twin.links[twin.links["access"] == "all"]
    n = len(twin.nodes)
    graph = coo_matrix(
        (np.ones(len(links)), (links["from_node_id"].to_numpy(), links["to_node_id"].to_numpy())),
        shape=(n, n),
    ).tocsr()
    trips = twin.trips
    assert 20_000 <= len(trips) <= 100_000
    assert trips["departure_time_s"].between(0, 3 * 3600).all() and (trips["mode"] == "car").all()
    assert (trips["origin_zone_id"] != trips["destination_zone_id"]).all()
    for origin, group in trips.groupby("origin_node_id"):
        reached = set(breadth_first_order(graph, int(origin), return_predecessors=False).tolist())
        assert set(group["destination_node_id"].astype(int)) <= reached


def test_rebuild_is_identical(bundle: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    main(["build", "--region", "liverpool-centre", "--out", str(again), "--no-calibrate"])
    for table in sorted(bundle.glob("*.parquet")):
        assert (again / table.name).read_bytes() == table.read_bytes(), table.name


def test_manifest_records_sources_and_drops(twin: Twin) -> None:
    manifest = twin.manifest
    names = {s["name"] for s in manifest["sources"]}
    assert {"osm_centre", "lsoa_boundaries", "imd2019"} <= names
    assert all(len(s["sha256"]) == 64 for s in manifest["sources"])
    assert manifest["dropped"]["nodes"] >= 0 and "rule" in manifest["dropped"]
    assert manifest["counts"]["trips"] == len(twin.trips)

"""Build a region-scale TNTP network by tiling Anaheim (about 29,000 links and 912 zones).

Usage::

    .venv/bin/python bench/region.py OUT_DIR [--columns 6] [--rows 5] [--zoned-rows 4] [--joins 12]
        [--outbound-share 0.1]

Writes ``OUT_DIR/Region_net.tntp`` and ``OUT_DIR/Region_trips.tntp``, the same bytes every time
(no randomness). The city-region strategic models this stands in for (for example the TNTP
Berlin-Center network: 12,981 nodes, 28,376 links, 865 zones) are not in ``benchmarks/tntp``; Anaheim is,
with node coordinates, so the region is ``columns x rows`` copies of it laid side by side:

- **Roads**: every tile is a full copy of Anaheim's 914 links (capacities, free-flow times, BPR ``b`` and
  ``power`` unchanged), shifted by its tile's width or height plus 1 km.
- **Joins**: two neighbouring tiles (left-right or above-below) are joined by ``--joins`` two-way links
  between the ``--joins`` thru nodes of each tile nearest the shared side, paired in order along it:
  length the straight distance, free flow at 50 mph, capacity 4,000 veh/h, BPR 0.15 / 4.
- **Zones**: the tiles of the first ``--zoned-rows`` rows keep Anaheim's 38 centroids and their
  connectors (zone ``38 t + z`` is zone ``z`` of zoned tile ``t``); the other tiles are roads only (the
  surrounding area, through which traffic may pass). Centroids are never passed through (first thru node
  = zones + 1), as in Anaheim.
- **Demand**: each zoned tile keeps ``1 - share`` of Anaheim's OD matrix inside itself; the remaining
  ``share`` of each zone's trips goes to the other zoned tiles, split over tiles in proportion to
  ``exp(-d / D)`` (``d`` the distance between tile centres, ``D`` one tile pitch) and within a tile in
  proportion to Anaheim's attractions.

With the defaults: 30 tiles, 24 zoned, 912 zones, 12,252 nodes and 27,888 links; AequilibraE's bfw
needs about 23 iterations to a relative gap of 1e-4 (the Berlin-Center network: 18).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from metaliverpool.config import benchmarks_dir
from metaliverpool.ingest.tntp import TntpNetwork, TntpTrips, read_net, read_trips, write_net, write_trips
from metaliverpool.network.geodesy import local_xy_m

FEET_M = 0.3048
JOIN_SPEED_MPS = 50 * 1609.344 / 3600.0
JOIN_CAPACITY_VPH = 4000.0
TILE_SPACING_M = 1000.0
OUTBOUND_SHARE = 0.1


def anaheim() -> tuple[TntpNetwork, TntpTrips, np.ndarray]:
    """Anaheim's network, trips and node coordinates (m, local plane; row ``n - 1`` is node ``n``)."""
    folder = benchmarks_dir() / "tntp" / "Anaheim"
    net = read_net(folder / "Anaheim_net.tntp")
    trips = read_trips(folder / "Anaheim_trips.tntp", zone_count=net.zone_count)
    features = json.loads((folder / "anaheim_nodes.geojson").read_text())["features"]
    lonlat = np.full((net.node_count, 2), np.nan)
    for feature in features:
        lonlat[int(feature["properties"]["id"]) - 1] = feature["geometry"]["coordinates"]
    if np.isnan(lonlat).any():
        raise SystemExit("anaheim_nodes.geojson lacks some nodes")
    xy = local_xy_m(lonlat[:, 0], lonlat[:, 1], float(np.mean(lonlat[:, 1])))
    return net, trips, xy - xy.min(axis=0)


def build_region(
    columns: int = 6, rows: int = 5, zoned_rows: int = 4, joins: int = 12, share: float = OUTBOUND_SHARE
) -> tuple[TntpNetwork, TntpTrips]:
    """The tiled network and its demand (see the module docstring)."""
    net, trips, xy = anaheim()
    zones, thru = net.zone_count, net.node_count - net.zone_count
    width, height = xy.max(axis=0) + TILE_SPACING_M
    tiles = [(c, r) for r in range(rows) for c in range(columns)]
    zoned = [t for t, (_, r) in enumerate(tiles) if r < zoned_rows]
    zone_count = zones * len(zoned)

    def node_ids(t: int) -> np.ndarray:
        """New number of every Anaheim node (index n - 1) in tile ``t`` (0 for dropped centroids)."""
        ids = np.zeros(net.node_count, dtype=np.int64)
        ids[zones:] = zone_count + t * thru + np.arange(1, thru + 1)
        if t in zoned:
            ids[:zones] = zoned.index(t) * zones + np.arange(1, zones + 1)
        return ids

    parts: list[dict[str, np.ndarray]] = []
    for t in range(len(tiles)):
        ids = node_ids(t)
        init, term = ids[net.init_node - 1], ids[net.term_node - 1]
        keep = (init > 0) & (term > 0)
        parts.append(
            {
                "init_node": init[keep],
                "term_node": term[keep],
                "capacity": net.capacity[keep],
                "length": net.length[keep],
                "free_flow_time": net.free_flow_time[keep],
                "b": net.b[keep],
                "power": net.power[keep],
                "speed": net.speed[keep],
                "toll": net.toll[keep],
                "link_type": net.link_type[keep],
            }
        )
    thru_xy = xy[zones:]
    for t, (c, r) in enumerate(tiles):
        for u, side in (((c + 1, r), 0), ((c, r + 1), 1)):
            if u not in tiles:
                continue
            near_a = np.argsort(-thru_xy[:, side], kind="stable")[:joins]  # nearest the shared side
            near_b = np.argsort(thru_xy[:, side], kind="stable")[:joins]
            along = 1 - side
            near_a = near_a[np.argsort(thru_xy[near_a, along], kind="stable")]
            near_b = near_b[np.argsort(thru_xy[near_b, along], kind="stable")]
            shift = np.array([width, 0.0]) if side == 0 else np.array([0.0, height])
            length_m = np.hypot(*(thru_xy[near_b] + shift - thru_xy[near_a]).T)
            a = node_ids(t)[zones + near_a]
            b = node_ids(tiles.index(u))[zones + near_b]
            count = 2 * joins
            length = np.concatenate([length_m, length_m])
            parts.append(
                {
                    "init_node": np.concatenate([a, b]),
                    "term_node": np.concatenate([b, a]),
                    "capacity": np.full(count, JOIN_CAPACITY_VPH),
                    "length": length / FEET_M,
                    "free_flow_time": length / JOIN_SPEED_MPS / 60.0,
                    "b": np.full(count, 0.15),
                    "power": np.full(count, 4.0),
                    "speed": np.full(count, JOIN_SPEED_MPS * 60.0 / FEET_M),
                    "toll": np.zeros(count),
                    "link_type": np.ones(count, dtype=np.int64),
                }
            )
    columns_out = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    region = TntpNetwork(
        zone_count=zone_count,
        node_count=zone_count + len(tiles) * thru,
        first_thru_node=zone_count + 1,
        **columns_out,
    )

    base = trips.demand.copy()
    np.fill_diagonal(base, 0.0)
    production = base.sum(axis=1)
    attraction = base.sum(axis=0) / base.sum()
    centres = np.array([(c * width, r * height) for c, r in tiles])[zoned]
    distance = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
    weight = np.exp(-distance / max(width, height))
    np.fill_diagonal(weight, 0.0)
    weight /= weight.sum(axis=1, keepdims=True)
    outbound = share * np.outer(production, attraction)  # zone z of a tile to zone z' of all other tiles
    demand = np.kron(weight, outbound) + np.kron(np.eye(len(zoned)), (1.0 - share) * base)
    return region, TntpTrips(zone_count=zone_count, demand=demand)


def write_region(out: Path, **options: float) -> Path:
    """Write ``Region_net.tntp`` and ``Region_trips.tntp`` into ``out`` (options: see
    :func:`build_region`); returns ``out``."""
    region, demand = build_region(**options)  # type: ignore[arg-type]
    out.mkdir(parents=True, exist_ok=True)
    write_net(region, out / "Region_net.tntp")
    write_trips(demand, out / "Region_trips.tntp")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--columns", type=int, default=6)
    parser.add_argument("--rows", type=int, default=5)
    parser.add_argument("--zoned-rows", type=int, default=4)
    parser.add_argument("--joins", type=int, default=12)
    parser.add_argument("--outbound-share", type=float, default=OUTBOUND_SHARE)
    args = parser.parse_args()
    out = write_region(
        args.out,
        columns=args.columns,
        rows=args.rows,
        zoned_rows=args.zoned_rows,
        joins=args.joins,
        share=args.outbound_share,
    )
    region = read_net(out / "Region_net.tntp")
    print(f"{out}: {region.zone_count} zones, {region.node_count} nodes, {region.link_count} links")


if __name__ == "__main__":
    main()

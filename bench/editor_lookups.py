"""Time the editor's look-ups on a built twin: the street index, a street grown junction by junction, a
junction, and a low-traffic-neighbourhood preview (filters, cells, rat-runs).

    python bench/editor_lookups.py --twin DIR [--street "Dale Street"] [--area W,S,E,N]

Prints one JSON line: each time in ms and what was found (names, counts).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import shapely

from metaliverpool.edits.ltn_cells import ltn_preview
from metaliverpool.edits.schema import LowTrafficNeighbourhood
from metaliverpool.service.streets import StreetIndex
from metaliverpool.store.bundle import read_twin


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twin", type=Path, required=True)
    parser.add_argument("--street", default="Dale Street")
    parser.add_argument("--area", default="-2.9790,53.4010,-2.9700,53.4060", help="W,S,E,N degrees")
    args = parser.parse_args()
    twin = read_twin(args.twin)
    result: dict[str, object] = {"links": len(twin.links)}
    start = time.perf_counter()
    index = StreetIndex(twin)
    result["index_ms"] = _ms(start)
    rows = twin.links.index[twin.links["name"] == args.street]
    link_id = int(twin.links["link_id"].iloc[rows[len(rows) // 2]])
    start = time.perf_counter()
    street = index.street(link_id, 0, 0)
    result["street_ms"] = _ms(start)
    start = time.perf_counter()
    whole = index.street(link_id, 50, 50)
    result["whole_street_ms"] = _ms(start)
    result["street"] = {
        k: street[k] for k in ("name", "from_junction", "to_junction", "length_m", "osm_way_ids")
    }
    result["whole_street"] = {k: whole[k] for k in ("segments", "length_m", "from_junction", "to_junction")}
    signals = twin.junctions[twin.junctions["control"] == "signals"]
    osm = int(signals["osm_node_ids"].iloc[0][0])
    start = time.perf_counter()
    junction = index.junction(osm)
    result["junction_ms"] = _ms(start)
    result["junction"] = {k: junction[k] for k in ("name", "signal_osm_node_ids", "cycle_s")}
    west, south, east, north = (float(v) for v in args.area.split(","))
    box = shapely.box(west, south, east, north)
    area = {"type": "Polygon", "coordinates": [[list(p) for p in box.exterior.coords]]}
    edit = LowTrafficNeighbourhood(kind="low_traffic_neighbourhood", area=area)  # type: ignore[arg-type]
    start = time.perf_counter()
    preview = ltn_preview(twin, edit)
    result["ltn_ms"] = _ms(start)
    result["ltn"] = {
        "filters": len(preview["filters"]),
        "cells": len(preview["cells"]),
        "entries": preview["entries"],
        "rat_runs_before": preview["rat_runs_before"],
        "rat_runs_after": preview["rat_runs_after"],
        "why": preview["why"],
        "first_rat_run": preview["rat_runs"][0] if preview["rat_runs"] else None,
    }
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()

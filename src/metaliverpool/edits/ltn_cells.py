"""What a drawn low-traffic neighbourhood does, before it is run: its filters, its cells and its rat-runs.

As A/B Street's LTN tool shows a neighbourhood while it is drawn:

- **filters**: the modal filters the run would place (:func:`metaliverpool.edits.apply.check_edits` on the
  edit alone, so exactly those of the run, filters reopened for access included);
- **cells**: the parts of the neighbourhood's streets a car reaches from the boundary roads without
  crossing a filter (connected components of the cell's streets once the filtered links are taken out);
- **rat-runs**: for each ordered pair of entries (cell nodes on a boundary road), the quickest route at
  free-flow speed between them on the surrounding network; it is a rat-run when it uses a street of the
  cell. Counted before the filters and after them (what is left is what the filters did not close).

When the edit changes nothing the check's reason is given; when no quickest route between boundary roads
crosses the cell today, the filters close no rat-run, and that is said too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra

from metaliverpool.edits.apply import check_edits
from metaliverpool.edits.ltn import place_cell_filters
from metaliverpool.edits.schema import LowTrafficNeighbourhood
from metaliverpool.edits.select import mask_nodes_inside
from metaliverpool.network.streets import UNNAMED_PREFIX, street_key
from metaliverpool.network.twin import Twin

SURROUNDINGS_FRACTION = 0.5
"""Rat-runs are searched on the roads within the neighbourhood's bounding box grown by this fraction of
its size on each side (at least :data:`SURROUNDINGS_MIN_DEG`): the boundary roads and their detours."""

SURROUNDINGS_MIN_DEG = 0.003
"""The least growth of the search box, degrees (about 200-330 m at Liverpool's latitude)."""

MAX_ROUTES_LISTED = 12
"""Rat-runs listed (all are counted)."""


def _names(links: pd.DataFrame) -> list[str]:
    names = links["name"].to_numpy(dtype=object) if "name" in links.columns else [""] * len(links)
    refs = links["ref"].to_numpy(dtype=object) if "ref" in links.columns else [""] * len(links)
    ways = links["osm_way_id"].to_numpy(dtype=np.int64)
    keys = []
    for name, ref, way in zip(names, refs, ways, strict=True):
        key = street_key(name if isinstance(name, str) else "", ref if isinstance(ref, str) else "", int(way))
        keys.append("an unnamed road" if key.startswith(UNNAMED_PREFIX) else key)
    return keys


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _filtered_rows(twin: Twin, edit: LowTrafficNeighbourhood) -> tuple[npt.NDArray[np.int64], dict[str, Any]]:
    """Rows of ``twin.links`` the run closes for the edit, and the check's verdict."""
    edited, checks = check_edits(twin, [edit], source="drawn area")
    kept = edited.links["base_link_id"] if "base_link_id" in edited.links.columns else edited.links["link_id"]
    base_ids = twin.links["base_link_id"] if "base_link_id" in twin.links.columns else twin.links["link_id"]
    closed = ~base_ids.isin(set(kept.tolist())).to_numpy()
    return np.flatnonzero(closed), checks[0].as_dict()


def _routes(
    graph: sp.csr_matrix,
    pair_row: dict[tuple[int, int], int],
    entries: npt.NDArray[np.int64],
    cell_row: npt.NDArray[np.bool_],
) -> list[tuple[int, int, list[int], float]]:
    """Each ordered pair of entries whose quickest route uses a cell street: (from, to, link rows, time s)."""
    if entries.size < 2:
        return []
    times, previous = dijkstra(graph, directed=True, indices=entries, return_predecessors=True)
    found = []
    for i, start in enumerate(entries.tolist()):
        for end in entries.tolist():
            if end == start or not np.isfinite(times[i, end]):
                continue
            rows, node = [], end
            while node != start:
                before = int(previous[i, node])
                rows.append(pair_row[(before, node)])
                node = before
            if cell_row[rows].any():
                found.append((start, end, rows[::-1], float(times[i, end])))
    return found


def ltn_preview(twin: Twin, edit: LowTrafficNeighbourhood) -> dict[str, Any]:
    """The filters, cells and rat-runs (before and after) of ``edit`` on ``twin`` as plain data (link ids
    of ``twin.links``, times in seconds, lengths in metres)."""
    links, nodes = twin.links, twin.nodes
    link_from = links["from_node_id"].to_numpy(dtype=np.int64)
    link_to = links["to_node_id"].to_numpy(dtype=np.int64)
    length_m = links["length_m"].to_numpy(dtype=np.float64)
    time_s = length_m / np.maximum(links["free_speed_mps"].to_numpy(dtype=np.float64), 0.1)
    link_ids = links["link_id"].to_numpy(dtype=np.int64)
    names = _names(links)
    car_open = (
        (links["access"] != "bus_only").to_numpy() if "access" in links.columns else np.ones(len(links), bool)
    )
    node_count = int(nodes["node_id"].max()) + 1
    inside = mask_nodes_inside(nodes, edit.area.to_shapely())
    node_inside = np.zeros(node_count, dtype=np.bool_)
    node_inside[inside.index.to_numpy()[inside.to_numpy()]] = True
    open_rows = np.flatnonzero(car_open)
    _, cell_open, _ = place_cell_filters(
        link_from[open_rows], link_to[open_rows], length_m[open_rows],
        links["highway"].to_numpy(dtype=object)[open_rows], node_inside, edit.minor_highways,
    )  # fmt: skip
    cell_row = np.zeros(len(links), dtype=np.bool_)
    cell_row[open_rows[cell_open]] = True
    filtered, verdict = _filtered_rows(twin, edit)
    filtered_row = np.zeros(len(links), dtype=np.bool_)
    filtered_row[filtered] = True

    # entries: cell nodes that a car link outside the cell also touches (the boundary roads)
    cell_nodes = np.zeros(node_count, dtype=np.bool_)
    cell_nodes[link_from[cell_row]] = cell_nodes[link_to[cell_row]] = True
    outside = car_open & ~cell_row
    touches = np.zeros(node_count, dtype=np.bool_)
    touches[link_from[outside]] = touches[link_to[outside]] = True
    entries = np.flatnonzero(cell_nodes & touches)

    def entry_name(node: int) -> str:
        at = outside & ((link_from == node) | (link_to == node))
        return " / ".join(sorted(_unique([names[r] for r in np.flatnonzero(at)]))) or "a boundary road"

    # cells: the cell's streets joined without crossing a filter
    kept = cell_row & ~filtered_row
    graph = sp.csr_matrix(
        (np.ones(int(kept.sum())), (link_from[kept], link_to[kept])), shape=(node_count, node_count)
    )
    _, component = connected_components(graph, directed=False)
    cells = []
    for label in _unique([str(c) for c in component[link_from[kept]]]):
        rows = np.flatnonzero(kept & (component[link_from] == int(label)))
        ends = [int(n) for n in entries if component[n] == int(label)]
        cells.append({
            "link_ids": link_ids[rows].tolist(),
            "streets": sorted(_unique([names[r] for r in rows])),
            "entries": [entry_name(n) for n in ends],
            "length_m": round(float(length_m[rows].sum()) / 2, 1),
        })  # fmt: skip
    cells.sort(key=lambda cell: -len(cell["link_ids"]))

    # rat-runs on the surroundings, before and after the filters
    lon, lat = nodes.set_index("node_id")["lon"], nodes.set_index("node_id")["lat"]
    west, south, east, north = edit.area.to_shapely().bounds
    grow_lon = max((east - west) * SURROUNDINGS_FRACTION, SURROUNDINGS_MIN_DEG)
    grow_lat = max((north - south) * SURROUNDINGS_FRACTION, SURROUNDINGS_MIN_DEG)
    near = lon.between(west - grow_lon, east + grow_lon) & lat.between(south - grow_lat, north + grow_lat)
    near_node = np.zeros(node_count, dtype=np.bool_)
    near_node[near.index.to_numpy()[near.to_numpy()]] = True
    around = car_open & near_node[link_from] & near_node[link_to]

    def rat_runs(usable: npt.NDArray[np.bool_]) -> list[tuple[int, int, list[int], float]]:
        rows = np.flatnonzero(usable)
        best: dict[tuple[int, int], int] = {}
        for row in rows[np.argsort(-time_s[rows])]:
            best[(int(link_from[row]), int(link_to[row]))] = int(row)  # the quickest link of a pair last
        pairs = np.array(list(best.keys()), dtype=np.int64).reshape(-1, 2)
        chosen = np.array(list(best.values()), dtype=np.int64)
        matrix = sp.csr_matrix(
            (np.maximum(time_s[chosen], 1e-3), (pairs[:, 0], pairs[:, 1])), shape=(node_count, node_count)
        )
        return _routes(matrix, best, entries, cell_row)

    before = rat_runs(around)
    after = rat_runs(around & ~filtered_row)

    def listed(routes: list[tuple[int, int, list[int], float]]) -> list[dict[str, Any]]:
        routes = sorted(routes, key=lambda r: -float(length_m[[x for x in r[2] if cell_row[x]]].sum()))
        return [
            {
                "from": entry_name(start),
                "to": entry_name(end),
                "via": _unique([names[r] for r in rows if cell_row[r]]),
                "link_ids": link_ids[rows].tolist(),
                "time_s": round(time, 1),
            }
            for start, end, rows, time in routes[:MAX_ROUTES_LISTED]
        ]

    filters = []
    seen: set[tuple[int, int]] = set()
    for row in filtered.tolist():
        pair = (min(link_from[row], link_to[row]), max(link_from[row], link_to[row]))
        if pair in seen:
            continue
        seen.add(pair)
        filters.append({
            "street": names[row],
            "osm_way_id": int(links["osm_way_id"].iloc[row]),
            "lon": round(float((lon[pair[0]] + lon[pair[1]]) / 2), 6),
            "lat": round(float((lat[pair[0]] + lat[pair[1]]) / 2), 6),
        })  # fmt: skip

    why = ""
    if verdict["status"] == "refused":
        why = verdict["message"]
    elif not before:
        why = (
            "it changes nothing for through traffic: no quickest route between its boundary roads runs "
            "through it today, so its filters close no rat-run"
        )
    return {
        "changes_nothing": bool(why),
        "why": why,
        "check": verdict,
        "filters": filters,
        "filtered_link_ids": link_ids[filtered].tolist(),
        "cells": cells,
        "entries": len(entries),
        "rat_runs_before": len(before),
        "rat_runs_after": len(after),
        "rat_runs": listed(before),
        "rat_runs_left": listed(after),
    }

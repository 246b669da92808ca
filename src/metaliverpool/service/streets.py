"""The editor's street, junction and area look-ups on one twin, with their current values and the valid
choices an edit may offer.

- a **street** (:class:`~metaliverpool.network.streets.StreetGraph`): the clicked link's run of one name
  between two junctions, grown or shrunk junction by junction; its OSM ways (what edits name), the links
  an edit on those ways changes (a way may run past the selection: that length is given), its lanes, limit
  and class now, and the speed limits, lane counts and bus lane an edit may set;
- a **junction**: every node of the signal cluster holding an OSM node, named by its streets
  (``Dale Street / Sir Thomas Street``), with its plan now (cycle, green ratio per approach);
- an **area**: an LSOA by its name and code.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd

from metaliverpool.edits.describe import junction_name
from metaliverpool.edits.schema import MPS_PER_MPH
from metaliverpool.network.streets import UNNAMED_PREFIX, StreetGraph, StreetSelection
from metaliverpool.network.twin import Twin
from metaliverpool.service.access import NotFound

UK_SPEED_LIMITS_MPH = (20, 30, 40, 50, 60, 70)
"""The national speed limits a UK road may be signed at (Traffic Signs Regulations 2016)."""

MAX_LANES = 8
"""The most lanes per direction an edit may set (``ChangeLanes.lanes``)."""


def _sorted_unique(values: np.ndarray) -> list[Any]:
    return sorted({v.item() if hasattr(v, "item") else v for v in values})


class StreetIndex:
    """The street graph of one twin and the look-ups of the editor."""

    def __init__(self, twin: Twin) -> None:
        self.twin = twin
        self.graph = StreetGraph(twin.links, twin.nodes)
        links = twin.links
        self._row_of_link = pd.Series(np.arange(len(links)), index=links["link_id"].to_numpy())
        self._rows_of_way = links.groupby("osm_way_id").indices

    def _row(self, link_id: int) -> int:
        if link_id not in self._row_of_link.index:
            raise NotFound(f"link {link_id} is not a link of this twin")
        return int(self._row_of_link[link_id])

    def _end_name(self, selection: StreetSelection, node: int, name: str) -> str:
        others = self.graph.other_streets_at(selection.key, node)
        if others:
            return " / ".join(others)
        if len(self.graph.neighbours(selection.key, node)) == 1:
            return f"the end of {name}"
        return f"a fork of {name}"

    def street(self, link_id: int, before: int, after: int) -> dict[str, Any]:
        """The street through ``link_id`` grown by ``before``/``after`` segments (see module docstring)."""
        links = self.twin.links
        selection = self.graph.select(self._row(link_id), before, after)
        rows = np.asarray(selection.link_rows, dtype=np.int64)
        ways = _sorted_unique(links["osm_way_id"].to_numpy()[rows])
        way_rows = np.unique(np.concatenate([self._rows_of_way[w] for w in ways]))
        length = links["length_m"].to_numpy(dtype=np.float64)
        name = selection.key if selection.named else f"an unnamed {links['highway'].iloc[rows[0]]} road"
        lanes = _sorted_unique(links["lanes"].to_numpy()[rows])
        limits = _sorted_unique(np.round(links["speed_limit_mps"].to_numpy()[rows] / MPS_PER_MPH))
        one_way = len(rows) == len(selection.node_ids) - 1
        return {
            "name": name,
            "named": selection.named,
            "osm_way_ids": ways,
            "link_ids": links["link_id"].to_numpy()[rows].tolist(),
            "way_link_ids": links["link_id"].to_numpy()[way_rows].tolist(),
            "length_m": round(float(length[rows].sum()) / (1 if one_way else 2), 1),
            "beyond_selection_m": round(
                float(length[np.setdiff1d(way_rows, rows)].sum()) / (1 if one_way else 2), 1
            ),
            "segments": selection.segments,
            "from_junction": self._end_name(selection, selection.node_ids[0], name),
            "to_junction": self._end_name(selection, selection.node_ids[-1], name),
            "can_extend_before": selection.can_extend_before,
            "can_extend_after": selection.can_extend_after,
            "towards": list(selection.towards),
            "current": {
                "lanes": lanes,
                "speed_limit_mph": limits,
                "highway": _sorted_unique(links["highway"].to_numpy()[rows]),
                "one_way": one_way,
            },
            "choices": self._choices(name, lanes, limits),
        }

    @staticmethod
    def _choices(name: str, lanes: list[int], limits: list[float]) -> dict[str, Any]:
        """The values an edit may set: UK limits other than the one in force, lane counts other than the
        current one, a bus lane only where every part has two lanes or more."""
        bus = min(lanes) >= 2
        return {
            "speed_limit_mph": [v for v in UK_SPEED_LIMITS_MPH if limits != [v]],
            "lanes": [n for n in range(1, MAX_LANES + 1) if lanes != [n]],
            "bus_lane": bus,
            "bus_lane_reason": ""
            if bus
            else f"{name} has {min(lanes)} lane in a direction: a bus lane needs two or more",
        }

    def junction(self, osm_node_id: int) -> dict[str, Any]:
        """The junction holding ``osm_node_id``: all its nodes, its name and its signal plan now."""
        twin = self.twin
        nodes, links = twin.nodes, twin.links
        hits = nodes.loc[nodes["osm_node_id"] == osm_node_id]
        if hits.empty:
            raise NotFound(f"OSM node {osm_node_id} is not a node of this twin")
        junction = int(hits["junction_id"].iloc[0]) if "junction_id" in hits.columns else -1
        control = "none"
        osm_nodes = [int(osm_node_id)]
        signal_nodes: list[int] = []
        node_ids = hits["node_id"].to_numpy()
        if junction >= 0:
            row = twin.junctions.loc[twin.junctions["junction_id"] == junction].iloc[0]
            control = str(row["control"])
            osm_nodes = sorted(int(n) for n in row["osm_node_ids"])
            signal_nodes = sorted(int(n) for n in row.get("signal_osm_node_ids", []))
            node_ids = np.asarray(row["node_ids"], dtype=np.int64)
        arriving = links[links["to_node_id"].isin(node_ids) & ~links["from_node_id"].isin(node_ids)]
        approaches: list[dict[str, Any]] = []
        for _, link in arriving.iterrows():
            street = self.graph.keys[self._row(int(link["link_id"]))]
            if street.startswith(UNNAMED_PREFIX):
                continue
            approaches.append({
                "street": street,
                "green_ratio": round(float(link.get("green_ratio", 1.0)), 3),
                "cycle_s": round(float(link.get("cycle_s", 0.0)), 1),
            })  # fmt: skip
        cycles = [float(a["cycle_s"]) for a in approaches if a["cycle_s"] > 0]
        return {
            "name": junction_name(links, nodes, osm_node_id),
            "control": control,
            "osm_node_ids": osm_nodes,
            "signal_osm_node_ids": signal_nodes,
            "cycle_s": max(cycles) if cycles else None,
            "approaches": approaches,
        }


class StreetIndexes:
    """One :class:`StreetIndex` per twin, built on first use (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indexes: dict[str, StreetIndex] = {}

    def get(self, twin_id: str, twin: Twin) -> StreetIndex:
        """The index of ``twin`` (known as ``twin_id``)."""
        with self._lock:
            if twin_id not in self._indexes:
                self._indexes[twin_id] = StreetIndex(twin)
            return self._indexes[twin_id]

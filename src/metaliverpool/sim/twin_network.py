"""Compile a twin (links, nodes, junctions, trips) for the simulator.

* The car network: links that are not ``bus_only``; ``lanes``, ``free_speed_mps`` and ``length_m`` as in
  the twin (lanes at least 1); queues discharge at the coded stop-line saturation flow
  ``saturation_flow_vph`` and store ``jam_density_vpm`` vehicles per metre and lane
  (:mod:`metaliverpool.network.coding`, ``docs/network-coding.md``), the columns the static engine reads
  too; a twin built before the coding existed falls back to its capacity, at least
  :data:`SATURATION_FLOW_PER_LANE_VPH` per lane (see there), and the default jam density;
  ``toll_gbp`` as ``link_toll_gbp`` (tolls and cordon charges, for route choice); turn restrictions as
  ``turn_banned`` (:func:`banned_turns`).
* Junction control: nodes of junctions with ``control == "signals"`` are signalised (one plan per node,
  see :func:`signal_nodes`). A signalised junction of several nodes (a dual carriageway crossing, a
  signalised gyratory) has links between its own nodes: those are inside the junction box, so they get
  no stop line (``SimNetwork.link_junction_internal``; default plans never hold them), and a node whose
  every approach is such an internal link is not signalised at all. Otherwise each node would run its own
  uncoordinated plan and hold vehicles that already entered on a green inside the box, whose short
  internal links (8-25 m, 2-5 vehicles) then block the crossing traffic: the central-Liverpool twin
  gridlocked that way. At ``give_way``, ``priority`` and ``mini_roundabout`` junctions, approaches
  with less than 80% of the node's largest approach capacity give way (rank 1) with a critical gap of
  3 s (2 s at mini-roundabouts); entries to a roundabout (``roundabout`` links) give way to the ring
  with a 2 s gap; other nodes serve approaches first-come first-served.
* Demand: the ``trips`` table (car trips, origin/destination node, departure seconds after 07:00).

Turn restrictions (OSM relations and ``turn_ban`` edits) become ``SimNetwork.turn_banned``: route search
never uses a banned turn. Not modelled: bus-only links, coordinated offsets.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from metaliverpool.network.graph import banned_turn_pairs
from metaliverpool.network.twin import Twin
from metaliverpool.sim.demand import Demand, make_demand
from metaliverpool.sim.network import DEFAULT_JAM_DENSITY_VPM, SimNetwork, build_sim_network

GIVE_WAY_GAP_S = {"give_way": 3.0, "priority": 3.0, "mini_roundabout": 2.0}
"""Critical gap (s) of minor approaches by junction control."""
SATURATION_FLOW_PER_LANE_VPH = 1800.0
"""Discharge rate of a queue per lane (veh/h): the simulator's link capacity is at least this. The twin's
``capacity_vph`` is a planning capacity with junction delay folded in (600 veh/h per lane on tertiary and
local streets) for the static engine; the simulator models the junctions themselves (green time, give-way
gaps), so charging the folded-in value as well would count the junction twice. 1,800 veh/h per lane is the
usual UK design saturation flow of a straight-ahead lane (TRL RR67 gives about 1,800-2,100 for 3-3.65 m
lanes). Priority ranks are decided on the twin's capacities."""
ROUNDABOUT_GAP_S = 2.0
"""Critical gap (s) of entries to a roundabout (links tagged ``roundabout``), which give way to the ring."""


def sim_network_from_twin(twin: Twin) -> SimNetwork:
    """The twin's car network with unsignalised priority (signals are added by a signal plan)."""
    links = twin.links
    if "access" in links.columns:
        links = links[links["access"] != "bus_only"]
    links = links.sort_values("link_id")
    nodes = twin.nodes.sort_values("node_id")
    node_count = int(nodes["node_id"].max()) + 1 if len(nodes) else 0
    lanes = np.maximum(links["lanes"].to_numpy(dtype=np.float64), 1.0)
    capacity = np.maximum(links["capacity_vph"].to_numpy(dtype=np.float64), 300.0 * lanes)
    coded = "saturation_flow_vph" in links.columns
    jam = links["jam_density_vpm"].to_numpy(dtype=np.float64) if coded else DEFAULT_JAM_DENSITY_VPM
    lat0 = float(nodes["lat"].mean()) if len(nodes) else 0.0
    x = np.zeros(node_count)
    y = np.zeros(node_count)
    ids = nodes["node_id"].to_numpy()
    x[ids] = nodes["lon"].to_numpy() * np.cos(np.radians(lat0))
    y[ids] = nodes["lat"].to_numpy()
    network = build_sim_network(
        node_count=node_count,
        link_from_node=links["from_node_id"].to_numpy(),
        link_to_node=links["to_node_id"].to_numpy(),
        link_length_m=np.maximum(links["length_m"].to_numpy(dtype=np.float64), 1.0),
        link_free_speed_mps=links["free_speed_mps"].to_numpy(dtype=np.float64),
        link_capacity_vph=capacity,
        link_lanes=lanes,
        jam_density_vpm=jam,
        link_external_id=links["link_id"].to_numpy(dtype=np.int64),
        link_name=tuple(str(n) if isinstance(n, str) else "" for n in links["name"].tolist()),
        node_x=x,
        node_y=y,
        source="twin links",
    )
    roundabout = links["roundabout"].to_numpy(dtype=bool) if "roundabout" in links.columns else None
    network = replace(network, link_junction_internal=_signal_junction_internal(twin, network))
    network = _with_priority(network, twin.junctions, roundabout)
    toll = (
        links["toll_gbp"].to_numpy(dtype=np.float64) if "toll_gbp" in links.columns else np.zeros(len(links))
    )
    discharge = (
        links["saturation_flow_vph"].to_numpy(dtype=np.float64)
        if coded
        else np.maximum(capacity, SATURATION_FLOW_PER_LANE_VPH * lanes)
    )
    return replace(
        network,
        link_capacity_vph=discharge,
        link_toll_gbp=np.nan_to_num(toll),
        turn_banned=banned_turns(network, twin.turn_restrictions),
    )


def banned_turns(network: SimNetwork, restrictions: pd.DataFrame) -> np.ndarray:
    """Per turn of ``network``: whether ``restrictions`` forbid it (:func:`banned_turn_pairs`)."""
    banned = np.zeros(network.turn_count, dtype=np.bool_)
    pairs = banned_turn_pairs(
        network.link_from_node, network.link_to_node, network.link_external_id, restrictions
    )
    for a, b in pairs:
        banned[network.turn_index(a, b)] = True
    return banned


def _signal_junction_internal(twin: Twin, network: SimNetwork) -> np.ndarray:
    """Links whose both ends are nodes of the same signalised junction."""
    junction_of = np.full(network.node_count, -1, dtype=np.int64)
    signals = twin.junctions[twin.junctions["control"] == "signals"]
    for junction, node_ids in zip(signals["junction_id"], signals["node_ids"], strict=True):
        nodes = np.asarray(node_ids, dtype=np.int64)
        nodes = nodes[(nodes >= 0) & (nodes < network.node_count)]
        if nodes.size >= 2:
            junction_of[nodes] = int(junction)
    a = junction_of[network.link_from_node]
    return np.asarray((a >= 0) & (a == junction_of[network.link_to_node]), dtype=np.bool_)


def _with_priority(
    network: SimNetwork, junctions: pd.DataFrame, link_roundabout: np.ndarray | None
) -> SimNetwork:
    rank = np.zeros(network.link_count, dtype=np.int8)
    gap = np.zeros(network.node_count)
    if link_roundabout is not None:
        # entries give way to traffic already on the roundabout (any node where both meet)
        for node in range(network.node_count):
            ins = network.node_in_links[network.node_in_indptr[node] : network.node_in_indptr[node + 1]]
            on_ring = link_roundabout[ins]
            if ins.size >= 2 and on_ring.any() and not on_ring.all():
                rank[ins[~on_ring]] = 1
                gap[node] = ROUNDABOUT_GAP_S
    for control, node_ids in zip(junctions["control"], junctions["node_ids"], strict=True):
        critical = GIVE_WAY_GAP_S.get(str(control))
        if critical is None:
            continue
        for node in np.asarray(node_ids, dtype=np.int64):
            if not 0 <= node < network.node_count:
                continue
            ins = network.node_in_links[network.node_in_indptr[node] : network.node_in_indptr[node + 1]]
            if ins.size < 2:
                continue
            cap = network.link_capacity_vph[ins]
            rank[ins[cap < 0.8 * cap.max()]] = 1
            gap[node] = critical
    return network.with_control(link_rank=rank, node_critical_gap_s=gap)


def signal_nodes(twin: Twin, network: SimNetwork) -> list[int]:
    """Nodes of signalised junctions with at least one outgoing car link and one incoming car link from
    outside the junction (links inside it have no stop line, see the module docstring)."""
    out: list[int] = []
    signals = twin.junctions[twin.junctions["control"] == "signals"]
    for node_ids in signals["node_ids"]:
        for node in np.asarray(node_ids, dtype=np.int64):
            n = int(node)
            if 0 <= n < network.node_count:
                in_links = network.node_in_links[network.node_in_indptr[n] : network.node_in_indptr[n + 1]]
                ins = sum(not network.is_junction_internal(int(i)) for i in in_links)
                outs = network.node_out_indptr[n + 1] - network.node_out_indptr[n]
                if ins and outs:
                    out.append(n)
    return sorted(set(out))


def demand_from_twin(twin: Twin) -> Demand:
    """The twin's car trips as simulator vehicles."""
    trips = twin.trips
    if "mode" in trips.columns:
        trips = trips[trips["mode"] == "car"]
    return make_demand(
        trips["origin_node_id"].to_numpy(),
        trips["destination_node_id"].to_numpy(),
        trips["departure_time_s"].to_numpy(dtype=np.float64),
        trips["trip_id"].to_numpy(dtype=np.int64),
    )

"""Code a twin's network for both engines: stop-line capacities and junction delays as link columns.

The build calls :func:`code_network` on the finished twin. Saturation flows and storage come from the
links alone (:func:`metaliverpool.network.coding.code_links`); green ratios and cycles come from the
Webster plans the simulator itself derives for the twin (``metaliverpool simulate --signals webster``:
incremental-loading turn flows over the departure window, ``sim.signals.webster_signal_plan``); give-way
approaches are those the simulator ranks minor (``sim.twin_network.sim_network_from_twin``), with its
critical gap, against the incremental-loading flow of the node's major approaches.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from metaliverpool.network.coding import CODED_LINK_COLUMNS, code_links
from metaliverpool.network.twin import Twin
from metaliverpool.sim.routing import route_incremental
from metaliverpool.sim.signals import link_green_ratio, turn_flows_vph, webster_signal_plan
from metaliverpool.sim.twin_network import demand_from_twin, signal_nodes, sim_network_from_twin


def code_network(twin: Twin) -> Twin:
    """``twin`` with the coded link columns (:data:`CODED_LINK_COLUMNS`) added or replaced."""
    links = twin.links.drop(columns=[c for c in CODED_LINK_COLUMNS if c in twin.links.columns])
    flat = code_links(
        links["lanes"].to_numpy(dtype=np.float64),
        np.ones(len(links)),
        np.zeros(len(links)),
        np.zeros(len(links)),
        np.zeros(len(links)),
    )
    saturated = dataclasses.replace(twin, links=pd.concat([links, flat.set_index(links.index)], axis=1))
    network = sim_network_from_twin(saturated)
    demand = demand_from_twin(saturated)
    ratio = np.ones(network.link_count)
    cycle = np.zeros(network.link_count)
    link_flow_vph = np.zeros(network.link_count)
    if demand.vehicle_count:
        window_s = max(float(demand.departure_time_s.max()), 1.0)
        routes = route_incremental(network, demand)
        per_path = np.bincount(routes.veh_path, minlength=routes.path_count).astype(np.float64)
        for p in np.flatnonzero(per_path):
            link_flow_vph[routes.links_of(int(p))] += per_path[p] * 3600.0 / window_s
        nodes = signal_nodes(saturated, network)
        if nodes:
            plan = webster_signal_plan(network, nodes, turn_flows_vph(network, routes, window_s))
            ratio, cycle = link_green_ratio(network, plan)
    node = network.link_to_node
    major_vph = np.bincount(node, weights=np.where(network.link_rank == 0, link_flow_vph, 0.0))
    major_vph = np.pad(major_vph, (0, network.node_count - major_vph.size))
    minor = network.link_rank > 0
    gap = np.where(minor, network.node_critical_gap_s[node], 0.0)
    conflicting = np.where(minor, major_vph[node], 0.0)
    row = pd.Series(np.arange(len(links)), index=links["link_id"].to_numpy())
    car_rows = row.reindex(network.link_external_id).to_numpy()
    full_ratio, full_cycle, full_gap, full_conf = (np.ones(len(links)), *np.zeros((3, len(links))))
    full_ratio[car_rows], full_cycle[car_rows] = ratio, cycle
    full_gap[car_rows], full_conf[car_rows] = gap, conflicting
    coded = code_links(links["lanes"].to_numpy(dtype=np.float64), full_ratio, full_cycle, full_gap, full_conf)
    return dataclasses.replace(twin, links=pd.concat([links, coded.set_index(links.index)], axis=1))

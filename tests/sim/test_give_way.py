"""A give-way approach of a twin: the simulator passes Harders' gap-acceptance capacity (HCM 2000 eq. 17-3),
the capacity the network coding gives the static engine (``docs/network-coding.md``: one meaning of
capacity), with the twin's critical gap (``sim.twin_network.GIVE_WAY_GAP_S``) and the minor queue following
up at its saturation headway."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import shapely

from metaliverpool.ingest.coding import code_network
from metaliverpool.network.coding import give_way_capacity_vph
from metaliverpool.network.twin import Twin
from metaliverpool.sim.demand import make_demand
from metaliverpool.sim.twin_network import GIVE_WAY_GAP_S, sim_network_from_twin
from small_twins import LAT0, LON0, LinkSpec, make_twin

from .helpers import assert_minor_waits_critical_gap, merged_entries, run_free_flow_routes

MAJOR_VPH = 600.0


def _t_junction() -> tuple[Twin, int, int, int]:
    """A primary road 0 -> 1 -> 2 (two lanes) with a residential street 3 -> 1 giving way at node 1."""
    points = [(LON0, LAT0), (LON0 + 0.01, LAT0), (LON0 + 0.02, LAT0), (LON0 + 0.01, LAT0 - 0.01)]
    links = [
        LinkSpec(0, 1, 1, highway="primary", lanes=2, capacity_vph=3000.0, oneway=True),
        LinkSpec(1, 2, 1, highway="primary", lanes=2, capacity_vph=3000.0, oneway=True),
        LinkSpec(3, 1, 2, highway="residential", lanes=1, capacity_vph=600.0, oneway=True),
    ]
    twin = make_twin(points, links)
    lon, lat = points[1]
    junctions = pd.DataFrame(
        {
            "junction_id": np.array([0], dtype=np.int32),
            "control": ["give_way"],
            "node_ids": [[1]],
            "osm_node_ids": [[1001]],
            "lon": [lon],
            "lat": [lat],
            "geometry": [shapely.Point(lon, lat)],
        }
    )
    return dataclasses.replace(twin, junctions=junctions), 0, 1, 2


def test_minor_approach_passes_harders_capacity() -> None:
    twin, major_in, out, minor_in = _t_junction()
    critical_s = GIVE_WAY_GAP_S["give_way"]
    coded = code_network(twin)
    network = sim_network_from_twin(coded)
    assert network.link_rank[minor_in] == 1 and network.link_rank[major_in] == 0
    assert network.node_critical_gap_s[1] == critical_s
    # the minor queue follows up at its saturation headway; the static engine's capacity of the approach
    # is Harders' with that follow-up (coded against its own major flow: no trips here, so 1 / follow-up)
    follow_up_s = 3600.0 / float(network.link_capacity_vph[minor_in])
    links = coded.links.set_index("link_id")
    assert follow_up_s == pytest.approx(3600.0 / links.loc[minor_in, "saturation_flow_vph"])
    assert links.loc[minor_in, "stop_line_capacity_vph"] == pytest.approx(3600.0 / follow_up_s)

    # major: random (Poisson) arrivals at 600 veh/h; minor: always queued; three hours
    horizon_s = 3 * 3600.0
    rng = np.random.default_rng(7)
    major = np.cumsum(rng.exponential(3600.0 / MAJOR_VPH, size=int(MAJOR_VPH * 3.2)))
    major = major[major < horizon_s]
    minor = np.arange(0.0, horizon_s, 1.0)
    demand = make_demand(
        np.r_[np.zeros(major.size), np.full(minor.size, 3)],
        np.full(major.size + minor.size, 2),
        np.r_[major, minor],
    )
    result = run_free_flow_routes(
        network, demand, horizon_s=horizon_s, record_link_events=True, keep_events=True
    )
    times, is_minor = merged_entries(result, demand, out_link=out, minor_origin=3)
    window = (times >= 1800.0) & (times < horizon_s - 1800.0)  # queue formed, majors still arriving
    hours = (horizon_s - 3600.0) / 3600.0
    minor_vph = float(np.sum(is_minor & window)) / hours
    major_vph = float(np.sum(~is_minor & window)) / hours
    # against the formula at the major flow that actually passed (published form, HCM 2000 eq. 17-3)
    expected = float(give_way_capacity_vph(major_vph, critical_s, follow_up_s))
    assert minor_vph == pytest.approx(expected, rel=0.06), (minor_vph, major_vph, expected)
    assert major_vph == pytest.approx(MAJOR_VPH, rel=0.1)
    assert_minor_waits_critical_gap(times, is_minor, critical_s)

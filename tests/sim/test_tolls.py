"""Route choice in the dynamic assignment weighs tolls by the value of time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from metaliverpool.sim.demand import make_demand
from metaliverpool.sim.dta import DtaConfig, run_dta
from metaliverpool.sim.engine import SimConfig
from metaliverpool.sim.signals import empty_signal_plan

from .helpers import parallel_routes_network


@pytest.mark.parametrize(("value_of_time_gbp_per_h", "tolled_used"), [(10.0, False), (1000.0, True)])
def test_toll_against_time_saving(value_of_time_gbp_per_h: float, tolled_used: bool) -> None:
    # 0 -> 1 direct: 60 s with a 2 GBP toll; via node 2: 70 s, free. At 10 GBP/h the toll is worth 720 s
    # (take the detour); at 1,000 GBP/h it is worth 7.2 s (67.2 s < 70 s: pay)
    network = replace(parallel_routes_network(1800.0), link_toll_gbp=np.array([2.0, 0.0, 0.0]))
    demand = make_demand(np.zeros(20), np.ones(20), np.arange(20) * 30.0)
    out = run_dta(
        network,
        empty_signal_plan(network),
        demand,
        SimConfig(horizon_s=3600.0),
        DtaConfig(iterations=2, value_of_time_gbp_per_h=value_of_time_gbp_per_h),
    )
    routes = out.result.routes
    on_direct = np.array([0 in routes.links_of(p) for p in routes.veh_path])
    assert np.all(on_direct == tolled_used)
    # everyone is on the cheapest path, so the gap in generalised cost is zero
    assert out.iterations[-1].relative_gap == pytest.approx(0.0, abs=1e-9)

"""The DTA path swap rule: its probabilities, and the split it reaches on two parallel routes against
the analytic dynamic user equilibrium of a point bottleneck."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaliverpool.sim.demand import make_demand
from metaliverpool.sim.dta import DtaConfig, run_dta, swap_probability
from metaliverpool.sim.engine import SimConfig
from metaliverpool.sim.network import build_sim_network
from metaliverpool.sim.signals import empty_signal_plan

# direct link 0 -> 1: 600 m at 10 m/s (60 s), 900 veh/h; detour 0 -> 2 -> 1: 2 x 350 m (70 s), 1,800 veh/h
BOTTLENECK_VPH = 900.0
DEMAND_VPH = 1350.0


def _two_routes_run(dta: DtaConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float]]:
    network = build_sim_network(
        node_count=3,
        link_from_node=[0, 0, 2],
        link_to_node=[1, 2, 1],
        link_length_m=[600.0, 350.0, 350.0],
        link_free_speed_mps=[10.0] * 3,
        link_capacity_vph=[BOTTLENECK_VPH, 1800.0, 1800.0],
    )
    count = 1200
    demand = make_demand(np.zeros(count), np.ones(count), np.arange(count) * 3600.0 / DEMAND_VPH)
    out = run_dta(network, empty_signal_plan(network), demand, SimConfig(horizon_s=7200.0), dta)
    routes = out.result.routes
    direct = np.array([0 in routes.links_of(p) for p in routes.veh_path])
    time_s = out.result.veh_arrive_s - demand.departure_time_s
    gaps = [it.relative_gap for it in out.iterations]
    return demand.departure_time_s, direct, time_s, gaps


@pytest.mark.parametrize(
    ("dta", "share_tolerance"),
    [
        (DtaConfig(20, swap_rule="proportional", swap_indifference=0.0, swap_min_saving_s=0.0), 0.03),
        # the default band (a saving under 5 s is not worth a switch) lets the queue on the direct
        # route settle anywhere up to 15 s, so the split lands a little below the exact one
        (DtaConfig(iterations=20, swap_rule="proportional"), 0.06),
    ],
)
def test_two_routes_reach_the_bottleneck_equilibrium(dta: DtaConfig, share_tolerance: float) -> None:
    # dynamic user equilibrium of a point bottleneck (Vickrey 1969): while demand (1,350 veh/h) exceeds
    # the direct route's capacity (900 veh/h), the direct route queues until it costs as much as the
    # 70 s detour and carries exactly its capacity, so 900 / 1,350 = 2/3 of the vehicles use it and
    # both routes take ~70 s; the detour (1,800 veh/h) carries the rest without a queue
    depart_s, direct, time_s, gaps = _two_routes_run(dta)
    steady = (depart_s > 600.0) & (depart_s < 2400.0)  # away from the start-up and the tail
    assert direct[steady].mean() == pytest.approx(BOTTLENECK_VPH / DEMAND_VPH, abs=share_tolerance)
    assert np.median(time_s[steady & ~direct]) == pytest.approx(70.0, abs=3.0)
    assert np.median(time_s[steady & direct]) == pytest.approx(70.0, abs=15.0)
    # the first iteration sends everyone on the 60 s route (a queue of ~15 min builds); the swaps
    # bring the gap down by more than an order of magnitude
    assert gaps[0] > 0.5
    assert gaps[-1] < gaps[0] / 10.0


def test_msa_reaches_the_same_split() -> None:
    depart_s, direct, _, gaps = _two_routes_run(DtaConfig(iterations=20, swap_rule="msa"))
    steady = (depart_s > 600.0) & (depart_s < 2400.0)
    assert direct[steady].mean() == pytest.approx(BOTTLENECK_VPH / DEMAND_VPH, abs=0.03)
    assert gaps[-1] < gaps[0] / 10.0


def test_swap_probability_known_values() -> None:
    own = np.array([100.0, 100.0, 100.0, 100.0, 100.0, 1000.0, 100.0])
    best = np.array([75.0, 40.0, 99.0, 100.0, np.inf, 996.0, 120.0])
    cfg = DtaConfig(swap_rule="proportional")  # full step at 50 % excess, band 2 % and 5 s
    # iteration 1: step 1/2; 25 % excess -> half the step; 60 % -> the full step; 1 % -> inside the
    # band; none / unreachable / 0.4 % but 4 s -> 0; a slower best -> 0
    np.testing.assert_allclose(swap_probability(own, best, 1, cfg), [0.25, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(swap_probability(own, best, 3, cfg)[:2], [0.125, 0.25])
    msa = DtaConfig(swap_rule="msa")
    np.testing.assert_allclose(
        swap_probability(own, best, 2, msa), [1 / 3, 1 / 3, 1 / 3, 0.0, 0.0, 1 / 3, 0.0]
    )


@settings(max_examples=200, deadline=None)
@given(
    own_s=st.floats(1.0, 1e5),
    saving_a=st.floats(-1e3, 1e5),
    saving_b=st.floats(-1e3, 1e5),
    iteration=st.integers(1, 50),
    full=st.floats(0.01, 1.0),
    band=st.floats(0.0, 0.2),
    band_s=st.floats(0.0, 120.0),
)
def test_swap_probability_bounded_and_monotone(
    own_s: float, saving_a: float, saving_b: float, iteration: int, full: float, band: float, band_s: float
) -> None:
    cfg = DtaConfig(
        swap_rule="proportional", swap_full_excess=full, swap_indifference=band, swap_min_saving_s=band_s
    )
    low, high = sorted([min(saving_a, own_s), min(saving_b, own_s)])
    own = np.array([own_s, own_s])
    p = swap_probability(own, own - np.array([low, high]), iteration, cfg)
    assert np.all((p >= 0.0) & (p <= 1.0 / (iteration + 1) + 1e-12))
    assert p[1] >= p[0]  # a larger saving never makes a switch less likely
    if low <= 0.0 or low < max(band * own_s, band_s):  # no saving, or inside the band
        assert p[0] == 0.0


def test_unknown_swap_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="swap_rule"):
        DtaConfig(swap_rule="logit")

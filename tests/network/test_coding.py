"""Network coding: published formulas (known answers) and the static cost built on them."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metaliverpool.kernels.vdf import VDF_BPR, time_one
from metaliverpool.network.coding import (
    code_links,
    give_way_capacity_vph,
    link_saturation_flow_vph,
    rr67_saturation_flow_pcu_per_h,
    uniform_delay_s,
)


def test_rr67_saturation_flow_known_answers() -> None:
    """TRL RR67: S0 = 2080 - 42 G + 100 (w - 3.25); nearside -140; turning / (1 + 1.5 f / r)."""
    assert rr67_saturation_flow_pcu_per_h() == 2080.0
    assert rr67_saturation_flow_pcu_per_h(nearside=True) == 1940.0
    assert math.isclose(rr67_saturation_flow_pcu_per_h(lane_width_m=3.65), 2120.0)
    assert math.isclose(rr67_saturation_flow_pcu_per_h(uphill_gradient_percent=2.0), 1996.0)
    assert rr67_saturation_flow_pcu_per_h(uphill_gradient_percent=-3.0) == 2080.0  # downhill: no gain
    assert math.isclose(
        rr67_saturation_flow_pcu_per_h(turning_share=1.0, turning_radius_m=15.0), 2080.0 / 1.1
    )
    np.testing.assert_allclose(link_saturation_flow_vph([1, 2, 3, 0.5]), [1940, 4020, 6100, 1940])


def test_webster_uniform_delay_and_harders_capacity_known_answers() -> None:
    # Webster's first term at zero flow, C (1 - g/C)^2 / 2: 90 s cycle, half green -> 11.25 s
    np.testing.assert_allclose(uniform_delay_s([90.0, 60.0, 0.0], [0.5, 1.0, 0.3]), [11.25, 0.0, 0.0])
    # Harders (HCM 2000 eq. 17-3): v = 500 veh/h, tc = 6.5 s, tf = 3.3 s
    v = 500.0 / 3600.0
    expected = v * math.exp(-v * 6.5) / (1.0 - math.exp(-v * 3.3)) * 3600.0
    assert math.isclose(float(give_way_capacity_vph(500.0, 6.5, 3.3)), expected, rel_tol=1e-12)
    assert 540.0 < expected < 560.0  # about 551 veh/h
    assert math.isclose(float(give_way_capacity_vph(0.0, 3.0, 2.0)), 1800.0)
    flows = np.linspace(0.0, 3000.0, 31)
    assert np.all(np.diff(give_way_capacity_vph(flows, 3.0, 1.8)) < 0)


def test_code_links_capacity_by_control() -> None:
    coded = code_links(
        lanes=[2, 1, 1],
        green_ratio=[0.4, 1.0, 1.0],
        cycle_s=[100.0, 0.0, 0.0],
        give_way_gap_s=[0.0, 3.0, 0.0],
        conflicting_flow_vph=[0.0, 600.0, 0.0],
    )
    np.testing.assert_allclose(coded["stop_line_capacity_vph"][[0, 2]], [4020 * 0.4, 1940])
    np.testing.assert_allclose(coded["junction_delay_s"], [100 * 0.36 / 2, 0, 0])
    harders = give_way_capacity_vph(600.0, 3.0, 3600.0 / 1940.0)
    assert math.isclose(coded["stop_line_capacity_vph"][1], float(harders))


@settings(deadline=None)
@given(
    free_s=st.floats(0.5, 300.0),
    cycle_s=st.floats(30.0, 150.0),
    green_ratio=st.floats(0.1, 1.0),
    lanes=st.integers(1, 4),
    flows=st.lists(st.floats(0.0, 20_000.0), min_size=2, max_size=8),
)
def test_static_cost_with_junction_delay(
    free_s: float, cycle_s: float, green_ratio: float, lanes: int, flows: list[float]
) -> None:
    """The static engine's link time on a coded link (``RoadGraph.from_twin``): BPR on free-flow time plus
    uniform delay, at the stop-line capacity; equal to free + uniform delay at zero flow, increasing."""
    coded = code_links([lanes], [green_ratio], [cycle_s], [0.0], [0.0])
    t0 = free_s + float(coded["junction_delay_s"][0])
    capacity = float(coded["stop_line_capacity_vph"][0])
    zero = time_one(VDF_BPR, t0, 0.15, 4.0, capacity, 0.0)
    assert math.isclose(zero, free_s + cycle_s * (1 - green_ratio) ** 2 / 2, rel_tol=1e-12)
    times = [time_one(VDF_BPR, t0, 0.15, 4.0, capacity, f) for f in sorted(flows)]
    assert all(b >= a for a, b in itertools.pairwise(times))
    # at the stop-line capacity the BPR term adds 15%: the junction's capacity is the one that congests
    assert math.isclose(time_one(VDF_BPR, t0, 0.15, 4.0, capacity, capacity), 1.15 * t0, rel_tol=1e-12)

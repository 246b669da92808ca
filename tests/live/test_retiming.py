"""The signal loop's retimings: simulated effect with and without, and the queue-cap guardrail."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from live.signal_twins import crossroads_twin
from metaliverpool.control.retiming import (
    RetimingConfig,
    TimingPlan,
    approach_links,
    candidate_timings,
    period_demand,
    propose_retiming,
    simulate_effect,
    with_timing,
)
from metaliverpool.service.live_baseline import BaselineCase, baseline_case
from metaliverpool.service.signal_desk import busiest_start_s


@pytest.fixture(scope="module")
def case() -> BaselineCase:
    return baseline_case(crossroads_twin())


def _start(case: BaselineCase) -> float:
    return busiest_start_s(case.demand.departure_time_s)


def test_a_proposal_saves_time_and_its_queues_are_what_a_fresh_simulation_gives(case: BaselineCase) -> None:
    config = RetimingConfig()
    found = propose_retiming(case.network, case.plan, case.demand, case.routes, 0, _start(case), config)
    assert found.proposal is not None
    assert found.proposal.effect.travel_time_s < found.without.travel_time_s * (
        1 - config.min_saving_fraction
    )
    # the same period simulated again, independently, with the proposed plan
    demand, routes, in_period = period_demand(case.demand, case.routes, _start(case), config)
    approaches = approach_links(case.network, found.node)
    again = simulate_effect(
        case.network,
        with_timing(case.plan, 0, found.proposal.timing),
        demand,
        routes,
        in_period,
        approaches,
        config.period_s + config.clearance_s + min(_start(case), config.warm_up_s),
        config,
    )
    assert again == found.proposal.effect
    assert all(again.max_queue_veh[k] <= found.queue_cap_veh[k] for k in approaches)
    # the busy street (Castle Street, east-west) gets more of the cycle than the quiet one
    shares = [g / sum(found.proposal.timing.green_s) for g in found.proposal.timing.green_s]
    assert len(approaches) == 4 and max(shares) > 0.6


def test_a_plan_that_breaks_the_queue_cap_is_never_proposed(case: BaselineCase) -> None:
    loose = propose_retiming(
        case.network,
        case.plan,
        case.demand,
        case.routes,
        0,
        _start(case),
        RetimingConfig(queue_cap_fraction=1.0),
    )
    assert loose.proposal is not None
    storage = case.network.link_storage_veh
    # a cap just below the unconstrained best plan's worst queue (relative to storage)
    worst = max(q / float(storage[k]) for k, q in loose.proposal.effect.max_queue_veh.items())
    tight = propose_retiming(
        case.network,
        case.plan,
        case.demand,
        case.routes,
        0,
        _start(case),
        RetimingConfig(queue_cap_fraction=worst * 0.99),
    )
    verdicts = {c.timing: c.verdict for c in tight.candidates}
    assert verdicts[loose.proposal.timing] == "breaks_queue_cap"
    for candidate in tight.candidates:
        over = any(candidate.effect.max_queue_veh[k] > cap for k, cap in tight.queue_cap_veh.items())
        assert over == (candidate.verdict == "breaks_queue_cap")
    if tight.proposal is not None:
        assert tight.proposal.timing != loose.proposal.timing
        assert all(tight.proposal.effect.max_queue_veh[k] <= c for k, c in tight.queue_cap_veh.items())


def test_no_proposal_when_every_candidate_breaks_the_cap(case: BaselineCase) -> None:
    found = propose_retiming(
        case.network,
        case.plan,
        case.demand,
        case.routes,
        0,
        _start(case),
        RetimingConfig(queue_cap_fraction=0.01),
    )
    assert found.proposal is None
    assert found.candidates and all(c.verdict == "breaks_queue_cap" for c in found.candidates)


@settings(max_examples=60, deadline=None)
@given(
    greens=st.lists(st.floats(7.0, 90.0), min_size=2, max_size=4),
    intergreen_s=st.floats(3.0, 6.0),
)
def test_candidates_keep_phases_minimum_greens_and_cycle_bounds(
    greens: list[float], intergreen_s: float
) -> None:
    current = TimingPlan(tuple(greens), (intergreen_s,) * len(greens), (0.0,) * len(greens), 0.0)
    config = RetimingConfig()
    found = candidate_timings(current, config)
    assert current not in found
    for timing in found:
        assert len(timing.green_s) == len(greens)
        assert min(timing.green_s) >= config.min_green_s
        assert timing.amber_s == current.amber_s and timing.all_red_s == current.all_red_s
        # rounding and minimum greens may stretch a cycle a little past its bound, never by a phase
        assert timing.cycle_s <= max(config.max_cycle_s, current.cycle_s) + len(greens) * (
            config.min_green_s + 1
        )


def test_with_timing_refuses_another_phase_count(case: BaselineCase) -> None:
    current = dataclasses.replace(TimingPlan((30.0,), (3.0,), (2.0,), 0.0))
    with pytest.raises(ValueError, match="phases"):
        with_timing(case.plan, 0, current)

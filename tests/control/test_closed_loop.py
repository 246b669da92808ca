"""The AI loop: risk forecast, flagging, and the counterfactual pair on a small twin."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metaliverpool.control.closed_loop import (
    TrendRiskForecaster,
    junction_blocking_risk,
    risk_forecast_scores,
)
from metaliverpool.edits import apply_edits, parse_scenario
from metaliverpool.edits.schema import RunSettings
from metaliverpool.errors import InputError
from metaliverpool.scenario.dynamic import baseline_turn_flows, run_dynamic
from metaliverpool.scenario.pipeline import prepare_twins, read_scenario_twin
from metaliverpool.scenario.risk_profile import (
    RiskProfile,
    attach_risk_profile,
    load_risk_profile,
    save_risk_profile,
    simulate_risk_profile,
)
from metaliverpool.sim.control_api import SignalObservation
from metaliverpool.store.bundle import write_twin
from small_twins import two_route_twin


def test_trend_forecaster_extrapolates_a_rising_risk_and_holds_a_flat_one() -> None:
    forecaster = TrendRiskForecaster()
    for risk in (0.1, 0.2, 0.3, 0.4):
        forecaster.update(np.array([risk, 0.2]))
    ahead = forecaster.forecast(6.0)  # 30 min ahead in 5-minute samples
    assert ahead[0] > 0.8  # rising 0.1 per sample: at risk well before 30 min
    assert ahead[1] == pytest.approx(0.2)
    assert np.all((ahead >= 0) & (ahead <= 1))


def test_blocking_risk_counts_only_exits_that_waiting_vehicles_want() -> None:
    observation = SignalObservation(
        time_s=600.0,
        junction_id=np.array([0, 1], dtype=np.int32),
        phase_index=np.zeros(2, dtype=np.int32),
        phase_elapsed_s=np.zeros(2),
        in_transition=np.zeros(2, dtype=bool),
        phase_count=np.array([2, 2], dtype=np.int32),
        movement_indptr=np.array([0, 2, 4]),
        movement_in_link_id=np.array([0, 1, 2, 3], dtype=np.int32),
        movement_out_link_id=np.array([4, 5, 6, 7], dtype=np.int32),
        movement_queue_veh=np.array([3.0, 0.0, 0.0, 0.0]),
        movement_approaching_veh=np.array([0.0, 0.0, 1.0, 0.0]),
        movement_out_occupancy=np.array([0.5, 1.0, 0.9, 1.0]),
        phase_movement_mask=np.array([1, 2, 1, 2]),
    )
    # junction 0: the full exit (1.0) has nobody waiting for it; junction 1: 0.9 is wanted
    assert junction_blocking_risk(observation) == pytest.approx([0.5, 0.9])


def _scenario(threshold: float, forecast: str = "trend") -> object:
    edit = {"kind": "ai_signal_control", "risk_threshold": threshold, "sample_interval_s": 120}
    return parse_scenario(
        {
            "schema_version": 2,
            "name": "ai loop",
            "edits": [{**edit, "forecast": forecast}],
            "run": {"engine": "dynamic", "dta_iterations": 1, "seeds": [1]},
        },
        "ai.yaml",
    )


def test_the_loop_is_compared_with_the_base_twin_and_its_disabled_form_never_steers() -> None:
    twin = two_route_twin(trips_per_hour=1800)
    scenario = _scenario(threshold=0.05)
    twins = prepare_twins(scenario, twin)  # type: ignore[arg-type]
    base, edited = twins.base, twins.scenario
    assert edited.junctions["ai_control"].any()
    assert "ai_control" not in base.junctions.columns, "the baseline is the base twin as it is"
    flows = baseline_turn_flows(base)
    settings = RunSettings(engine="dynamic", dta_iterations=1)
    loop = run_dynamic(edited, settings, 1, flows).summary["ai_loop"]
    disabled = apply_edits(twin, [scenario.edits[0].model_copy(update={"enabled": False})])  # type: ignore[attr-defined]
    measured = run_dynamic(disabled, settings, 1, flows).summary["ai_loop"]
    assert loop["eligible_signals"] == 1 and measured["eligible_signals"] == 0
    assert measured["flagged"] == []
    # a low threshold: the junction's busy exit is forecast at risk and the loop takes it over
    assert len(loop["flagged"]) == 1 and loop["flagged"][0]["osm_node_id"] == 1002
    assert loop["flagged"][0]["forecast"] >= 0.05
    # the disabled loop measured the risk all along: its forecasts can be scored against what followed
    assert measured["risk_forecast"]["n"] > 0 and loop["forecast"] == "trend"


def test_reactive_loop_flags_on_the_risk_now() -> None:
    twin = two_route_twin(trips_per_hour=1800)
    edited = prepare_twins(_scenario(threshold=0.05, forecast="reactive"), twin).scenario  # type: ignore[arg-type]
    summary = run_dynamic(
        edited, RunSettings(engine="dynamic", dta_iterations=1), 1, baseline_turn_flows(twin)
    ).summary["ai_loop"]
    assert summary["forecast"] == "reactive" and len(summary["flagged"]) == 1
    flag = summary["flagged"][0]
    assert flag["forecast"] == flag["risk"] >= 0.05


def test_risk_forecast_scores_count_errors_hits_and_misses() -> None:
    risk = [np.array([0.0, 0.2, 0.9]), np.array([0.0, 0.4, 0.8]), np.array([0.0, 0.6, 0.0])]
    trend = [np.array([0.0, 0.6, 0.7]), np.array([0.0, 0.8, 0.7]), np.array([0.0, 0.8, 0.0])]
    scores = risk_forecast_scores(risk, {"trend": trend}, steps=1, threshold=0.5)
    # pairs (t, t+1) with traffic: junctions 1 and 2 at t=0 and t=1 (junction 0 idle throughout)
    assert scores["n"] == 4
    assert scores["abs_error_trend"] == pytest.approx(0.2 + 0.1 + 0.2 + 0.7)
    assert scores["abs_error_persistence"] == pytest.approx(0.2 + 0.1 + 0.2 + 0.8)
    # events "later >= 0.5": (t=0, j=2) and (t=1, j=1)
    assert (scores["hits_trend"], scores["false_alarms_trend"], scores["misses_trend"]) == (2, 2, 0)
    assert (
        scores["hits_persistence"],
        scores["false_alarms_persistence"],
        scores["misses_persistence"],
    ) == (1, 1, 1)


def test_a_junction_never_near_blocking_is_left_on_its_plan() -> None:
    twin = two_route_twin(trips_per_hour=300)
    edited = prepare_twins(_scenario(threshold=1.0), twin).scenario  # type: ignore[arg-type]
    summary = run_dynamic(
        edited, RunSettings(engine="dynamic", dta_iterations=1), 1, baseline_turn_flows(twin)
    )
    assert summary.summary["ai_loop"]["flagged"] == []


def test_history_loop_flags_on_the_junction_history_of_earlier_mornings(tmp_path: Path) -> None:
    twin = two_route_twin(trips_per_hour=1800)
    settings = RunSettings(engine="dynamic", dta_iterations=1)
    profile, scores = simulate_risk_profile(twin, settings, mornings=2, first_seed=50, sample_interval_s=120)
    assert list(profile.osm_node_ids) == [1002] and profile.profile.shape[1] == 1
    assert scores["pairs"] > 0 and set(scores) >= {"history", "trend", "persistence"}
    path = tmp_path / "junction-risk.npz"
    save_risk_profile(profile, path)
    loaded = load_risk_profile(path)
    np.testing.assert_allclose(loaded.profile, profile.profile)

    scenario = _scenario(threshold=0.05, forecast="history")
    with_history = attach_risk_profile(twin, loaded, scenario, path)  # type: ignore[arg-type]
    twins = prepare_twins(scenario, with_history)  # type: ignore[arg-type]
    summary = run_dynamic(twins.scenario, settings, 1, baseline_turn_flows(twins.base)).summary["ai_loop"]
    assert summary["forecast"] == "history" and len(summary["flagged"]) == 1
    flag = summary["flagged"][0]
    # the forecast that flagged it is the history at the target slot (sample k at (k + 1) x 120 s)
    k = round(flag["time_s"] / 120) - 1
    target = min(k + round(1800 / 120), profile.profile.shape[0] - 1)
    assert flag["forecast"] == pytest.approx(round(profile.profile[target, 0], 4), abs=1e-3)
    assert summary["risk_forecast"]["abs_error_history"] >= 0.0  # the history is scored with the others


def test_history_forecast_needs_a_profile_sampled_like_the_edit(tmp_path: Path) -> None:
    scenario = _scenario(threshold=0.5, forecast="history")
    twin_dir = write_twin(two_route_twin(), tmp_path / "twin")
    with pytest.raises(InputError, match="train-risk"):
        read_scenario_twin(scenario, twin_dir)  # type: ignore[arg-type]
    profile = RiskProfile(np.array([1002]), np.zeros((10, 1)), 300.0, 2, 0)
    with pytest.raises(InputError, match="sample-interval-s 120"):
        attach_risk_profile(two_route_twin(), profile, scenario, tmp_path / "p.npz")  # type: ignore[arg-type]

"""The per-horizon guard: the model used is never worse on validation than persistence and the historical
average; learned models predict the change from now."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from metaliverpool.predict.dataset import build_problem
from metaliverpool.predict.features import change_target, from_change
from metaliverpool.predict.gbm import LightGBMForecaster
from metaliverpool.predict.selection import choose_per_horizon
from metaliverpool.predict.series import SensorSeries
from metaliverpool.predict.stid import STIDForecaster
from metaliverpool.predict.synthetic import generate_history
from predict.guard_check import guarded_never_worse_on_validation

maes = st.floats(min_value=0.0, max_value=10.0, allow_nan=False)


@given(st.lists(st.tuples(maes, maes, maes), min_size=1, max_size=6))
def test_choice_is_the_lowest_mae_and_learned_only_when_strictly_better(
    rows: list[tuple[float, ...]],
) -> None:
    mae = {"stid": [r[0] for r in rows], "persistence": [r[1] for r in rows], "ha": [r[2] for r in rows]}
    choice = choose_per_horizon(mae, "stid")
    for k, chosen in enumerate(choice):
        assert mae[chosen][k] == min(mae[name][k] for name in mae)
        assert (chosen == "stid") == (mae["stid"][k] < min(mae["persistence"][k], mae["ha"][k]))


@pytest.mark.parametrize("seed", [0, 1])
def test_used_model_never_worse_than_baselines_on_generated_corridor(seed: int) -> None:
    history = generate_history(n_days=21, interval_min=15.0, seed=seed)
    choices = guarded_never_worse_on_validation(
        history.speed, history.adjacency, [LightGBMForecaster(n_estimators=60), STIDForecaster(max_epochs=6)]
    )
    assert set(choices) == {"lgbm", "stid"}


def test_guard_uses_persistence_where_the_learned_model_loses_and_the_model_where_it_wins() -> None:
    """A random walk (its change is unpredictable) on a daily wave (its change grows with the horizon):
    at 15 minutes the walk dominates and the neural model loses to persistence on validation; from 30
    minutes the wave's predictable part makes it win. The guard follows."""
    rng = np.random.default_rng(3)
    spd, days, n = 96, 21, 4
    wave = 4.0 * np.sin(2 * np.pi * (np.arange(spd * days) % spd) / spd)
    values = 12.0 + wave[:, None] + np.cumsum(rng.normal(0.0, 0.6, (spd * days, n)), axis=0)
    series = SensorSeries(values=values, sensor_ids=tuple(map(str, range(n))), interval_s=900.0)
    choices = guarded_never_worse_on_validation(
        series, None, [STIDForecaster(max_epochs=6)], (15.0, 30.0, 60.0, 120.0, 240.0)
    )
    assert choices["stid"][0] == "persistence" and choices["stid"][-1] == "stid", choices


@given(
    arrays(np.float64, (40, 3), elements=st.floats(-50, 50, allow_nan=False)),
    st.sampled_from([(1,), (1, 4), (2, 3, 5)]),
)
def test_change_target_and_back_gives_the_level(values: np.ndarray, horizons: tuple[int, ...]) -> None:
    """An exact model of the change from now forecasts exactly the level a level target would."""
    values = values.copy()
    values[7, 1] = np.nan  # a missing target stays missing; a missing input is filled
    series = SensorSeries(values=values, sensor_ids=("a", "b", "c"), interval_s=300.0)
    problem = build_problem(series, horizons, lookback_steps=3)
    origins = problem.origins_between(0, series.n_steps)
    levels = problem.targets(origins)
    np.testing.assert_allclose(
        from_change(problem, origins, change_target(problem, origins)), levels, atol=1e-9
    )

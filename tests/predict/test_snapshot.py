"""Forecasts from a saved model's feed (what the map shows), checked against values computed here."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from metaliverpool.errors import InputError
from metaliverpool.predict.dataset import build_problem, split_steps
from metaliverpool.predict.model_io import load_model, save_model
from metaliverpool.predict.registry import make_forecaster
from metaliverpool.predict.series import SECONDS_PER_DAY, SensorSeries
from metaliverpool.predict.snapshot import (
    FeedForecaster,
    congestion_level,
    held_out_feed,
    level_band,
    reference_values,
)
from metaliverpool.predict.synthetic import generate_history

INTERVAL_MIN = 15.0
HORIZONS = (2, 4)  # steps: 30 and 60 minutes


def _train_and_save(series: SensorSeries, name: str, out: Path, quantity: str = "speed_mps") -> Path:
    bounds = split_steps(series.n_steps)
    problem = build_problem(series, HORIZONS, lookback_steps=4, fill_until=bounds.train_end)
    model = make_forecaster(name, max_train_s=30.0)
    model.fit(problem, bounds, seed=0)
    metadata = {
        "sensor_ids": list(series.sensor_ids),
        "interval_s": series.interval_s,
        "horizons_min": [30.0, 60.0],
        "lookback_steps": 4,
        "quantity": quantity,
        "reference": reference_values(series, bounds.train_end).tolist(),
        "train_rows": bounds.train_end,
    }
    feed = held_out_feed(series, bounds.val_end)
    return save_model(out, model, metadata, problem.neighbour_weights, feed)


@pytest.fixture(scope="module")
def history() -> SensorSeries:
    return generate_history(
        n_days=14, interval_min=INTERVAL_MIN, n_branches=2, branch_links=2, trunk_links=2, seed=3
    ).speed


def test_historical_average_snapshot_is_the_training_mean_of_that_slot_of_the_week(
    history: SensorSeries, tmp_path: Path
) -> None:
    forecaster = FeedForecaster(load_model(_train_and_save(history, "ha", tmp_path / "ha")))
    assert forecaster.observed_rows < history.n_steps
    first_feed_row = history.n_steps - forecaster.observed_rows
    assert first_feed_row >= split_steps(history.n_steps).val_end  # never a training row
    train_end = split_steps(history.n_steps).train_end
    steps_per_week = 7 * round(SECONDS_PER_DAY / history.interval_s)
    row = int(forecaster.origins[len(forecaster.origins) // 2])
    snap = forecaster.snapshot(row, 30.0)
    target = first_feed_row + row + 2
    same_slot = np.arange(target % steps_per_week, train_end, steps_per_week)
    expected = np.nanmean(history.values[same_slot], axis=0)
    np.testing.assert_allclose(snap.forecast, expected, rtol=1e-9)
    np.testing.assert_array_equal(snap.observed_target, history.values[target])
    np.testing.assert_array_equal(snap.observed_now, history.values[first_feed_row + row])
    reference = np.nanpercentile(history.values[:train_end], 95.0, axis=0)
    np.testing.assert_allclose(snap.reference, reference, rtol=1e-4)
    np.testing.assert_allclose(snap.level_forecast, np.clip(1 - expected / snap.reference, 0, 1))
    assert snap.target_clock_s - snap.clock_s == 30 * 60


def test_saved_lightgbm_predicts_the_same_from_its_feed_as_in_memory(
    history: SensorSeries, tmp_path: Path
) -> None:
    saved = load_model(_train_and_save(history, "lgbm", tmp_path / "lgbm"))
    forecaster = FeedForecaster(saved)
    offset = history.n_steps - forecaster.observed_rows  # the feed's first row in the whole series
    whole = replace(
        build_problem(history, HORIZONS, lookback_steps=4), neighbour_weights=saved.neighbour_weights
    )
    row = int(forecaster.origins[len(forecaster.origins) // 2])
    expected = saved.forecaster.predict(whole, np.asarray([offset + row]))[0, 1]
    np.testing.assert_allclose(forecaster.snapshot(row, 60.0).forecast, expected, rtol=1e-9)
    # the feed's last row is an origin too: the live case, whose target is not observed yet
    last = int(forecaster.origins[-1])
    snap = forecaster.snapshot(last, 60.0)
    assert last == forecaster.observed_rows - 1 and snap.observed_target is None
    assert np.all(np.isfinite(snap.forecast))


def test_bad_requests_and_flow_models_are_refused(history: SensorSeries, tmp_path: Path) -> None:
    forecaster = FeedForecaster(load_model(_train_and_save(history, "persistence", tmp_path / "p")))
    with pytest.raises(InputError, match="horizons"):
        forecaster.snapshot(int(forecaster.origins[0]), 45.0)
    with pytest.raises(InputError, match="not an origin"):
        forecaster.snapshot(0, 30.0)
    path = _train_and_save(history, "persistence", tmp_path / "flow", quantity="flow_vph")
    with pytest.raises(InputError, match="speed or congestion_level"):
        FeedForecaster(load_model(path))


def test_levels_and_bands() -> None:
    level = congestion_level(np.array([10.0, 5.0, 0.0, 12.0, np.nan]), np.full(5, 10.0), "speed_mps")
    np.testing.assert_allclose(level[:4], [0.0, 0.5, 1.0, 0.0])
    assert np.isnan(level[4])
    assert [level_band(v) for v in (0.0, 0.3, 0.5, 0.9, float("nan"))] == [
        "free",
        "slow",
        "congested",
        "severe",
        "unknown",
    ]


def test_windowed_feed_starts_at_a_whole_day(tmp_path: Path) -> None:
    steps_per_day = 12
    values = np.arange(10 * steps_per_day * 2, dtype=float).reshape(-1, 2)
    series = SensorSeries(values, ("a", "b"), 300.0, start_time_s=7 * 3600.0, day_window_s=3600.0)
    feed = held_out_feed(series, 97)
    assert feed.n_steps == steps_per_day and feed.values[0, 0] == values[9 * steps_per_day, 0]
    assert feed.day_of_week_index()[0] == 9 % 7 and feed.start_time_s % SECONDS_PER_DAY == 7 * 3600
    with pytest.raises(InputError, match="held-out day"):
        held_out_feed(series, 115)

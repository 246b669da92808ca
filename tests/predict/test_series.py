"""Reading sensor series and adjacencies, the chronological split and sample origins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metaliverpool.errors import InputError
from metaliverpool.predict.dataset import build_problem, forward_fill, split_steps
from metaliverpool.predict.series import (
    SensorSeries,
    load_adjacency,
    load_series,
    save_series_csv,
    save_series_npz,
)


def test_csv_round_trip_keeps_ids_values_and_gaps(tmp_path: Path) -> None:
    values = np.array([[1.0, 2.0], [np.nan, 4.0], [5.0, 6.5]])
    series = SensorSeries(values, ("a", "b"), 300.0)
    save_series_csv(series, tmp_path / "s.csv")
    loaded = load_series(tmp_path / "s.csv", 5)
    assert loaded.sensor_ids == ("a", "b")
    np.testing.assert_array_equal(np.isnan(loaded.values), np.isnan(values))
    np.testing.assert_allclose(np.nan_to_num(loaded.values), np.nan_to_num(values))
    assert loaded.interval_s == 300.0


def test_npz_round_trip_keeps_events_start_and_window(tmp_path: Path) -> None:
    values = np.arange(24.0).reshape(12, 2)
    events = np.zeros_like(values)
    events[3:5, 1] = 0.5
    series = SensorSeries(values, ("x", "y"), 600.0, 86_400.0, events, day_window_s=3600.0)
    save_series_npz(series, tmp_path / "s.npz")
    loaded = load_series(tmp_path / "s.npz", 10)
    np.testing.assert_array_equal(loaded.values, values)
    np.testing.assert_array_equal(loaded.events, events)
    assert loaded.start_time_s == 86_400.0 and loaded.windowed and loaded.steps_per_day == 6
    np.testing.assert_array_equal(loaded.day_of_week_index()[:7], [1] * 6 + [2])


def test_bad_csv_names_the_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,oops\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_series(path, 5)
    assert "line 3" in str(caught.value) and "'b'" in str(caught.value)
    path.write_text("a,b\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        load_series(path, 5)
    with pytest.raises(InputError, match="not found"):
        load_series(tmp_path / "missing.csv", 5)
    with pytest.raises(InputError, match="divide a day"):
        load_series(path, 7)


def test_adjacency_from_edge_list_and_unknown_sensor(tmp_path: Path) -> None:
    path = tmp_path / "adj.csv"
    path.write_text("from,to\na,b\n", encoding="utf-8")
    matrix = load_adjacency(path, ("a", "b", "c"))
    assert matrix[0, 1] == 1.0 and matrix.sum() == 1.0
    path.write_text("from,to\na,zz\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        load_adjacency(path, ("a", "b"))


def test_split_is_chronological_and_origins_never_cross_parts() -> None:
    bounds = split_steps(1000)
    assert (bounds.train_end, bounds.val_end) == (700, 800)
    series = SensorSeries(np.zeros((1000, 3)), ("a", "b", "c"), 300.0)
    problem = build_problem(series, (3, 6, 12), lookback_steps=12)
    train = problem.origins_between(0, bounds.train_end)
    test = problem.origins_between(bounds.val_end, bounds.n_steps)
    assert train.min() == 11 and train.max() + 12 < 700
    assert test.min() >= 800 and test.max() + 12 < 1000


def test_windowed_series_samples_stay_inside_a_day() -> None:
    series = SensorSeries(np.zeros((30, 1)), ("a",), 300.0, day_window_s=3000.0)  # 10 rows a day
    problem = build_problem(series, (2,), lookback_steps=3)
    origins = problem.origins_between(0, 30)
    slots = origins % 10
    assert set(slots.tolist()) == set(range(2, 8))


def test_forward_fill_uses_last_value_then_fallback() -> None:
    values = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan]])
    filled = forward_fill(values, np.array([9.0, 8.0]))
    np.testing.assert_array_equal(filled, [[9.0, 1.0], [2.0, 1.0], [2.0, 1.0]])

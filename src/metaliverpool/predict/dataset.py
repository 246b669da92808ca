"""Forecasting problems: the chronological split, the sample origins and the filled inputs.

A *sample* is an origin step ``t`` (the last observed row): a model reads rows up to ``t`` (and the known
events and calendar at any time) and predicts rows ``t + h`` for each horizon ``h`` (in steps). The split
is chronological on the time axis: the first ``train_frac`` of rows are training, the next ``val_frac``
validation, the rest test. A sample belongs to a part when its origin and every target lie in that part;
inputs may reach back into earlier parts (that is observed past, never the future).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaliverpool.errors import InputError
from metaliverpool.predict.series import SensorSeries, normalise_adjacency


@dataclass(frozen=True)
class SplitBounds:
    """Row bounds of the three parts: train ``[0, train_end)``, validation, test ``[val_end, n)``."""

    train_end: int
    val_end: int
    n_steps: int


def split_steps(n_steps: int, train_frac: float = 0.7, val_frac: float = 0.1) -> SplitBounds:
    """Chronological split of ``n_steps`` rows into train / validation / test (rest)."""
    if not (0 < train_frac < 1 and 0 <= val_frac < 1 and train_frac + val_frac < 1):
        raise InputError(
            "split", f"fractions must satisfy 0<train, 0<=val, train+val<1; got {train_frac}, {val_frac}"
        )
    train_end = round(n_steps * train_frac)
    val_end = round(n_steps * (train_frac + val_frac))
    return SplitBounds(train_end=train_end, val_end=val_end, n_steps=n_steps)


def forward_fill(values: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Replace NaN by the last observed value of the same column, or ``fallback[column]`` before any."""
    out = values.copy()
    n_steps = out.shape[0]
    mask = np.isnan(out)
    index = np.where(~mask, np.arange(n_steps)[:, None], 0)
    np.maximum.accumulate(index, axis=0, out=index)
    out = out[index, np.arange(out.shape[1])[None, :]]
    still = np.isnan(out)
    out[still] = np.broadcast_to(fallback, out.shape)[still]
    return out


@dataclass(frozen=True)
class ForecastProblem:
    """A series with everything models share: filled values, calendar, events, neighbourhood.

    Attributes
    ----------
    series:
        The raw series (NaN = missing; targets that are NaN are left out of the scores).
    filled:
        ``series.values`` with gaps forward-filled (inputs never see NaN).
    horizon_steps:
        Horizons in rows, ascending (e.g. 3, 6, 12 for 15, 30, 60 min at 5 min).
    lookback_steps:
        Rows of recent history a model reads.
    neighbour_weights:
        Row-normalised (sensors, sensors) matrix: row ``i`` averages the neighbours of ``i``; zeros when
        no adjacency was given.
    """

    series: SensorSeries
    filled: np.ndarray
    horizon_steps: tuple[int, ...]
    lookback_steps: int
    neighbour_weights: np.ndarray
    time_of_day: np.ndarray
    day_of_week: np.ndarray

    @property
    def max_horizon(self) -> int:
        """The longest horizon in rows."""
        return max(self.horizon_steps)

    def origins_between(self, start: int, stop: int) -> np.ndarray:
        """Origins ``t`` with ``start <= t`` and ``t + max_horizon < stop`` and a full lookback (inside one
        day's window for a windowed series)."""
        first = max(start, self.lookback_steps - 1)
        last = stop - 1 - self.max_horizon
        if last < first:
            return np.zeros(0, dtype=np.int64)
        origins = np.arange(first, last + 1, dtype=np.int64)
        if self.series.windowed:
            slot = self.time_of_day[origins]
            inside = (slot >= self.lookback_steps - 1) & (slot + self.max_horizon < self.series.steps_per_day)
            origins = origins[inside]
        return origins

    def targets(self, origins: np.ndarray) -> np.ndarray:
        """Observed values at every horizon: array (samples, horizons, sensors), NaN where missing."""
        rows = origins[:, None] + np.asarray(self.horizon_steps)[None, :]
        return self.series.values[rows]

    def lag_window(self, origins: np.ndarray) -> np.ndarray:
        """Filled recent history: array (samples, lookback, sensors), oldest first."""
        rows = origins[:, None] + np.arange(-self.lookback_steps + 1, 1)[None, :]
        return self.filled[rows]


def build_problem(
    series: SensorSeries,
    horizon_steps: tuple[int, ...],
    lookback_steps: int = 12,
    adjacency: np.ndarray | None = None,
    fill_until: int | None = None,
) -> ForecastProblem:
    """Prepare a series for forecasting; gaps before any observation fill with the mean of rows
    ``[0, fill_until)`` (the training part, so no test value leaks into inputs)."""
    if not horizon_steps or min(horizon_steps) < 1:
        raise InputError("horizons", f"horizons must be positive whole steps, got {horizon_steps}")
    if lookback_steps < 1:
        raise InputError("lookback", f"lookback must be at least one step, got {lookback_steps}")
    stop = series.n_steps if fill_until is None else fill_until
    with np.errstate(all="ignore"):
        column_mean = np.nanmean(series.values[:stop], axis=0) if stop > 0 else np.zeros(series.n_sensors)
    column_mean = np.where(np.isfinite(column_mean), column_mean, 0.0)
    filled = forward_fill(series.values, column_mean)
    if adjacency is None:
        weights = np.zeros((series.n_sensors, series.n_sensors))
    else:
        weights = normalise_adjacency(adjacency)
    return ForecastProblem(
        series=series,
        filled=filled,
        horizon_steps=tuple(sorted(set(int(h) for h in horizon_steps))),
        lookback_steps=int(lookback_steps),
        neighbour_weights=weights,
        time_of_day=series.time_of_day_index(),
        day_of_week=series.day_of_week_index(),
    )

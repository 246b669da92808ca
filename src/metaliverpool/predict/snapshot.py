"""Forecasts from a sensor feed at one moment: what the map shows as "congestion in 30 minutes".

A *feed* is a sensor series in the common layout (:mod:`metaliverpool.predict.series`): the rows a
server has observed so far. A *snapshot* takes one origin row of the feed as "now", reads the model's
lookback window up to it (plus the calendar and the known events at any time) and forecasts every
sensor at one of the model's horizons. When the feed already holds the target row (a replay of held-out
days), the snapshot also carries what was observed then, so a viewer can check the forecast.

Congestion level (0..1) of a speed is ``1 - speed / reference`` clipped to 0..1, where the reference is
the sensor's free-flow speed: the 95th percentile of its training rows (``reference_percentile``), the
usual detector convention. A series of congestion levels is used as it is. Levels map to four bands
(:data:`LEVEL_BANDS`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from metaliverpool.errors import InputError
from metaliverpool.predict.dataset import ForecastProblem, build_problem
from metaliverpool.predict.evaluate import horizon_steps_of
from metaliverpool.predict.model_io import SavedModel
from metaliverpool.predict.series import SECONDS_PER_DAY, SensorSeries

REFERENCE_PERCENTILE = 95.0
"""Percentile of a sensor's training speeds taken as its free-flow reference."""

LEVEL_BANDS: tuple[tuple[float, str], ...] = (
    (0.25, "free"),
    (0.5, "slow"),
    (0.75, "congested"),
    (1.01, "severe"),
)
"""Upper bound (exclusive) of each congestion band's level."""


def reference_values(series: SensorSeries, stop: int) -> np.ndarray:
    """Per-sensor free-flow reference: the 95th percentile of rows ``[0, stop)`` (NaN-aware; sensors with
    no observation get the overall percentile)."""
    with np.errstate(all="ignore"):
        reference = np.nanpercentile(series.values[:stop], REFERENCE_PERCENTILE, axis=0)
        overall = np.nanpercentile(series.values[:stop], REFERENCE_PERCENTILE)
    return np.where(np.isfinite(reference), reference, overall if np.isfinite(overall) else 1.0)


def held_out_feed(series: SensorSeries, start: int) -> SensorSeries:
    """Rows from ``start`` on (moved to the next day's window for a windowed series): the test part a
    trained model has never seen, kept as its replay feed."""
    if series.windowed:
        start = -(-start // series.steps_per_day) * series.steps_per_day
    if start >= series.n_steps:
        raise InputError("series", "no whole held-out day left after the validation part for the feed")
    return series.slice_steps(start, series.n_steps)


def check_quantity(quantity: str) -> None:
    """Raise unless congestion can be read from ``quantity`` (a speed or a congestion level)."""
    if quantity != "congestion_level" and not quantity.startswith("speed"):
        raise InputError("quantity", f"congestion needs a speed or congestion_level model, not {quantity!r}")


def congestion_level(values: np.ndarray, reference: np.ndarray, quantity: str) -> np.ndarray:
    """Congestion level 0..1 of ``values`` (module docstring); NaN stays NaN."""
    check_quantity(quantity)
    if quantity == "congestion_level":
        return np.clip(values, 0.0, 1.0)
    ratio = np.divide(values, reference, out=np.full_like(values, np.nan), where=reference > 0)
    return np.clip(1.0 - ratio, 0.0, 1.0)


def level_band(level: float) -> str:
    """The band name of a congestion level (``"unknown"`` for NaN)."""
    if not np.isfinite(level):
        return "unknown"
    return next(name for bound, name in LEVEL_BANDS if level < bound)


@dataclass(frozen=True)
class FeedClock:
    """The origins a feed offers: row, day number in the feed, day of week (0 = Monday), clock seconds
    after midnight. Arrays of equal length."""

    rows: np.ndarray
    day: np.ndarray
    day_of_week: np.ndarray
    clock_s: np.ndarray


@dataclass(frozen=True)
class Snapshot:
    """One forecast of every sensor from origin ``row`` at ``horizon_min`` (values in the series' unit).

    ``observed_target`` is None when the feed does not hold the target row yet; NaN marks a missing
    observation. ``level_*`` are congestion levels 0..1.
    """

    row: int
    horizon_min: float
    clock_s: float
    target_clock_s: float
    day: int
    day_of_week: int
    observed_now: np.ndarray
    forecast: np.ndarray
    observed_target: np.ndarray | None
    reference: np.ndarray
    events_target: np.ndarray
    level_now: np.ndarray
    level_forecast: np.ndarray
    level_observed_target: np.ndarray | None


class FeedForecaster:
    """A saved model and its feed, ready to answer snapshots (the problem is prepared once).

    ``feed`` is the saved feed, followed (when it is not windowed) by ``padding`` missing rows so that
    its last observed row can be an origin, as it is live; ``observed_rows`` counts the feed's own rows;
    ``origins`` lists the rows a snapshot may start from and ``clock`` their calendar.
    """

    def __init__(self, saved: SavedModel) -> None:
        if saved.feed is None:
            raise InputError("model", "this model has no feed to forecast from (feed.npz)")
        meta = saved.metadata
        self.saved = saved
        self.quantity = str(meta.get("quantity", "speed_mps"))
        check_quantity(self.quantity)
        self.horizons_min = tuple(float(m) for m in meta["horizons_min"])
        feed = saved.feed
        # models saved before references were kept: the feed's own 95th percentiles
        reference = meta.get("reference") or reference_values(feed, feed.n_steps)
        self.reference = np.asarray(reference, dtype=float)
        steps = horizon_steps_of(self.horizons_min, feed.interval_s)
        self.padding = 0 if feed.windowed else max(steps)
        if self.padding:
            nan_rows = np.full((self.padding, feed.n_sensors), np.nan)
            events = feed.event_values()
            feed = replace(
                feed,
                values=np.vstack([feed.values, nan_rows]),
                events=np.vstack([events, np.repeat(events[-1:], self.padding, axis=0)]),
            )
        self.feed = feed
        self.observed_rows = feed.n_steps - self.padding
        problem = build_problem(feed, steps, int(meta["lookback_steps"]))
        self.problem: ForecastProblem = replace(problem, neighbour_weights=saved.neighbour_weights)
        origins = self.problem.origins_between(0, feed.n_steps)
        self.origins = origins[origins < self.observed_rows]
        self.clock = self._calendar()

    def _calendar(self) -> FeedClock:
        """The origins on offer with their calendar."""
        rows = self.origins
        feed = self.feed
        if feed.windowed:
            day = rows // feed.steps_per_day
            clock = (feed.start_time_s % SECONDS_PER_DAY) + (rows % feed.steps_per_day) * feed.interval_s
        else:
            time_s = feed.start_time_s + rows * feed.interval_s
            day = np.floor(time_s / SECONDS_PER_DAY) - np.floor(feed.start_time_s / SECONDS_PER_DAY)
            clock = np.mod(time_s, SECONDS_PER_DAY)
        return FeedClock(
            rows=rows,
            day=np.asarray(day, dtype=np.int64),
            day_of_week=self.problem.day_of_week[rows],
            clock_s=np.asarray(clock, dtype=float),
        )

    def snapshot(self, row: int, horizon_min: float) -> Snapshot:
        """Forecast from origin ``row`` (one of :attr:`origins`) ``horizon_min`` ahead."""
        if horizon_min not in self.horizons_min:
            raise InputError(
                "horizon_min", f"{horizon_min:g} is not one of the model's horizons {self.horizons_min}"
            )
        position = int(np.searchsorted(self.origins, row))
        if position == self.origins.size or self.origins[position] != row:
            raise InputError("row", f"row {row} is not an origin of this feed (see the model's clock)")
        k = self.horizons_min.index(horizon_min)
        step = self.problem.horizon_steps[k]
        predicted = self.saved.forecaster.predict(self.problem, np.asarray([row], dtype=np.int64))[0, k]
        target = row + step
        observed = self.feed.values[target] if target < self.observed_rows else None
        calendar = self.clock
        clock_s = float(calendar.clock_s[position])
        now = self.feed.values[row]
        return Snapshot(
            row=row,
            horizon_min=horizon_min,
            clock_s=clock_s,
            target_clock_s=clock_s + step * self.feed.interval_s,
            day=int(calendar.day[position]),
            day_of_week=int(calendar.day_of_week[position]),
            observed_now=now,
            forecast=predicted,
            observed_target=observed,
            reference=self.reference,
            events_target=self.feed.event_values()[target],
            level_now=congestion_level(now, self.reference, self.quantity),
            level_forecast=congestion_level(predicted, self.reference, self.quantity),
            level_observed_target=None
            if observed is None
            else congestion_level(observed, self.reference, self.quantity),
        )

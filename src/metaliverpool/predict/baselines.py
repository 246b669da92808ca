"""The two simple baselines every learned model must beat.

- :class:`HistoricalAverageForecaster`: the training mean of each sensor at the target's slot of the
  week (day of week x time of day), falling back to the slot of the day, then to the sensor mean.
- :class:`PersistenceForecaster`: the last observed value, for every horizon.

:class:`HistoricalProfile` (the historical-average table) is also an input feature of the learned models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from metaliverpool.predict.dataset import ForecastProblem, SplitBounds
from metaliverpool.predict.series import DAYS_PER_WEEK


def _group_mean(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """NaN-aware mean of rows of ``values`` (time, sensors) per group id; NaN where a group is empty."""
    valid = ~np.isnan(values)
    sums = np.zeros((n_groups, values.shape[1]))
    counts = np.zeros((n_groups, values.shape[1]))
    np.add.at(sums, groups, np.where(valid, values, 0.0))
    np.add.at(counts, groups, valid.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


@dataclass
class HistoricalProfile:
    """Mean value per sensor and slot of the week (rows: ``day_of_week * steps_per_day + time_of_day``)."""

    steps_per_day: int
    week_table: np.ndarray

    @classmethod
    def fit(cls, problem: ForecastProblem, stop: int) -> HistoricalProfile:
        """Average rows ``[0, stop)`` of the problem's raw values."""
        spd = problem.series.steps_per_day
        values = problem.series.values[:stop]
        tod = problem.time_of_day[:stop]
        week_slot = problem.day_of_week[:stop] * spd + tod
        week = _group_mean(values, week_slot, DAYS_PER_WEEK * spd)
        day = _group_mean(values, tod, spd)
        with np.errstate(all="ignore"):
            overall = np.nanmean(values, axis=0)
        overall = np.where(np.isfinite(overall), overall, 0.0)
        day = np.where(np.isnan(day), overall[None, :], day)
        week = np.where(np.isnan(week), np.tile(day, (DAYS_PER_WEEK, 1)), week)
        return cls(steps_per_day=spd, week_table=week)

    def at_rows(self, problem: ForecastProblem, rows: np.ndarray) -> np.ndarray:
        """Profile values at the given rows of the problem: shape ``rows.shape + (sensors,)``."""
        slot = problem.day_of_week[rows] * self.steps_per_day + problem.time_of_day[rows]
        return self.week_table[slot]


class HistoricalAverageForecaster:
    """Historical average by slot of the week (``ha``)."""

    name = "ha"

    def __init__(self) -> None:
        self.profile: HistoricalProfile | None = None

    def fit(self, problem: ForecastProblem, bounds: SplitBounds, seed: int) -> None:
        """Average the training rows."""
        self.profile = HistoricalProfile.fit(problem, bounds.train_end)

    def predict(self, problem: ForecastProblem, origins: np.ndarray) -> np.ndarray:
        """Profile values at each target row."""
        if self.profile is None:
            raise RuntimeError("fit the model first")
        rows = origins[:, None] + np.asarray(problem.horizon_steps)[None, :]
        return self.profile.at_rows(problem, rows)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, bytes]]:
        """The week table."""
        if self.profile is None:
            raise RuntimeError("fit the model first")
        return {"steps_per_day": self.profile.steps_per_day}, {"week_table": self.profile.week_table}, {}

    @classmethod
    def from_state(
        cls, settings: dict[str, Any], arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> HistoricalAverageForecaster:
        """Rebuild a fitted model from :meth:`state`."""
        model = cls()
        model.profile = HistoricalProfile(int(settings["steps_per_day"]), arrays["week_table"])
        return model


class PersistenceForecaster:
    """Last observed value (``persistence``)."""

    name = "persistence"

    def fit(self, problem: ForecastProblem, bounds: SplitBounds, seed: int) -> None:
        """Nothing to learn."""

    def predict(self, problem: ForecastProblem, origins: np.ndarray) -> np.ndarray:
        """The filled value at the origin, repeated for every horizon."""
        last = problem.filled[origins]
        return np.repeat(last[:, None, :], len(problem.horizon_steps), axis=1)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, bytes]]:
        """No state."""
        return {}, {}, {}

    @classmethod
    def from_state(
        cls, settings: dict[str, Any], arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
    ) -> PersistenceForecaster:
        """A persistence model (stateless)."""
        return cls()

"""The prior forecast and the features shared by the learned models.

Recent history is expressed as an *anomaly*: the observed (filled) value minus the historical profile of
the same row. The *prior* forecast of the learned models is ``profile(target) + rho_h * anomaly(now)``:
the historical average plus the current anomaly decayed by a factor ``rho_h`` per horizon (``rho = 1``
is persistence, ``rho = 0`` the historical average), chosen on the validation rows (the value of 0,
0.05, ..., 1 with the smallest mean absolute error; the profile comes from the training rows, so
validation shows how far the anomaly persists out of sample, which an in-sample fit overstates).
Learned models predict the *change from now*, ``value(t + h) - value(t)``, and add the current value
back (:func:`change_target`, :func:`from_change`); their features are relative to now too (past values
minus the current one, the prior's and the profile's change from the current value), so what a model
learns about a queue that grows or clears carries over to links and levels it has not seen in training.
The prior enters as a feature (its change from now), so a model that learns nothing else reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaliverpool.predict.baselines import HistoricalProfile
from metaliverpool.predict.dataset import ForecastProblem, SplitBounds


def change_target(problem: ForecastProblem, origins: np.ndarray) -> np.ndarray:
    """Observed change from the origin's (filled) value at every horizon: (samples, horizons, sensors),
    NaN where the target is missing."""
    return problem.targets(origins) - problem.filled[origins][:, None, :]


def from_change(problem: ForecastProblem, origins: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Forecast levels from predicted changes (samples, horizons, sensors): the inverse of
    :func:`change_target`."""
    return problem.filled[origins][:, None, :] + change


def anomaly_window(problem: ForecastProblem, profile: HistoricalProfile, origins: np.ndarray) -> np.ndarray:
    """Filled history minus profile: array (samples, lookback, sensors), oldest first."""
    rows = origins[:, None] + np.arange(-problem.lookback_steps + 1, 1)[None, :]
    return problem.filled[rows] - profile.at_rows(problem, rows)


@dataclass
class PriorForecast:
    """Historical profile plus the decayed current anomaly (module docstring)."""

    profile: HistoricalProfile
    rho: np.ndarray

    @classmethod
    def fit(cls, problem: ForecastProblem, bounds: SplitBounds) -> PriorForecast:
        """Profile from the training rows; ``rho`` per horizon on validation origins (on training
        origins when there is no validation origin)."""
        profile = HistoricalProfile.fit(problem, bounds.train_end)
        origins = problem.origins_between(bounds.train_end, bounds.val_end)
        if origins.size == 0:
            origins = problem.origins_between(0, bounds.train_end)
        now = problem.filled[origins] - profile.at_rows(problem, origins)
        grid = np.linspace(0.0, 1.0, 21)
        rho = np.zeros(len(problem.horizon_steps))
        for k, horizon in enumerate(problem.horizon_steps):
            rows = origins + horizon
            later = problem.series.values[rows] - profile.at_rows(problem, rows)
            valid = ~np.isnan(later)
            errors = [
                float(np.mean(np.abs(later[valid] - r * now[valid]))) if valid.any() else 0.0 for r in grid
            ]
            rho[k] = grid[int(np.argmin(errors))]
        return cls(profile=profile, rho=rho)

    def at(self, problem: ForecastProblem, origins: np.ndarray) -> np.ndarray:
        """Prior forecasts: array (samples, horizons, sensors)."""
        rows = origins[:, None] + np.asarray(problem.horizon_steps)[None, :]
        now = problem.filled[origins] - self.profile.at_rows(problem, origins)
        return self.profile.at_rows(problem, rows) + self.rho[None, :, None] * now[:, None, :]


def tabular_features(
    problem: ForecastProblem, prior: PriorForecast, origins: np.ndarray, horizon_index: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One row per (origin, sensor) for one horizon, every feature relative to now.

    Returns the feature matrix (samples * sensors, features), the current value of each row (add it to
    a predicted change) and the feature names. The sensor index is not a feature, so one model serves
    every link and transfers to links whose state it has not seen.
    """
    n_samples = origins.shape[0]
    n_sensors = problem.series.n_sensors
    horizon = problem.horizon_steps[horizon_index]
    anomalies = anomaly_window(problem, prior.profile, origins)  # (S, L, N)
    recent = problem.lag_window(origins)  # (S, L, N)
    last = problem.filled[origins]
    target_rows = origins + horizon
    profile_target = prior.profile.at_rows(problem, target_rows)  # (S, N)
    prior_change = prior.at(problem, origins)[:, horizon_index, :] - last
    events = problem.series.event_values()
    neighbours = problem.neighbour_weights
    columns: list[np.ndarray] = []
    names: list[str] = []
    for lag in range(1, min(problem.lookback_steps, 6)):
        columns.append(recent[:, -1 - lag, :] - last)
        names.append(f"lag{lag}_minus_now")
    columns.append(recent.mean(axis=1) - last)
    names.append("window_mean_minus_now")
    for values, name in (
        (anomalies[:, -1, :], "anomaly_now"),
        (anomalies.mean(axis=1), "anomaly_mean"),
        (last, "value_now"),
        (profile_target - last, "reversion_gap"),
        (prior_change, "prior_change"),
        (anomalies[:, -1, :] @ neighbours.T, "neighbour_anomaly_now"),
        (anomalies.mean(axis=1) @ neighbours.T, "neighbour_anomaly_mean"),
        ((recent[:, -1, :] - recent[:, 0, :]) @ neighbours.T, "neighbour_trend"),
        (events[origins], "event_now"),
        (events[target_rows], "event_target"),
        (events[target_rows] - events[origins], "event_change"),
        (events[target_rows] @ neighbours.T, "neighbour_event_target"),
    ):
        columns.append(values)
        names.append(name)
    spd = problem.series.steps_per_day
    angle = 2 * np.pi * problem.time_of_day[target_rows] / spd
    for values, name in (
        (np.sin(angle), "tod_sin"),
        (np.cos(angle), "tod_cos"),
        (problem.day_of_week[target_rows].astype(np.float64), "day_of_week"),
    ):
        columns.append(np.repeat(values[:, None], n_sensors, axis=1))
        names.append(name)
    matrix = np.stack([c.reshape(n_samples * n_sensors) for c in columns], axis=1)
    return matrix, last.reshape(n_samples * n_sensors), names

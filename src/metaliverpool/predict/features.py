"""Features shared by the learned models, built from a problem and a historical profile.

Recent history is expressed as an *anomaly*: the observed (filled) value minus the historical profile of
the same row. Learned models predict the *change* from the last observed value to the target and add the
last value back, so they start from persistence; the *reversion gap* (profile at the target minus the last
value) lets them learn how far the state returns to the historical average at each horizon. (Starting
from the profile instead generalises badly to states never seen in training, such as roadworks on a link
that had none before: a persistent queue is then mistaken for noise.)
"""

from __future__ import annotations

import numpy as np

from metaliverpool.predict.baselines import HistoricalProfile
from metaliverpool.predict.dataset import ForecastProblem


def anomaly_window(problem: ForecastProblem, profile: HistoricalProfile, origins: np.ndarray) -> np.ndarray:
    """Filled history minus profile: array (samples, lookback, sensors), oldest first."""
    rows = origins[:, None] + np.arange(-problem.lookback_steps + 1, 1)[None, :]
    return problem.filled[rows] - profile.at_rows(problem, rows)


def tabular_features(
    problem: ForecastProblem, profile: HistoricalProfile, origins: np.ndarray, horizon_index: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """One row per (origin, sensor) for one horizon.

    Returns the feature matrix (samples * sensors, features), the last observed value of each row (add
    it to a predicted change) and the feature names. The sensor index is not a feature, so one model
    serves every link and transfers to links whose state it has not seen.
    """
    n_samples = origins.shape[0]
    n_sensors = problem.series.n_sensors
    horizon = problem.horizon_steps[horizon_index]
    anomalies = anomaly_window(problem, profile, origins)  # (S, L, N)
    target_rows = origins + horizon
    base = profile.at_rows(problem, target_rows)  # (S, N)
    events = problem.series.event_values()
    neighbours = problem.neighbour_weights
    columns: list[np.ndarray] = []
    names: list[str] = []
    lags = min(problem.lookback_steps, 6)
    for lag in range(lags):
        columns.append(anomalies[:, -1 - lag, :])
        names.append(f"anomaly_lag{lag}")
    columns.append(anomalies.mean(axis=1))
    names.append("anomaly_mean")
    columns.append(anomalies[:, -1, :] - anomalies[:, 0, :])
    names.append("anomaly_trend")
    last = problem.filled[origins]
    columns.append(last)
    names.append("value_now")
    columns.append(base)
    names.append("profile_target")
    columns.append(base - last)
    names.append("reversion_gap")
    columns.append(anomalies[:, -1, :] @ neighbours.T)
    names.append("neighbour_anomaly_now")
    columns.append(anomalies.mean(axis=1) @ neighbours.T)
    names.append("neighbour_anomaly_mean")
    columns.append(events[origins])
    names.append("event_now")
    columns.append(events[target_rows])
    names.append("event_target")
    columns.append(events[target_rows] @ neighbours.T)
    names.append("neighbour_event_target")
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

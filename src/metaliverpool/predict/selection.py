"""Per-horizon guard: a learned model is used only where it beats both simple answers on validation.

:class:`GuardedForecaster` wraps a learned model. After fitting it, the learned model, persistence and the
historical average forecast every validation origin (never a test origin); per horizon the learned model
is kept only when its validation MAE is strictly below both baselines', otherwise the better baseline is
used at that horizon. The choice per horizon and the validation MAE behind it are part of the model's
state, so a saved model carries them and ``forecast evaluate`` / ``forecast train`` report them. With no
validation origin the training origins decide (and the choice says so).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metaliverpool.predict.baselines import (
    HistoricalAverageForecaster,
    HistoricalProfile,
    PersistenceForecaster,
)
from metaliverpool.predict.dataset import ForecastProblem, SplitBounds
from metaliverpool.predict.forecaster import Forecaster
from metaliverpool.predict.scoring import score_forecast


def choose_per_horizon(mae: dict[str, list[float]], learned: str) -> list[str]:
    """Per horizon, ``learned`` if its MAE is below every other entry's, else the lowest-MAE baseline.

    ``mae`` maps model names to one MAE per horizon; NaN (nothing to score) never wins.
    """
    baselines = [name for name in mae if name != learned]
    choice = []
    for k in range(len(mae[learned])):
        best_baseline = min(baselines, key=lambda name: _finite_or_inf(mae[name][k]))
        own = _finite_or_inf(mae[learned][k])
        choice.append(learned if own < _finite_or_inf(mae[best_baseline][k]) else best_baseline)
    return choice


def _finite_or_inf(value: float) -> float:
    return value if np.isfinite(value) else float("inf")


class GuardedForecaster:
    """A learned model with the per-horizon fallback of the module docstring (same ``name``)."""

    def __init__(self, inner: Forecaster) -> None:
        self.inner = inner
        self.name = inner.name
        self.average = HistoricalAverageForecaster()
        self.persistence = PersistenceForecaster()
        self.choice: list[str] = []
        self.validation_mae: dict[str, list[float]] = {}
        self.decided_on = "validation"

    def fit(self, problem: ForecastProblem, bounds: SplitBounds, seed: int) -> None:
        """Fit the learned model and the baselines; choose per horizon on the validation origins."""
        self.inner.fit(problem, bounds, seed)
        self.average.fit(problem, bounds, seed)
        origins = problem.origins_between(bounds.train_end, bounds.val_end)
        self.decided_on = "validation"
        if origins.size == 0:
            origins, self.decided_on = problem.origins_between(0, bounds.train_end), "training"
        observed = problem.targets(origins)
        candidates: dict[str, Forecaster] = {
            self.name: self.inner,
            "persistence": self.persistence,
            "ha": self.average,
        }
        self.validation_mae = {}
        for name, model in candidates.items():
            predicted = model.predict(problem, origins)
            self.validation_mae[name] = [
                score_forecast(predicted[:, k, :], observed[:, k, :])["mae"]
                for k in range(len(problem.horizon_steps))
            ]
        self.choice = choose_per_horizon(self.validation_mae, self.name)

    def predict(self, problem: ForecastProblem, origins: np.ndarray) -> np.ndarray:
        """Each horizon from its chosen model: array (samples, horizons, sensors)."""
        if len(self.choice) != len(problem.horizon_steps):
            raise RuntimeError("fit the model first (for the same horizons)")
        models: dict[str, Forecaster] = {
            self.name: self.inner,
            "persistence": self.persistence,
            "ha": self.average,
        }
        out = np.empty((origins.size, len(problem.horizon_steps), problem.series.n_sensors))
        for name in set(self.choice):
            used = [k for k, chosen in enumerate(self.choice) if chosen == name]
            out[:, used, :] = models[name].predict(problem, origins)[:, used, :]
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, bytes]]:
        """The learned model's state plus the choice, its validation MAE and the average's table."""
        settings, arrays, blobs = self.inner.state()
        _, average_arrays, _ = self.average.state()
        assert self.average.profile is not None
        guard = {
            "choice": self.choice,
            "validation_mae": self.validation_mae,
            "decided_on": self.decided_on,
            "ha_steps_per_day": self.average.profile.steps_per_day,
        }
        return (
            {**settings, "guard": guard},
            {**arrays, "guard_ha_week_table": average_arrays["week_table"]},
            blobs,
        )

    @classmethod
    def restore(
        cls, inner: Forecaster, settings: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> GuardedForecaster:
        """Rebuild around a restored learned model from the ``guard`` part of :meth:`state`."""
        guard = settings["guard"]
        model = cls(inner)
        model.choice = [str(name) for name in guard["choice"]]
        model.validation_mae = {k: [float(v) for v in vs] for k, vs in guard["validation_mae"].items()}
        model.decided_on = str(guard["decided_on"])
        model.average.profile = HistoricalProfile(
            int(guard["ha_steps_per_day"]), arrays["guard_ha_week_table"]
        )
        return model

"""The evaluation protocol: fit every model on the training part, score every horizon on the test part.

1. Split the rows chronologically (train 70 %, validation 10 %, test 20 % unless given).
2. Fit each model on the training rows (the learned ones stop early on validation rows); time it.
3. Predict every test origin (each origin and all its targets lie in the test part) at every horizon and
   score MAE, RMSE, MAPE over the observed targets. All models are scored on the same origins.
4. Report per model and horizon the skill against persistence, ``1 - MAE_model / MAE_persistence``
   (positive: better than persistence), and for each learned model the model used per horizon (chosen on
   validation, :mod:`metaliverpool.predict.selection`) and the learned model's own test scores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metaliverpool.errors import InputError
from metaliverpool.predict.baselines import PersistenceForecaster
from metaliverpool.predict.dataset import ForecastProblem, SplitBounds, build_problem, split_steps
from metaliverpool.predict.forecaster import Forecaster
from metaliverpool.predict.registry import make_forecaster
from metaliverpool.predict.scoring import score_forecast
from metaliverpool.predict.selection import GuardedForecaster
from metaliverpool.predict.series import SensorSeries


@dataclass(frozen=True)
class ForecastConfig:
    """Settings of one evaluation: horizons in minutes, lookback in steps, split fractions, seed."""

    horizons_min: tuple[float, ...] = (15.0, 30.0, 60.0)
    lookback_steps: int = 12
    train_frac: float = 0.7
    val_frac: float = 0.1
    seed: int = 0
    max_train_s: float = 300.0


@dataclass
class ForecastEvaluation:
    """Scores per model and horizon (``scores[model][horizon_label]``, with ``skill_vs_persistence``),
    training time per model; for learned models the model used per horizon (``choice``), the validation
    MAE it was chosen on and the learned model's own test scores (``learned_scores``)."""

    scores: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    choice: dict[str, dict[str, str]] = field(default_factory=dict)
    validation_mae: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    learned_scores: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    train_time_s: dict[str, float] = field(default_factory=dict)
    n_test_origins: int = 0
    bounds: SplitBounds | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {
            "scores": self.scores,
            "choice": self.choice,
            "validation_mae": self.validation_mae,
            "learned_scores": self.learned_scores,
            "train_time_s": {k: round(v, 3) for k, v in self.train_time_s.items()},
            "n_test_origins": self.n_test_origins,
            "split_rows": None
            if self.bounds is None
            else {
                "train_end": self.bounds.train_end,
                "val_end": self.bounds.val_end,
                "n": self.bounds.n_steps,
            },
        }


def horizon_steps_of(horizons_min: tuple[float, ...], interval_s: float) -> tuple[int, ...]:
    """Horizons in minutes to whole steps of ``interval_s``; raises if one is not a whole number."""
    steps = []
    for minutes in horizons_min:
        value = minutes * 60.0 / interval_s
        if minutes <= 0 or abs(value - round(value)) > 1e-6:
            raise InputError(
                "--horizons", f"{minutes} min is not a positive whole number of {interval_s / 60} min steps"
            )
        steps.append(round(value))
    return tuple(steps)


def horizon_label(minutes: float) -> str:
    """``"30min"`` style label."""
    return f"{minutes:g}min"


def prepare_problem(
    series: SensorSeries, config: ForecastConfig, adjacency: np.ndarray | None
) -> tuple[ForecastProblem, SplitBounds]:
    """Build the problem and split of an evaluation; raises if the test part has no origin."""
    steps = horizon_steps_of(config.horizons_min, series.interval_s)
    bounds = split_steps(series.n_steps, config.train_frac, config.val_frac)
    problem = build_problem(series, steps, config.lookback_steps, adjacency, fill_until=bounds.train_end)
    if problem.origins_between(bounds.val_end, bounds.n_steps).size == 0:
        raise InputError("series", f"too short: the test part has no origin with a {max(steps)}-step horizon")
    if problem.origins_between(0, bounds.train_end).size == 0:
        raise InputError("series", "too short: the training part has no complete sample")
    return problem, bounds


def fit_timed(model: Forecaster, problem: ForecastProblem, bounds: SplitBounds, seed: int) -> float:
    """Fit and return the wall time in seconds."""
    started = time.perf_counter()
    model.fit(problem, bounds, seed)
    return time.perf_counter() - started


def evaluate_forecasters(
    series: SensorSeries,
    models: tuple[str, ...],
    config: ForecastConfig,
    adjacency: np.ndarray | None = None,
) -> ForecastEvaluation:
    """Run the protocol of the module docstring for the named models."""
    problem, bounds = prepare_problem(series, config, adjacency)
    origins = problem.origins_between(bounds.val_end, bounds.n_steps)
    observed = problem.targets(origins)
    labels = [horizon_label(minutes) for minutes in sorted(set(config.horizons_min))]

    def scored(predicted: np.ndarray) -> dict[str, dict[str, float]]:
        return {
            label: score_forecast(predicted[:, k, :], observed[:, k, :]) for k, label in enumerate(labels)
        }

    reference = scored(PersistenceForecaster().predict(problem, origins))
    result = ForecastEvaluation(n_test_origins=int(origins.size), bounds=bounds)
    for name in models:
        model = make_forecaster(name, config.max_train_s)
        result.train_time_s[name] = fit_timed(model, problem, bounds, config.seed)
        result.scores[name] = with_skill(scored(model.predict(problem, origins)), reference)
        if isinstance(model, GuardedForecaster):
            result.choice[name] = dict(zip(labels, model.choice, strict=True))
            result.validation_mae[name] = {
                label: {m: maes[k] for m, maes in model.validation_mae.items()}
                for k, label in enumerate(labels)
            }
            result.learned_scores[name] = with_skill(scored(model.inner.predict(problem, origins)), reference)
    return result


def with_skill(
    scores: dict[str, dict[str, float]], persistence: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Add ``skill_vs_persistence`` = 1 - MAE / MAE of persistence to each horizon's scores (NaN when
    persistence has no error to compare with)."""
    out = {}
    for label, score in scores.items():
        base = persistence[label]["mae"]
        skill = 1.0 - score["mae"] / base if np.isfinite(base) and base > 0 else float("nan")
        out[label] = {**score, "skill_vs_persistence": skill}
    return out

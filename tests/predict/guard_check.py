"""The check shared by the guard tests: the model used per horizon is never worse on validation than
persistence and the historical average (fitted here, independently of the guard)."""

from __future__ import annotations

import numpy as np

from metaliverpool.predict.baselines import HistoricalAverageForecaster, PersistenceForecaster
from metaliverpool.predict.evaluate import ForecastConfig, prepare_problem
from metaliverpool.predict.gbm import LightGBMForecaster
from metaliverpool.predict.scoring import score_forecast
from metaliverpool.predict.selection import GuardedForecaster
from metaliverpool.predict.series import SensorSeries
from metaliverpool.predict.stid import STIDForecaster


def guarded_never_worse_on_validation(
    series: SensorSeries,
    adjacency: np.ndarray | None,
    models: list[LightGBMForecaster | STIDForecaster],
    horizons_min: tuple[float, ...] = (15.0, 30.0, 60.0, 120.0),
    lookback_steps: int = 4,
) -> dict[str, list[str]]:
    """Fit each guarded model; check per horizon, with baselines fitted here, that its validation MAE is
    at most both baselines' and that it forecasts with the chosen model; return the choices per model."""
    config = ForecastConfig(
        horizons_min=horizons_min, lookback_steps=lookback_steps, seed=0, max_train_s=30.0
    )
    problem, bounds = prepare_problem(series, config, adjacency)
    origins = problem.origins_between(bounds.train_end, bounds.val_end)
    observed = problem.targets(origins)
    average = HistoricalAverageForecaster()
    average.fit(problem, bounds, 0)
    baselines = {
        "ha": average.predict(problem, origins),
        "persistence": PersistenceForecaster().predict(problem, origins),
    }
    choices = {}
    for inner in models:
        guarded = GuardedForecaster(inner)
        guarded.fit(problem, bounds, 0)
        used = guarded.predict(problem, origins)
        learned = inner.predict(problem, origins)
        for k, chosen in enumerate(guarded.choice):
            mae = score_forecast(used[:, k, :], observed[:, k, :])["mae"]
            for name, predicted in baselines.items():
                assert mae <= score_forecast(predicted[:, k, :], observed[:, k, :])["mae"], (
                    inner.name,
                    k,
                    name,
                )
            expected = learned if chosen == inner.name else baselines[chosen]
            np.testing.assert_array_equal(used[:, k, :], expected[:, k, :])
        choices[inner.name] = guarded.choice
    return choices

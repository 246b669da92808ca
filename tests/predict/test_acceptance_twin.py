"""Acceptance on a history the twin generates itself: every learned model beats the historical average
and persistence at 30 and 60 minutes on the held-out test days, and per horizon the model used is never
worse on validation than either (protocol in docs/ai.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaliverpool.predict.evaluate import ForecastConfig, evaluate_forecasters
from metaliverpool.predict.gbm import LightGBMForecaster
from metaliverpool.predict.stid import STIDForecaster
from metaliverpool.predict.synthetic import SyntheticHistory
from metaliverpool.predict.twin_history import TwinHistoryConfig, simulate_twin_history
from predict.guard_check import guarded_never_worse_on_validation

HISTORY = TwinHistoryConfig(n_days=28, demand_scale=0.22, n_sensors=40, seed=0)
FORECAST = ForecastConfig(horizons_min=(15.0, 30.0, 60.0), lookback_steps=6, seed=0, max_train_s=120.0)


@pytest.fixture(scope="module")
def twin_history(liverpool_centre_bundle: Path) -> SyntheticHistory:
    from metaliverpool.store.bundle import read_twin

    return simulate_twin_history(read_twin(liverpool_centre_bundle), HISTORY)


@pytest.mark.slow
def test_model_used_never_worse_than_baselines_on_twin_history(twin_history: SyntheticHistory) -> None:
    choices = guarded_never_worse_on_validation(
        twin_history.speed,
        twin_history.adjacency,
        [LightGBMForecaster(), STIDForecaster(max_train_s=120.0)],
        FORECAST.horizons_min,
        FORECAST.lookback_steps,
    )
    assert set(choices) == {"lgbm", "stid"}


@pytest.mark.slow
def test_learned_models_beat_baselines_on_twin_history(twin_history: SyntheticHistory) -> None:
    history = twin_history
    result = evaluate_forecasters(
        history.speed, ("ha", "persistence", "lgbm", "stid"), FORECAST, history.adjacency
    )
    scores = result.scores
    for model in ("lgbm", "stid"):
        for horizon in ("30min", "60min"):
            for baseline in ("ha", "persistence"):
                assert scores[model][horizon]["mae"] < scores[baseline][horizon]["mae"], (
                    model,
                    horizon,
                    baseline,
                    scores,
                )

"""Acceptance: on a history the twin generates itself, every learned model beats the historical average
and persistence at 30 and 60 minutes on the held-out test days (protocol in docs/ai.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaliverpool.predict.evaluate import ForecastConfig, evaluate_forecasters
from metaliverpool.predict.twin_history import TwinHistoryConfig, simulate_twin_history

HISTORY = TwinHistoryConfig(n_days=28, demand_scale=0.22, n_sensors=40, seed=0)
FORECAST = ForecastConfig(horizons_min=(15.0, 30.0, 60.0), lookback_steps=6, seed=0, max_train_s=120.0)


@pytest.mark.slow
def test_learned_models_beat_baselines_on_twin_history(liverpool_centre_bundle: Path) -> None:
    from metaliverpool.store.bundle import read_twin

    history = simulate_twin_history(read_twin(liverpool_centre_bundle), HISTORY)
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

"""The interface every forecasting model implements, and the names of the models.

A model is fitted on the training part of a :class:`~metaliverpool.predict.dataset.ForecastProblem`
(validation rows may be used for early stopping) and predicts, for given origins, the value of every
sensor at every horizon of the problem. Models keep what they learn in plain arrays, text or bytes so
that :mod:`metaliverpool.predict.model_io` can save them with their metadata.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from metaliverpool.predict.dataset import ForecastProblem, SplitBounds


class Forecaster(Protocol):
    """A fitted-or-not forecasting model."""

    name: str

    def fit(self, problem: ForecastProblem, bounds: SplitBounds, seed: int) -> None:
        """Learn from rows ``[0, bounds.train_end)`` (validation rows only to stop early)."""
        ...

    def predict(self, problem: ForecastProblem, origins: np.ndarray) -> np.ndarray:
        """Forecasts for each origin: array (samples, horizons, sensors) in the series' unit."""
        ...

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, bytes]]:
        """What was learned: JSON-able settings, named arrays and named byte blobs."""
        ...

"""Model names and how to make or rebuild each model.

``ha`` historical average, ``persistence`` last value, ``lgbm`` LightGBM, ``stid`` our spatio-temporal MLP.
The learned models are always wrapped in :class:`~metaliverpool.predict.selection.GuardedForecaster`:
per horizon they are used only where they beat both baselines on validation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metaliverpool.errors import InputError
from metaliverpool.predict.baselines import HistoricalAverageForecaster, PersistenceForecaster
from metaliverpool.predict.forecaster import Forecaster
from metaliverpool.predict.gbm import LightGBMForecaster
from metaliverpool.predict.selection import GuardedForecaster

MODEL_NAMES: tuple[str, ...] = ("ha", "persistence", "lgbm", "stid")
BASELINE_NAMES: tuple[str, ...] = ("ha", "persistence")
LEARNED_NAMES: tuple[str, ...] = ("lgbm", "stid")


def _stid() -> Any:
    """The neural model's class, imported on first use: it brings torch (about 3 s and 250 MiB), which a
    web server process serving no such model does not need."""
    from metaliverpool.predict.stid import STIDForecaster

    return STIDForecaster


def parse_model_names(text: str, source: str = "--models") -> tuple[str, ...]:
    """Comma-separated model names, checked against :data:`MODEL_NAMES`."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    if not names:
        raise InputError(source, f"give at least one model of {', '.join(MODEL_NAMES)}")
    for name in names:
        if name not in MODEL_NAMES:
            raise InputError(source, f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    return names


def make_forecaster(name: str, max_train_s: float = 300.0) -> Forecaster:
    """A fresh, unfitted model; ``max_train_s`` bounds the neural model's training time."""
    if name == "ha":
        return HistoricalAverageForecaster()
    if name == "persistence":
        return PersistenceForecaster()
    if name == "lgbm":
        return GuardedForecaster(LightGBMForecaster())
    if name == "stid":
        return GuardedForecaster(_stid()(max_train_s=max_train_s))
    raise InputError("model", f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")


def forecaster_from_state(
    name: str, settings: dict[str, Any], arrays: dict[str, np.ndarray], blobs: dict[str, bytes]
) -> Forecaster:
    """Rebuild a fitted model saved by :mod:`metaliverpool.predict.model_io` (a learned model with its
    per-horizon guard)."""
    classes: dict[str, Any] = {
        "ha": HistoricalAverageForecaster,
        "persistence": PersistenceForecaster,
        "lgbm": LightGBMForecaster,
    }
    if name == "stid":
        classes["stid"] = _stid()
    if name not in classes:
        raise InputError("model", f"unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}")
    model = classes[name].from_state(settings, arrays, blobs)
    if name in LEARNED_NAMES:
        if "guard" not in settings:
            raise InputError("model", f"saved {name!r} model has no per-horizon guard (settings 'guard')")
        return GuardedForecaster.restore(model, settings, arrays)
    return model

"""The congestion forecasts a server offers: trained models saved in each twin's ``forecasts`` folder.

``metaliverpool forecast train --out TWIN/forecasts/NAME`` saves a model with its metadata and feed
(:mod:`metaliverpool.predict.model_io`); this catalog finds them, checks that their sensors are links of
the twin, loads each once and answers snapshots (:mod:`metaliverpool.predict.snapshot`) as JSON with one
entry per sensor link. A rebuilt twin replaces its folder, and with it the models trained on its links.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from metaliverpool.errors import InputError
from metaliverpool.predict.model_io import load_model
from metaliverpool.predict.snapshot import LEVEL_BANDS, FeedForecaster, level_band
from metaliverpool.service.access import Conflict, NotFound
from metaliverpool.service.twins import TwinCatalog

FORECASTS_DIR = "forecasts"
"""Folder of a twin bundle that holds its trained forecasting models, one sub-folder each."""

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _floats(values: np.ndarray | None, digits: int = 3) -> list[float | None] | None:
    """JSON list with NaN as null."""
    if values is None:
        return None
    return [round(float(v), digits) if np.isfinite(v) else None for v in values]


class ForecastCatalog:
    """Trained forecasting models per twin, each loaded on first use and again when its folder is
    replaced (a model retrained while the server runs is served from its next request on)."""

    def __init__(self, twins: TwinCatalog) -> None:
        self.twins = twins
        self._loaded: dict[tuple[str, str], tuple[int, FeedForecaster]] = {}
        self._lock = threading.Lock()

    def _folder(self, twin_id: str) -> Path:
        return self.twins.get(twin_id).path / FORECASTS_DIR

    def names(self, twin_id: str) -> list[str]:
        """Model folder names of a twin (those holding a ``metadata.json``), sorted."""
        folder = self._folder(twin_id)
        if not folder.is_dir():
            return []
        return sorted(
            p.name for p in folder.iterdir() if _NAME.match(p.name) and (p / "metadata.json").is_file()
        )

    def model(self, twin_id: str, name: str) -> FeedForecaster:
        """The loaded model ``name`` of ``twin_id``; raises NotFound or Conflict (unusable model)."""
        if name not in self.names(twin_id):
            raise NotFound(f"twin {twin_id!r} has no forecasting model {name!r}")
        key = (twin_id, name)
        stamp = (self._folder(twin_id) / name / "metadata.json").stat().st_mtime_ns
        with self._lock:
            if key not in self._loaded or self._loaded[key][0] != stamp:
                self._loaded[key] = (stamp, self._load(twin_id, name))
            return self._loaded[key][1]

    def _load(self, twin_id: str, name: str) -> FeedForecaster:
        path = self._folder(twin_id) / name
        try:
            forecaster = FeedForecaster(load_model(path))
        except InputError as error:
            raise Conflict(f"forecasting model {name!r} cannot be used: {error}") from None
        link_ids = set(self.twins.twin(twin_id).links["link_id"].tolist())
        sensors = forecaster.saved.metadata["sensor_ids"]
        unknown = [s for s in sensors if not s.lstrip("-").isdigit() or int(s) not in link_ids]
        if unknown:
            raise Conflict(
                f"forecasting model {name!r} ({path}) has sensors that are not links of twin {twin_id!r} "
                f"(first: {unknown[0]!r}); retrain it on this twin's history"
            )
        return forecaster

    def summaries(self, twin_id: str) -> list[dict[str, Any]]:
        """What each model is, how well it did on validation, and the moments its feed offers."""
        return [self.summary(twin_id, name) for name in self.names(twin_id)]

    def summary(self, twin_id: str, name: str) -> dict[str, Any]:
        """One model's summary (``usable`` false with the reason when it cannot be used)."""
        try:
            forecaster = self.model(twin_id, name)
        except Conflict as error:
            return {"name": name, "usable": False, "reason": str(error)}
        meta = forecaster.saved.metadata
        clock = forecaster.clock
        return {
            "name": name,
            "usable": True,
            "model": meta["model"],
            "quantity": forecaster.quantity,
            "horizons_min": list(forecaster.horizons_min),
            "interval_s": meta["interval_s"],
            "lookback_steps": meta["lookback_steps"],
            "sensors": len(meta["sensor_ids"]),
            "train_time_s": meta.get("train_time_s"),
            "validation": meta.get("validation", {}),
            "choice": meta.get("choice", {}),
            "created_utc": meta.get("created_utc"),
            "trained_on": meta.get("trained_on"),
            "bands": [{"below": bound, "name": band} for bound, band in LEVEL_BANDS],
            "origins": {
                "row": clock.rows.tolist(),
                "day": clock.day.tolist(),
                "day_of_week": clock.day_of_week.tolist(),
                "clock_s": clock.clock_s.tolist(),
            },
        }

    def snapshot(self, twin_id: str, name: str, row: int, horizon_min: float) -> dict[str, Any]:
        """Forecast of every sensor link from origin ``row``, ``horizon_min`` ahead (JSON columns)."""
        forecaster = self.model(twin_id, name)
        snap = forecaster.snapshot(row, horizon_min)
        bands = [level_band(v) for v in snap.level_forecast]
        answer: dict[str, Any] = {
            "name": name,
            "row": snap.row,
            "horizon_min": snap.horizon_min,
            "clock_s": snap.clock_s,
            "target_clock_s": snap.target_clock_s,
            "day": snap.day,
            "day_of_week": snap.day_of_week,
            "quantity": forecaster.quantity,
            "link_id": [int(s) for s in forecaster.saved.metadata["sensor_ids"]],
            "observed_now": _floats(snap.observed_now),
            "forecast": _floats(snap.forecast),
            "observed_target": _floats(snap.observed_target),
            "reference": _floats(snap.reference),
            "events_target": _floats(snap.events_target),
            "level_now": _floats(snap.level_now),
            "level_forecast": _floats(snap.level_forecast),
            "level_observed_target": _floats(snap.level_observed_target),
            "band_forecast": bands,
            "band_counts": {band: bands.count(band) for _, band in LEVEL_BANDS},
        }
        if snap.observed_target is not None:
            error = np.abs(snap.forecast - snap.observed_target)
            answer["mae_vs_observed"] = float(np.nanmean(error)) if np.isfinite(error).any() else None
        return answer

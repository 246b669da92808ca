"""Saving and loading a trained forecasting model with its metadata.

A saved model is a folder written atomically:

- ``metadata.json``: ``format`` (``metaliverpool-forecast``), ``format_version``, ``model`` (name),
  ``settings`` (the model's own), ``sensor_ids``, ``interval_s``, ``horizons_min``, ``lookback_steps``,
  ``quantity`` (what the series measures, e.g. ``speed_mps``), ``trained_on`` (source file and rows),
  ``seed``, ``train_time_s``, ``validation`` scores, ``adjacency`` (whether a neighbourhood was used),
  ``created_utc`` and library versions;
- ``arrays.npz``: the model's named arrays (plus ``neighbour_weights``);
- one file per byte blob (LightGBM model text, torch state dict);
- ``feed.npz`` (optional): a sensor feed in the series layout (:mod:`metaliverpool.predict.series`) that
  a server forecasts from (:mod:`metaliverpool.predict.snapshot`). ``forecast train`` writes the held-out
  test days of the training series there, so the map replays forecasts on data the model never saw; a
  deployment replaces it with live detector rows in the same layout.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metaliverpool.atomic import atomic_directory
from metaliverpool.errors import InputError
from metaliverpool.predict.forecaster import Forecaster
from metaliverpool.predict.registry import forecaster_from_state
from metaliverpool.predict.series import SensorSeries, load_series, save_series_npz

FORMAT = "metaliverpool-forecast"
FORMAT_VERSION = 2
"""2: learned models carry their per-horizon guard (:mod:`metaliverpool.predict.selection`)."""
FEED_NAME = "feed.npz"


@dataclass
class SavedModel:
    """A loaded model: the fitted forecaster, its metadata, the neighbourhood it was trained with and its
    feed (None when the folder has none)."""

    forecaster: Forecaster
    metadata: dict[str, Any]
    neighbour_weights: np.ndarray
    feed: SensorSeries | None = None


def save_model(
    path: Path,
    forecaster: Forecaster,
    metadata: dict[str, Any],
    neighbour_weights: np.ndarray,
    feed: SensorSeries | None = None,
) -> Path:
    """Write ``forecaster``, ``metadata`` and the optional ``feed`` to the folder ``path`` (replaced
    atomically)."""
    import lightgbm
    import torch

    settings, arrays, blobs = forecaster.state()
    full = {
        **metadata,  # what the model is about; what it is and how it is stored are set here
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": forecaster.name,
        "settings": settings,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": {"numpy": np.__version__, "lightgbm": lightgbm.__version__, "torch": torch.__version__},
        "blobs": sorted(blobs),
    }
    with atomic_directory(Path(path)) as staging:
        (staging / "metadata.json").write_text(json.dumps(full, indent=2, sort_keys=True), encoding="utf-8")
        buffer = io.BytesIO()
        np.savez_compressed(buffer, neighbour_weights=neighbour_weights, **arrays)  # type: ignore[arg-type]
        (staging / "arrays.npz").write_bytes(buffer.getvalue())
        for name, data in blobs.items():
            (staging / name).write_bytes(data)
        if feed is not None:
            save_series_npz(feed, staging / FEED_NAME)
    return Path(path)


def load_model(path: Path) -> SavedModel:
    """Read a folder written by :func:`save_model`."""
    path = Path(path)
    meta_path = path / "metadata.json"
    if not meta_path.is_file():
        raise InputError(path, "not a saved forecasting model (no metadata.json)")
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(meta_path, f"invalid JSON ({error.msg})", where=f"line {error.lineno}") from None
    if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
        raise InputError(meta_path, f"expected format {FORMAT} version {FORMAT_VERSION}", where="format")
    with np.load(path / "arrays.npz", allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    neighbour_weights = arrays.pop("neighbour_weights")
    blobs = {name: (path / name).read_bytes() for name in metadata.get("blobs", [])}
    forecaster = forecaster_from_state(metadata["model"], metadata["settings"], arrays, blobs)
    feed_path = path / FEED_NAME
    feed = load_series(feed_path, float(metadata["interval_s"]) / 60.0) if feed_path.is_file() else None
    if feed is not None and feed.sensor_ids != tuple(metadata["sensor_ids"]):
        raise InputError(feed_path, "the feed's sensor ids differ from the model's", where="sensor_ids")
    return SavedModel(
        forecaster=forecaster, metadata=metadata, neighbour_weights=neighbour_weights, feed=feed
    )

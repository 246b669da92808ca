"""Content-addressed cache of engine runs: a run is a pure function of (twin, settings, seed).

The key is the SHA-256 of the run's twin *content* (every table that reaches an engine, after the edits
and the demand variant are applied), the run settings (without the seed list and ``decompose``), the seed
(dynamic engine only: the static engine is deterministic), :data:`ENGINE_CACHE_VERSION` and the engines'
source code (:func:`engine_code_digest`). Two scenarios whose edits give the same twin share their runs,
and the baseline of every scenario on the same twin is computed once.

Entries are folders ``<cache>/<key[:2]>/<key>/`` holding ``link_loads.parquet``, ``trip_times.parquet`` and
``summary.json``, written atomically.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaliverpool import __version__
from metaliverpool.atomic import atomic_directory
from metaliverpool.edits.schema import RunSettings
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.engines import RunOutputs

ENGINE_CACHE_VERSION = 1
"""Bumped when an engine adapter changes what it returns, to invalidate old entries."""

_ENGINE_SOURCES = (
    "assign",
    "sim",
    "kernels",
    "network",
    "control",
    "scenario/engines.py",
    "scenario/dynamic.py",
)
"""Source files whose content is part of every key, so a changed engine never serves stale runs."""


def engine_code_digest() -> str:
    """SHA-256 of the engines' Python sources (packages and modules in :data:`_ENGINE_SOURCES`)."""
    root = Path(__file__).resolve().parents[1]
    hasher = hashlib.sha256()
    for entry in _ENGINE_SOURCES:
        path = root / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            hasher.update(file.relative_to(root).as_posix().encode())
            hasher.update(file.read_bytes())
    return hasher.hexdigest()


_HASHED_TABLES = ("nodes", "links", "junctions", "turn_restrictions", "zones", "services", "trips")


def _frame_digest(frame: pd.DataFrame) -> bytes:
    hasher = hashlib.sha256()
    hasher.update(",".join(map(str, frame.columns)).encode())
    for column in frame.columns:
        if column == "geometry":
            continue
        series = frame[column]
        if series.dtype == object:
            series = series.map(repr)
        hasher.update(pd.util.hash_pandas_object(series, index=False).to_numpy().tobytes())
    return hasher.digest()


def twin_digest(twin: Twin) -> str:
    """SHA-256 (hex) of the twin tables an engine reads (geometry left out: engines do not read it)."""
    hasher = hashlib.sha256()
    for name in _HASHED_TABLES:
        hasher.update(name.encode())
        hasher.update(_frame_digest(getattr(twin, name)))
    return hasher.hexdigest()


def run_key(twin_hash: str, settings: RunSettings, seed: int, base_hash: str | None = None) -> str:
    """The cache key of one run (see the module docstring); ``base_hash``: the baseline twin's digest,
    which the dynamic engine's signal plans depend on."""
    payload: dict[str, Any] = {
        "twin": twin_hash,
        "base": base_hash if settings.engine == "dynamic" else None,
        "settings": settings.model_dump(mode="json", exclude={"seeds", "decompose"}),
        "seed": seed if settings.engine == "dynamic" else None,
        "engine_cache_version": ENGINE_CACHE_VERSION,
        "code_version": __version__,
        "engine_code": engine_code_digest(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def turn_flows_key(base_hash: str) -> str:
    """The cache key of the dynamic engine's baseline turn flows (the input of every signal plan of a pair)
    on a base twin of digest ``base_hash``."""
    payload = {
        "turn_flows": base_hash,
        "engine_cache_version": ENGINE_CACHE_VERSION,
        "code_version": __version__,
        "engine_code": engine_code_digest(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class RunCache:
    """A folder of cached runs (``None`` folder: a cache that never hits and stores nothing)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None

    def _entry(self, key: str) -> Path | None:
        return None if self.folder is None else self.folder / key[:2] / key

    def get(self, key: str) -> RunOutputs | None:
        """The cached outputs of ``key``, or ``None``."""
        entry = self._entry(key)
        if entry is None or not (entry / "summary.json").is_file():
            return None
        try:
            loads = pd.read_parquet(entry / "link_loads.parquet")
            trips = pd.read_parquet(entry / "trip_times.parquet")
            summary = json.loads((entry / "summary.json").read_text())
        except (OSError, ValueError):
            return None
        return RunOutputs(loads, trips, summary)

    def put(self, key: str, outputs: RunOutputs) -> None:
        """Store ``outputs`` under ``key`` (atomically; an existing entry is replaced)."""
        entry = self._entry(key)
        if entry is None:
            return
        with atomic_directory(entry) as staging:
            outputs.link_loads.to_parquet(staging / "link_loads.parquet", index=False)
            outputs.trip_times.to_parquet(staging / "trip_times.parquet", index=False)
            (staging / "summary.json").write_text(
                json.dumps(outputs.summary, default=_json_default, indent=1)
            )

    def get_turn_flows(self, key: str) -> dict[tuple[int, int], float] | None:
        """Turn flows stored under ``key`` (veh/h by (in-link, out-link)), or ``None``."""
        entry = self._entry(key)
        if entry is None or not (entry / "turn_flows.parquet").is_file():
            return None
        try:
            table = pd.read_parquet(entry / "turn_flows.parquet")
        except (OSError, ValueError):
            return None
        pairs = zip(table["in_link"].tolist(), table["out_link"].tolist(), strict=True)
        return dict(zip(pairs, table["flow_vph"].tolist(), strict=True))

    def put_turn_flows(self, key: str, flows: dict[tuple[int, int], float]) -> None:
        """Store turn flows under ``key`` (atomically)."""
        entry = self._entry(key)
        if entry is None:
            return
        table = pd.DataFrame(
            {
                "in_link": np.array([k[0] for k in flows], dtype=np.int64),
                "out_link": np.array([k[1] for k in flows], dtype=np.int64),
                "flow_vph": np.array(list(flows.values()), dtype=np.float64),
            }
        )
        with atomic_directory(entry) as staging:
            table.to_parquet(staging / "turn_flows.parquet", index=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

"""Edits of the trip table: new developments, demand changes by percentage, demand growth.

Random choices (which trips are dropped or copied, where new trips go) use a generator seeded from the
edit's own content, so applying the same scenario to the same twin always gives the same trips.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd


def rng_for(payload: Any) -> np.random.Generator:
    """A random generator seeded by the SHA-256 of ``payload`` (JSON-serialisable)."""
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _renumber(trips: pd.DataFrame) -> pd.DataFrame:
    trips = trips.reset_index(drop=True)
    trips["trip_id"] = np.arange(len(trips), dtype=np.int32)
    return trips


def scale_trips(
    trips: pd.DataFrame, percent: float, selected: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Change the number of ``selected`` trips by ``percent`` (drop or copy trips at random).

    The expected count after is ``n * (1 + percent / 100)``, rounded to the nearest whole trip; unselected
    trips are untouched. Copies keep their origin, destination and departure time.
    """
    chosen = np.flatnonzero(selected)
    target = round(chosen.size * (1.0 + percent / 100.0))
    if target < chosen.size:
        drop = rng.choice(chosen, size=chosen.size - target, replace=False)
        keep = np.ones(len(trips), dtype=bool)
        keep[drop] = False
        return _renumber(trips.iloc[np.flatnonzero(keep)].copy())
    if target > chosen.size and chosen.size > 0:
        extra = rng.choice(chosen, size=target - chosen.size, replace=True)
        return _renumber(pd.concat([trips, trips.iloc[np.sort(extra)]], ignore_index=True))
    return trips


def _copy_trips_at(
    trips: pd.DataFrame, end: str, zone_id: int, node_id: int, count: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``count`` random copies of the trips whose ``end`` (``origin`` or ``destination``) is zone
    ``zone_id`` (of all trips when there are none), moved to start or finish at it; copies whose other end
    is its node ``node_id`` are left out."""
    other = "destination" if end == "origin" else "origin"
    pattern = trips[trips[f"{end}_zone_id"] == zone_id]
    pattern = pattern if len(pattern) else trips
    sample = pattern.iloc[rng.integers(0, len(pattern), size=count)].copy()
    sample[f"{end}_zone_id"] = zone_id
    sample[f"{end}_node_id"] = node_id
    return sample[sample[f"{other}_node_id"] != node_id]


def add_development_trips(
    trips: pd.DataFrame,
    zone: pd.Series,
    homes_trips: int,
    jobs_trips: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Append ``homes_trips`` trips leaving ``zone`` and ``jobs_trips`` trips arriving at it.

    Leaving trips copy destinations and departure times from the zone's existing outbound trips (from all
    trips when it has none); arriving trips copy origins and departure times from its inbound trips.
    """
    zone_id = int(zone["zone_id"])
    node_id = int(zone["node_id"])
    parts = [trips]
    if homes_trips > 0 and len(trips):
        parts.append(_copy_trips_at(trips, "origin", zone_id, node_id, homes_trips, rng))
    if jobs_trips > 0 and len(trips):
        parts.append(_copy_trips_at(trips, "destination", zone_id, node_id, jobs_trips, rng))
    if len(parts) == 1:
        return trips
    combined = pd.concat(parts, ignore_index=True)
    combined["mode"] = combined["mode"].fillna("car") if "mode" in combined else "car"
    return _renumber(combined)

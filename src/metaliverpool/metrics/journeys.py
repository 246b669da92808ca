"""Journey impacts: travel time per origin-destination pair and per zone; winners and losers.

A *trip times* table has one row per trip: ``origin_zone_id``, ``destination_zone_id`` and
``travel_time_s`` (NaN if the trip did not arrive). Trips are compared by OD pair (a trip id is not stable
when a scenario changes demand): the mean time of the pair in the scenario minus in the baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINNER_LOSER_THRESHOLD_S = 60.0
"""An OD pair or zone gains or loses when its mean travel time changes by more than a minute (smaller
changes are within what travellers perceive as no change, and within seed-to-seed noise)."""


def od_times(trips: pd.DataFrame) -> pd.DataFrame:
    """Mean travel time and trip count per OD pair (arrived trips only)."""
    done = trips[np.isfinite(trips["travel_time_s"].to_numpy(dtype=np.float64))]
    return (
        done.groupby(["origin_zone_id", "destination_zone_id"])
        .agg(time_s=("travel_time_s", "mean"), trips=("travel_time_s", "size"))
        .reset_index()
    )


def compare_od(baseline: pd.DataFrame, scenario: pd.DataFrame) -> pd.DataFrame:
    """OD pairs present in both runs: ``baseline_s``, ``scenario_s``, ``change_s``, ``trips`` (baseline)."""
    before = od_times(baseline).rename(columns={"time_s": "baseline_s", "trips": "trips"})
    after = od_times(scenario).rename(columns={"time_s": "scenario_s", "trips": "scenario_trips"})
    joined = before.merge(after, on=["origin_zone_id", "destination_zone_id"], how="inner")
    joined["change_s"] = joined["scenario_s"] - joined["baseline_s"]
    return joined


def zone_changes(od_change: pd.DataFrame) -> pd.DataFrame:
    """Per origin zone: trip-weighted mean change in travel time (s) of its OD pairs, and trips."""
    weights = od_change["trips"].to_numpy(dtype=np.float64)
    frame = od_change.assign(weighted=od_change["change_s"].to_numpy() * weights, w=weights)
    grouped = frame.groupby("origin_zone_id").agg(weighted=("weighted", "sum"), trips=("w", "sum"))
    out = pd.DataFrame(
        {
            "zone_id": grouped.index.to_numpy(dtype=np.int64),
            "change_s": grouped["weighted"].to_numpy() / np.maximum(grouped["trips"].to_numpy(), 1e-12),
            "trips": grouped["trips"].to_numpy(),
        }
    )
    return out


def winners_losers(
    od_change: pd.DataFrame, threshold_s: float = WINNER_LOSER_THRESHOLD_S
) -> dict[str, float]:
    """Trips on OD pairs that gain (faster by more than ``threshold_s``), lose, or see no change."""
    trips = od_change["trips"].to_numpy(dtype=np.float64)
    change = od_change["change_s"].to_numpy(dtype=np.float64)
    return {
        "trips_winning": float(trips[change < -threshold_s].sum()),
        "trips_losing": float(trips[change > threshold_s].sum()),
        "trips_unchanged": float(trips[np.abs(change) <= threshold_s].sum()),
        "mean_change_s": float((change * trips).sum() / trips.sum()) if trips.sum() > 0 else float("nan"),
    }

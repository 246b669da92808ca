"""Network impacts from link loads: vehicle-km, vehicle-hours, delay, speed, queues, diversion, rat-running.

A *link loads* table (one row per link of the run's twin) has the columns:

- ``link_id``, ``base_link_id`` (the link in the base twin, to compare runs), ``from_node_id``,
  ``to_node_id``, ``highway``, ``length_m``;
- ``free_time_s``: free-flow traversal time (s);
- ``flow_veh``: vehicles that entered the link during the modelled period;
- ``time_s``: mean traversal time of those vehicles (s; free-flow time where none);
- ``queue_veh``: mean number of vehicles queued on the link over the period (NaN for static runs).

``vehicle_km = flow_veh * length_m / 1000``; ``vehicle_hours = flow_veh * time_s / 3600``;
``delay_hours = flow_veh * (time_s - free_time_s) / 3600``; mean speed = vehicle-km / vehicle-hours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RESIDENTIAL_HIGHWAYS = ("residential", "living_street", "unclassified", "service")
"""Street classes watched for rat-running."""

RAT_RUN_MIN_RISE_FRACTION = 0.25
"""A residential street is flagged when its flow rises by at least this share of the baseline flow ...."""
RAT_RUN_MIN_RISE_VEH_PER_H = 50.0
"""... and by at least this many vehicles per hour (so a quiet street gaining a handful of cars is not
flagged). Our threshold, not an official one: a 25% rise is roughly where residents notice a change in
traffic (the DMRB noise nuisance change criterion uses 25% of flow for a 1 dB(A) change), and 50 veh/h is
about one vehicle a minute more."""


def add_link_measures(loads: pd.DataFrame) -> pd.DataFrame:
    """Loads with ``vehicle_km``, ``vehicle_hours``, ``delay_hours`` and ``speed_kmh`` per link."""
    out = loads.copy()
    flow = out["flow_veh"].to_numpy(dtype=np.float64)
    time_s = out["time_s"].to_numpy(dtype=np.float64)
    free_s = out["free_time_s"].to_numpy(dtype=np.float64)
    length_m = out["length_m"].to_numpy(dtype=np.float64)
    out["vehicle_km"] = flow * length_m / 1000.0
    out["vehicle_hours"] = flow * time_s / 3600.0
    out["delay_hours"] = flow * np.maximum(time_s - free_s, 0.0) / 3600.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["speed_kmh"] = np.where(time_s > 0, length_m / time_s * 3.6, np.nan)
    return out


def network_totals(loads: pd.DataFrame, junction_node_ids: np.ndarray | None = None) -> dict[str, float]:
    """Totals over the network of one run.

    ``queue_veh_at_junctions`` is the mean number of vehicles queued on links that end at a junction node
    (``junction_node_ids``; all links if ``None``); NaN when the engine gives no queues.
    """
    measured = add_link_measures(loads)
    vkm = float(measured["vehicle_km"].sum())
    vh = float(measured["vehicle_hours"].sum())
    queue = measured["queue_veh"] if "queue_veh" in measured else pd.Series(np.nan, index=measured.index)
    if junction_node_ids is not None:
        queue = queue[measured["to_node_id"].isin(junction_node_ids)]
    return {
        "vehicle_km": vkm,
        "vehicle_hours": vh,
        "delay_hours": float(measured["delay_hours"].sum()),
        "mean_speed_kmh": vkm / vh if vh > 0 else float("nan"),
        "queue_veh_at_junctions": float(queue.sum()) if queue.notna().any() else float("nan"),
    }


def compare_link_flows(baseline: pd.DataFrame, scenario: pd.DataFrame, period_h: float) -> pd.DataFrame:
    """Per base link: baseline and scenario flow (veh/h over the period) and the change.

    Links removed in the scenario count as zero flow there. Columns: ``base_link_id``, ``highway``,
    ``baseline_vph``, ``scenario_vph``, ``change_vph``, ``change_fraction`` (NaN where baseline is 0),
    ``rat_run`` (bool, see :data:`RAT_RUN_MIN_RISE_FRACTION`).
    """
    base = baseline.groupby("base_link_id").agg(
        baseline_veh=("flow_veh", "sum"), highway=("highway", "first")
    )
    scen = scenario.groupby("base_link_id").agg(scenario_veh=("flow_veh", "sum"))
    joined = base.join(scen, how="left").fillna({"scenario_veh": 0.0})
    out = pd.DataFrame(
        {
            "base_link_id": joined.index.to_numpy(dtype=np.int64),
            "highway": joined["highway"].to_numpy(),
            "baseline_vph": joined["baseline_veh"].to_numpy(dtype=np.float64) / period_h,
            "scenario_vph": joined["scenario_veh"].to_numpy(dtype=np.float64) / period_h,
        }
    )
    out["change_vph"] = out["scenario_vph"] - out["baseline_vph"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change_fraction"] = np.where(
            out["baseline_vph"] > 0, out["change_vph"] / out["baseline_vph"], np.nan
        )
    residential = out["highway"].isin(RESIDENTIAL_HIGHWAYS).to_numpy()
    rise = out["change_vph"].to_numpy()
    base_vph = out["baseline_vph"].to_numpy()
    out["rat_run"] = (
        residential & (rise >= RAT_RUN_MIN_RISE_VEH_PER_H) & (rise >= RAT_RUN_MIN_RISE_FRACTION * base_vph)
    )
    return out

"""Run one twin with one engine and one seed, and return engine-neutral outputs for the metrics.

:class:`RunOutputs` holds

- ``link_loads``: one row per link of the twin (the columns of :mod:`metaliverpool.metrics.network`),
- ``trip_times``: one row per trip (``origin_zone_id``, ``destination_zone_id``, ``travel_time_s``),
- ``summary``: engine facts (iterations, gap, vehicles, gridlock interventions, seconds).

Both engines' network vehicle-km, vehicle-hours and mean speed come from these link loads by one function,
:func:`metaliverpool.metrics.network.network_totals` (mean speed = vehicle-km / vehicle-hours over the
twin's links and the demand period).

Engines:

- ``static``: user-equilibrium assignment (:mod:`metaliverpool.assign`, path-based gradient projection) of
  the trip table as hourly demand (trips / period hours) with tolls weighed by the value of time.
  ``flow_veh`` = equilibrium flow x period hours; ``time_s`` = the link's congested time; a trip's
  ``travel_time_s`` is its OD pair's equilibrium generalised cost in seconds (time + toll x 3600 / value of
  time), the measure of user benefit appraisal uses. Deterministic: the seed does not matter.
- ``dynamic``: the mesoscopic simulator (:mod:`metaliverpool.sim`) with iterative dynamic assignment;
  ``flow_veh`` = vehicles that left the link during the run (the demand period's trips, the hour after
  it included: :meth:`~metaliverpool.sim.engine.SimResult.link_traversal_totals`); ``time_s`` = their
  mean traversal time; ``queue_veh`` =
  mean queue over the series snapshots; a trip's ``travel_time_s`` = arrival - departure (NaN if it did not
  arrive).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metaliverpool.assign.problem import AssignmentProblem, UserClass
from metaliverpool.assign.result import AssignmentConfig
from metaliverpool.assign.run import assign
from metaliverpool.edits.schema import RunSettings
from metaliverpool.errors import InputError
from metaliverpool.network.graph import RoadGraph
from metaliverpool.network.twin import Twin

LINK_COLUMNS = (
    "link_id",
    "base_link_id",
    "from_node_id",
    "to_node_id",
    "osm_way_id",
    "highway",
    "length_m",
    "free_time_s",
    "flow_veh",
    "time_s",
    "queue_veh",
)


@dataclass
class RunOutputs:
    """What one engine run produced, in the metrics' tables (see the module docstring).

    ``link_inflow_series`` (dynamic engine only): the series intervals' start times (s after 07:00) and
    the vehicles entering each link in each interval (intervals x links, columns in ``link_loads`` order),
    for flows over a period of the run.
    """

    link_loads: pd.DataFrame
    trip_times: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
    link_inflow_series: tuple[np.ndarray, np.ndarray] | None = None


def period_hours(trips: pd.DataFrame) -> float:
    """Length of the demand period in whole hours (at least 1): the last departure rounded up."""
    if trips.empty:
        return 1.0
    return max(1.0, math.ceil(float(trips["departure_time_s"].max()) / 3600.0))


def routable_zones(twin: Twin) -> pd.DataFrame:
    """Zones that have a network node, sorted by ``zone_id`` (the engines' zone order)."""
    zones = twin.zones[twin.zones["node_id"].to_numpy() >= 0]
    return zones.sort_values("zone_id").reset_index(drop=True)


def _link_frame(twin: Twin) -> pd.DataFrame:
    links = twin.links
    base = links["base_link_id"] if "base_link_id" in links.columns else links["link_id"]
    return pd.DataFrame(
        {
            "link_id": links["link_id"].to_numpy(dtype=np.int64),
            "base_link_id": base.to_numpy(dtype=np.int64),
            "from_node_id": links["from_node_id"].to_numpy(dtype=np.int64),
            "to_node_id": links["to_node_id"].to_numpy(dtype=np.int64),
            "osm_way_id": links["osm_way_id"].to_numpy(dtype=np.int64),
            "highway": links["highway"].astype(str).to_numpy(),
            "length_m": links["length_m"].to_numpy(dtype=np.float64),
            "free_time_s": links["length_m"].to_numpy(dtype=np.float64)
            / links["free_speed_mps"].to_numpy(dtype=np.float64),
        }
    )


@dataclass(frozen=True, eq=False)
class StaticProblem:
    """The static engine's view of a twin: routable ``zones`` (engine order), the ``problem`` (car trips as
    veh/h over ``hours``, tolls weighed by the value of time), and each trip's zone indices ``origin`` /
    ``destination`` (NaN for a zone without a node; ``known`` marks the routable trips)."""

    zones: pd.DataFrame
    problem: AssignmentProblem
    hours: float
    origin: np.ndarray
    destination: np.ndarray
    known: np.ndarray

    @property
    def graph(self) -> RoadGraph:
        """The car network."""
        return self.problem.graph


def static_problem(twin: Twin, value_of_time_gbp_per_h: float) -> StaticProblem:
    """The assignment problem the static engine solves for ``twin`` (see :class:`StaticProblem`)."""
    zones = routable_zones(twin)
    routed = dataclasses.replace(twin, zones=zones)
    graph = RoadGraph.from_twin(routed)
    zone_index = pd.Series(np.arange(len(zones)), index=zones["zone_id"].to_numpy())
    trips = twin.trips
    origin = zone_index.reindex(trips["origin_zone_id"].to_numpy()).to_numpy()
    destination = zone_index.reindex(trips["destination_zone_id"].to_numpy()).to_numpy()
    known = np.isfinite(origin) & np.isfinite(destination)
    hours = period_hours(trips)
    demand = np.zeros((len(zones), len(zones)), dtype=np.float64)
    np.add.at(demand, (origin[known].astype(np.int64), destination[known].astype(np.int64)), 1.0 / hours)
    problem = AssignmentProblem.build(
        graph, [UserClass.with_value_of_time("car", demand, value_of_time_per_h=value_of_time_gbp_per_h)]
    )
    return StaticProblem(zones, problem, hours, origin, destination, known)


def run_static(twin: Twin, settings: RunSettings, seed: int) -> RunOutputs:
    """User-equilibrium assignment of the twin's trips (see the module docstring); ``seed`` is unused."""
    started = time.perf_counter()
    static = static_problem(twin, settings.value_of_time_gbp_per_h)
    graph, hours, trips = static.graph, static.hours, twin.trips
    origin, destination, known = static.origin, static.destination, static.known
    result = assign(
        static.problem, "gp", AssignmentConfig(target_gap=settings.relative_gap, max_iterations=200)
    )
    loads = _link_frame(twin)
    loads["flow_veh"] = 0.0
    loads["time_s"] = loads["free_time_s"]
    position = pd.Series(np.arange(len(loads)), index=loads["link_id"].to_numpy())
    real = graph.link_external_id >= 0  # turn connectors of split junctions are not twin links
    rows = position.reindex(graph.link_external_id[real]).to_numpy()
    flow = loads["flow_veh"].to_numpy(copy=True)
    times = loads["time_s"].to_numpy(copy=True)
    flow[rows] = result.class_flow_vph[0][real] * hours
    times[rows] = result.link_time_s[real]
    loads["flow_veh"] = flow
    loads["time_s"] = times
    loads["queue_veh"] = np.nan
    cost = result.zone_cost_s[0]
    travel = np.full(len(trips), np.nan)
    travel[known] = cost[origin[known].astype(np.int64), destination[known].astype(np.int64)]
    trip_times = pd.DataFrame(
        {
            "origin_zone_id": trips["origin_zone_id"].to_numpy(dtype=np.int64),
            "destination_zone_id": trips["destination_zone_id"].to_numpy(dtype=np.int64),
            "travel_time_s": travel,
        }
    )
    summary = {
        "engine": "static",
        "algorithm": result.algorithm,
        "iterations": int(result.iterations),
        "relative_gap": float(result.relative_gap),
        "relative_gaps": [float(record.relative_gap) for record in result.history],
        "stabilities": [float(record.stability) for record in result.history[1:]],
        "converged": bool(result.converged),
        "trips": len(trips),
        "trips_unroutable": int((~known).sum()),
        "period_h": hours,
        "journey_measure": "generalised cost (s)",
        "seconds": time.perf_counter() - started,
    }
    return RunOutputs(loads, trip_times, summary)


def run_engine(
    twin: Twin, settings: RunSettings, seed: int, base_flows: dict[tuple[int, int], float] | None = None
) -> RunOutputs:
    """Run ``settings.engine`` on ``twin`` with ``seed`` (``base_flows``: see :mod:`.dynamic`)."""
    if settings.engine == "static":
        return run_static(twin, settings, seed)
    from metaliverpool.scenario.dynamic import run_dynamic

    return run_dynamic(twin, settings, seed, base_flows)


def check_engine(settings: RunSettings, source: str) -> None:
    """Fail early, naming the scenario, when the chosen engine cannot run here."""
    if settings.engine not in ("static", "dynamic"):
        raise InputError(source, f"unknown engine {settings.engine!r}", where="field 'run.engine'")

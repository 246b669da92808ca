"""Static assignment on a twin: link flows and zone-to-zone congested travel-time skims.

Use it as::

    from metaliverpool.store.bundle import read_twin
    from metaliverpool.assign.twin import assign_twin

    outcome = assign_twin(read_twin(path))
    outcome.link_flows        # DataFrame: link_id, flow_vph, time_s, ... (one row per car link)
    outcome.skim_time_s       # float64[zones, zones]: congested shortest travel time (s)

Demand comes from the twin's ``trips`` table (mode ``car``): trips between zones counted and turned into
vehicles per hour over ``demand_period_s`` (default: whole hours covering every departure, at least one).
Other classes (goods vehicles with a PCU factor, classes with a value of time that pay ``toll_gbp``) can be
passed as :class:`~metaliverpool.assign.problem.UserClass` objects instead. The network is the twin's car
network compiled by :meth:`RoadGraph.from_twin` (BPR, free-flow time from ``free_speed_mps``).

The skim is the least congested *time* between zone nodes at the equilibrium link times (tolls and other
generalised-cost terms route traffic but do not enter the skim); intrazonal entries are 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from metaliverpool.assign.convergence import default_chunks
from metaliverpool.assign.problem import AssignmentProblem, UserClass
from metaliverpool.assign.result import AssignmentConfig, AssignmentResult
from metaliverpool.assign.run import assign
from metaliverpool.assign.search import SearchGraph
from metaliverpool.errors import InputError
from metaliverpool.network.graph import RoadGraph
from metaliverpool.network.twin import Twin

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class TwinAssignment:
    """Outcome of :func:`assign_twin`.

    Attributes
    ----------
    graph:
        The compiled car network.
    result:
        The full assignment result (per-class flows, convergence history).
    link_flows:
        One row per car link of the twin (not the turn connectors of split junctions): ``link_id`` (twin
        id), ``flow_vph`` (PCU/h), ``<class>_vph`` per class,
        ``time_s`` (congested), ``free_time_s``, ``capacity_vph``, ``volume_capacity_ratio``.
    zone_ids:
        int64[zones]: twin ``zone_id`` of each skim row/column.
    skim_time_s:
        float64[zones, zones]: congested shortest travel time between zones (s; ``inf`` if unreachable).
    """

    graph: RoadGraph
    result: AssignmentResult
    link_flows: pd.DataFrame
    zone_ids: npt.NDArray[np.int64]
    skim_time_s: FloatArray


def twin_car_demand_vph(twin: Twin, zone_count: int, demand_period_s: float | None = None) -> FloatArray:
    """Car trips of ``twin.trips`` as a zone-by-zone matrix of vehicles per hour.

    ``demand_period_s`` defaults to the whole hours covering every departure (at least one hour).

    Raises
    ------
    InputError
        A trip whose zone is not a twin zone, or a non-positive period.
    """
    trips = twin.trips
    if "mode" in trips.columns:
        trips = trips[trips["mode"] == "car"]
    origin = trips["origin_zone_id"].to_numpy(dtype=np.int64)
    destination = trips["destination_zone_id"].to_numpy(dtype=np.int64)
    bad = (origin < 0) | (origin >= zone_count) | (destination < 0) | (destination >= zone_count)
    if np.any(bad):
        index = int(np.flatnonzero(bad)[0])
        raise InputError(
            "twin trips",
            f"zone {origin[index]} -> {destination[index]} outside 0..{zone_count - 1}",
            where=f"trip_id {trips['trip_id'].to_numpy()[index]}",
        )
    if demand_period_s is None:
        latest = float(trips["departure_time_s"].max()) if len(trips) else 0.0
        demand_period_s = 3600.0 * max(1, math.ceil((latest + 1.0) / 3600.0))
    if not demand_period_s > 0:
        raise InputError("demand period", f"must be > 0 s, found {demand_period_s}")
    counts = np.zeros((zone_count, zone_count))
    np.add.at(counts, (origin, destination), 1.0)
    return counts * (3600.0 / demand_period_s)


def assign_twin(
    twin: Twin,
    *,
    classes: Sequence[UserClass] | None = None,
    algorithm: str = "gp",
    config: AssignmentConfig | None = None,
    demand_period_s: float | None = None,
) -> TwinAssignment:
    """User-equilibrium assignment of ``twin`` (car trips, or ``classes``); link flows and time skims."""
    graph = RoadGraph.from_twin(twin)
    zone_ids = twin.zones.sort_values("zone_id")["zone_id"].to_numpy(dtype=np.int64)
    if classes is None:
        classes = [UserClass("car", twin_car_demand_vph(twin, graph.zone_count, demand_period_s))]
    problem = AssignmentProblem.build(graph, classes)
    result = assign(problem, algorithm, config or AssignmentConfig(target_gap=1e-5))
    skim = skim_time(graph, result.link_time_s)
    table = pd.DataFrame(
        {
            "link_id": graph.link_external_id,
            "flow_vph": result.link_flow_pcu,
            **{f"{name}_vph": result.class_flow_vph[k] for k, name in enumerate(result.class_names)},
            "time_s": result.link_time_s,
            "free_time_s": graph.link_free_time_s,
            "capacity_vph": graph.link_capacity_vph,
            "volume_capacity_ratio": np.divide(
                result.link_flow_pcu,
                graph.link_capacity_vph,
                out=np.zeros(graph.link_count),
                where=graph.link_capacity_vph > 0,
            ),
        }
    )
    table = table[graph.link_external_id >= 0].reset_index(drop=True)  # no turn connectors
    return TwinAssignment(graph=graph, result=result, link_flows=table, zone_ids=zone_ids, skim_time_s=skim)


def skim_time(graph: RoadGraph, link_time_s: FloatArray) -> FloatArray:
    """Shortest travel time between every pair of zones at ``link_time_s`` (s; diagonal 0)."""
    zones = graph.zone_count
    search = SearchGraph.build(graph)
    out = np.empty((zones, zones))
    search.load(
        np.ascontiguousarray(link_time_s, dtype=np.float64),
        np.zeros((zones, zones)),
        np.empty(graph.link_count),
        out,
        np.empty(search.arc_count),
        np.empty((default_chunks(zones, graph.link_count), search.arc_count)),
    )
    np.fill_diagonal(out, 0.0)
    return out

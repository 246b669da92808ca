"""The car matrix of a twin and back: trips counted into a matrix, a matrix redrawn as trips.

Used by calibration (:mod:`metaliverpool.scenario.calibration`): the prior matrix it starts from (and
stores as the ``od_prior`` table), and the calibrated matrix turned into trips the way demand v1 makes them
(``docs/demand.md``): integers by largest remainders, departure times from the morning-peak profile with
the twin's demand seed, trip ends at the access nodes the prior's trips of each zone used.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import pandas as pd

from metaliverpool.demand.model import DemandConfig
from metaliverpool.demand.profile import integer_matrix, trips_from_matrix
from metaliverpool.errors import InputError
from metaliverpool.network.twin import Twin

FloatArray = npt.NDArray[np.float64]


def car_trips(twin: Twin) -> pd.DataFrame:
    """The car rows of the twin's trips."""
    trips = twin.trips
    return trips[trips["mode"] == "car"] if "mode" in trips.columns else trips


def prior_trip_matrix(twin: Twin) -> FloatArray:
    """The twin's car trips as a zone-by-zone count matrix (rows and columns by ``zone_id``)."""
    zone_count = int(twin.zones["zone_id"].max()) + 1 if len(twin.zones) else 0
    trips = car_trips(twin)
    out = np.zeros((zone_count, zone_count))
    np.add.at(
        out,
        (
            trips["origin_zone_id"].to_numpy(dtype=np.int64),
            trips["destination_zone_id"].to_numpy(dtype=np.int64),
        ),
        1.0,
    )
    return out


def access_nodes(twin: Twin) -> list[npt.NDArray[np.int32]]:
    """Per zone (``zone_id`` 0..n-1), the nodes its prior trips start or end at (its node if none)."""
    trips = twin.trips
    ends = pd.concat(
        [
            trips[["origin_zone_id", "origin_node_id"]].set_axis(["zone", "node"], axis=1),
            trips[["destination_zone_id", "destination_node_id"]].set_axis(["zone", "node"], axis=1),
        ]
    )
    by_zone = ends.groupby("zone")["node"].unique()
    zones = twin.zones.sort_values("zone_id")
    out = []
    for zone_id, node_id in zip(zones["zone_id"], zones["node_id"], strict=True):
        nodes = by_zone.get(zone_id)
        chosen = np.sort(np.asarray(nodes, dtype=np.int32)) if nodes is not None else np.array([node_id])
        out.append(chosen.astype(np.int32))
    return out


def demand_seed(twin: Twin) -> int:
    """The seed the twin's demand was drawn with (``manifest.demand.config.seed``), else the default."""
    demand = twin.manifest.get("demand")
    if isinstance(demand, dict) and isinstance(demand.get("config"), dict) and "seed" in demand["config"]:
        return int(demand["config"]["seed"])
    return DemandConfig().seed


def twin_with_matrix(twin: Twin, zone_ids: npt.NDArray[np.int64], trips_matrix: FloatArray) -> Twin:
    """``twin`` with its car trips redrawn from ``trips_matrix`` (trips over the period between the zones
    ``zone_ids``, in that order); trips of other zones are kept as they were."""
    full = prior_trip_matrix(twin)
    full[np.ix_(zone_ids, zone_ids)] = trips_matrix
    counts = integer_matrix(full)
    zones = twin.zones.sort_values("zone_id")
    if not np.array_equal(zones["zone_id"].to_numpy(), np.arange(len(zones))):
        raise InputError("twin zones", "zone_id must run 0..n-1 to redraw trips")
    trips = trips_from_matrix(
        counts, zones["node_id"].to_numpy(dtype=np.int32), demand_seed(twin), access_nodes(twin)
    )
    others = twin.trips[twin.trips["mode"] != "car"] if "mode" in twin.trips.columns else twin.trips.iloc[0:0]
    if len(others):
        others = others.assign(trip_id=np.arange(len(trips), len(trips) + len(others), dtype=np.int32))
        trips = pd.concat([trips, others[trips.columns]], ignore_index=True)
    return dataclasses.replace(twin, trips=trips)


def od_prior_table(twin: Twin) -> pd.DataFrame:
    """The ``od_prior`` table of ``twin``'s car trips (``origin_zone_id``, ``destination_zone_id``,
    ``trips`` over the demand period), one row per non-empty cell."""
    matrix = prior_trip_matrix(twin)
    origin, destination = np.nonzero(matrix)
    return pd.DataFrame(
        {
            "origin_zone_id": origin.astype(np.int32),
            "destination_zone_id": destination.astype(np.int32),
            "trips": matrix[origin, destination].astype(np.float64),
        }
    )

"""Departure-time profile of the morning peak (07:00-10:00) and integer trips from a fractional matrix.

Hourly shares of the three hours, weekday cars (DfT table TRA0307, "Motor vehicle traffic distribution by
time of day and day of the week": roughly 6.5 %, 7 % and 6 % of daily car traffic start in 07-08, 08-09 and
09-10): normalised to 0.33 / 0.37 / 0.30. Within an hour departures are uniform.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

HOURLY_SHARES = (0.33, 0.37, 0.30)
"""Share of the 07:00-10:00 trips departing in each hour."""

AM_PEAK_SHARE_OF_WEEKDAY = 0.19
"""Share of a weekday's car traffic in 07:00-10:00 (DfT TRA0307, weekday: about 6.5 + 7 + 6 %)."""

PERIOD_S = 3 * 3600.0


def integer_matrix(matrix: NDArray[np.float64]) -> NDArray[np.int64]:
    """Round a non-negative matrix to integers keeping the (rounded) total: largest remainders win.

    Deterministic: ties are broken by flat index.
    """
    flat = np.asarray(matrix, dtype=np.float64).ravel()
    floors = np.floor(flat).astype(np.int64)
    short = round(float(flat.sum())) - int(floors.sum())
    if short > 0:
        remainders = flat - floors
        order = np.lexsort((np.arange(len(flat)), -remainders))
        floors[order[:short]] += 1
    return floors.reshape(np.shape(matrix))


def departure_times_s(count: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``count`` departure times (seconds after 07:00) drawn from :data:`HOURLY_SHARES`."""
    hours = rng.choice(len(HOURLY_SHARES), size=count, p=np.asarray(HOURLY_SHARES) / sum(HOURLY_SHARES))
    return np.asarray((hours + rng.random(count)) * 3600.0, dtype=np.float64)


def trips_from_matrix(
    counts: NDArray[np.int64],
    zone_node_ids: NDArray[np.int32],
    seed: int,
    zone_access_nodes: Sequence[NDArray[np.int32]] | None = None,
) -> pd.DataFrame:
    """One row per trip (``trip_id``, zones, nodes, ``departure_time_s``, ``mode``), sorted by departure.

    A trip starts and ends at its zone's node, or, with ``zone_access_nodes`` (per zone, the road nodes its
    trips may use), at one of them drawn uniformly: the zone's traffic is loaded onto its streets instead of
    all of it onto the one node (whose few links could not carry it). The draws come after the departure
    times from the same generator, so the times do not depend on them.
    """
    origins, destinations = np.nonzero(counts)
    repeats = counts[origins, destinations]
    origin_zone = np.repeat(origins, repeats).astype(np.int32)
    destination_zone = np.repeat(destinations, repeats).astype(np.int32)
    rng = np.random.default_rng(seed)
    times = departure_times_s(len(origin_zone), rng)
    order = np.lexsort((destination_zone, origin_zone, times))
    origin_zone, destination_zone = origin_zone[order], destination_zone[order]
    if zone_access_nodes is None:
        origin_node = zone_node_ids[origin_zone]
        destination_node = zone_node_ids[destination_zone]
    else:
        origin_node = _draw_access_nodes(origin_zone, zone_access_nodes, rng)
        destination_node = _draw_access_nodes(destination_zone, zone_access_nodes, rng)
    return pd.DataFrame(
        {
            "trip_id": np.arange(len(order), dtype=np.int32),
            "origin_zone_id": origin_zone,
            "destination_zone_id": destination_zone,
            "origin_node_id": origin_node.astype(np.int32),
            "destination_node_id": destination_node.astype(np.int32),
            "departure_time_s": times[order],
            "mode": "car",
        }
    )


def _draw_access_nodes(
    zones: NDArray[np.int32], zone_access_nodes: Sequence[NDArray[np.int32]], rng: np.random.Generator
) -> NDArray[np.int32]:
    """For each trip end in ``zones``, one of its zone's access nodes, uniformly."""
    sizes = np.array([len(nodes) for nodes in zone_access_nodes], dtype=np.int64)
    if np.any(sizes == 0):
        raise ValueError(f"zone {int(np.flatnonzero(sizes == 0)[0])} has no access node")
    offsets = np.concatenate(([0], np.cumsum(sizes)))
    flat = np.concatenate([np.asarray(nodes, dtype=np.int32) for nodes in zone_access_nodes])
    pick = (rng.random(len(zones)) * sizes[zones]).astype(np.int64)
    return flat[offsets[zones] + np.minimum(pick, sizes[zones] - 1)]

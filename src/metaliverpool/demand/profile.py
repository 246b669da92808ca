"""Departure-time profile of the morning peak (07:00-10:00) and integer trips from a fractional matrix.

Hourly shares of the three hours, weekday cars (DfT table TRA0307, "Motor vehicle traffic distribution by
time of day and day of the week": roughly 6.5 %, 7 % and 6 % of daily car traffic start in 07-08, 08-09 and
09-10): normalised to 0.33 / 0.37 / 0.30. Within an hour departures are uniform.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

HOURLY_SHARES = (0.33, 0.37, 0.30)
"""Share of the 07:00-10:00 trips departing in each hour."""

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


def trips_from_matrix(counts: NDArray[np.int64], zone_node_ids: NDArray[np.int32], seed: int) -> pd.DataFrame:
    """One row per trip (``trip_id``, zones, nodes, ``departure_time_s``, ``mode``), sorted by departure."""
    origins, destinations = np.nonzero(counts)
    repeats = counts[origins, destinations]
    origin_zone = np.repeat(origins, repeats).astype(np.int32)
    destination_zone = np.repeat(destinations, repeats).astype(np.int32)
    rng = np.random.default_rng(seed)
    times = departure_times_s(len(origin_zone), rng)
    order = np.lexsort((destination_zone, origin_zone, times))
    frame = pd.DataFrame(
        {
            "trip_id": np.arange(len(order), dtype=np.int32),
            "origin_zone_id": origin_zone[order],
            "destination_zone_id": destination_zone[order],
            "origin_node_id": zone_node_ids[origin_zone[order]].astype(np.int32),
            "destination_node_id": zone_node_ids[destination_zone[order]].astype(np.int32),
            "departure_time_s": times[order],
            "mode": "car",
        }
    )
    return frame

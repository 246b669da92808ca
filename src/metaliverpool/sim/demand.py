"""Vehicles to simulate (origin node, destination node, departure time) and their routes.

:class:`Demand` is one row per vehicle; :func:`demand_from_od` spreads an OD matrix (trips per zone pair)
over a departure window with a seeded generator (whole vehicles by stochastic rounding of each cell,
departure times uniform over the window), so the same seed gives the same vehicles.

:class:`Routes` stores each vehicle's route as a path id into deduplicated paths (CSR over links).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Demand:
    """One row per vehicle, sorted by departure time (ties by row order)."""

    origin_node: IntArray
    destination_node: IntArray
    departure_time_s: FloatArray
    trip_id: npt.NDArray[np.int64]

    @property
    def vehicle_count(self) -> int:
        """Number of vehicles."""
        return int(self.origin_node.shape[0])

    def subset(self, keep: npt.NDArray[np.bool_]) -> Demand:
        """The vehicles where ``keep`` is True."""
        return Demand(
            self.origin_node[keep],
            self.destination_node[keep],
            self.departure_time_s[keep],
            self.trip_id[keep],
        )


def make_demand(
    origin_node: npt.ArrayLike,
    destination_node: npt.ArrayLike,
    departure_time_s: npt.ArrayLike,
    trip_id: npt.ArrayLike | None = None,
) -> Demand:
    """Build a :class:`Demand` sorted by departure time (stable)."""
    dep = np.asarray(departure_time_s, dtype=np.float64)
    order = np.argsort(dep, kind="stable")
    ids = np.arange(dep.shape[0], dtype=np.int64) if trip_id is None else np.asarray(trip_id, dtype=np.int64)
    return Demand(
        np.ascontiguousarray(np.asarray(origin_node, dtype=np.int32)[order]),
        np.ascontiguousarray(np.asarray(destination_node, dtype=np.int32)[order]),
        np.ascontiguousarray(dep[order]),
        np.ascontiguousarray(ids[order]),
    )


def demand_from_od(
    od_trips: FloatArray,
    zone_node: IntArray,
    *,
    window_s: float,
    scale: float = 1.0,
    start_s: float = 0.0,
    seed: int = 0,
) -> Demand:
    """Vehicles from an OD matrix (trips per zone pair), departures uniform over ``[start, start + window)``.

    Each cell's ``scale * trips`` becomes its integer part plus one more vehicle with probability equal to
    the fraction; origin equals destination is skipped (no travel).
    """
    rng = np.random.default_rng(seed)
    values = np.asarray(od_trips, dtype=np.float64) * scale
    np.fill_diagonal(values, 0.0)
    whole = np.floor(values)
    extra = rng.random(values.shape) < (values - whole)
    counts = (whole + extra).astype(np.int64)
    o_idx, d_idx = np.nonzero(counts)
    reps = counts[o_idx, d_idx]
    origins = np.repeat(o_idx, reps)
    destinations = np.repeat(d_idx, reps)
    departures = start_s + rng.random(origins.shape[0]) * window_s
    return make_demand(zone_node[origins], zone_node[destinations], departures)


@dataclass(frozen=True, eq=False)
class Routes:
    """Deduplicated paths (CSR: ``path_links[path_offset[p]:path_offset[p] + path_length[p]]``) and each
    vehicle's path id (``veh_path``)."""

    path_offset: npt.NDArray[np.int64]
    path_length: IntArray
    path_links: IntArray
    veh_path: IntArray

    @property
    def path_count(self) -> int:
        """Number of distinct paths."""
        return int(self.path_length.shape[0])

    def links_of(self, path: int) -> IntArray:
        """The links of path ``path`` in order."""
        start = int(self.path_offset[path])
        return self.path_links[start : start + int(self.path_length[path])]

    def path_sums(self, link_value: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Per path, the sum of ``link_value`` (one value per link) over its links."""
        running = np.concatenate(([0.0], np.cumsum(link_value[self.path_links])))
        return np.asarray(
            running[self.path_offset + self.path_length] - running[self.path_offset], dtype=np.float64
        )


def routes_from_paths(paths: list[tuple[int, ...]], veh_key: npt.ArrayLike) -> Routes:
    """Routes where vehicle ``v`` follows ``paths[veh_key[v]]`` (identical paths are stored once)."""
    index: dict[tuple[int, ...], int] = {}
    remap = np.empty(len(paths), dtype=np.int32)
    unique: list[tuple[int, ...]] = []
    for k, path in enumerate(paths):
        found = index.get(path)
        if found is None:
            found = len(unique)
            index[path] = found
            unique.append(path)
        remap[k] = found
    lengths = np.array([len(p) for p in unique], dtype=np.int32)
    offsets = np.zeros(len(unique) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    links = np.fromiter((link for p in unique for link in p), dtype=np.int32, count=int(offsets[-1]))
    return Routes(offsets[:-1].copy(), lengths, links, remap[np.asarray(veh_key, dtype=np.int64)])

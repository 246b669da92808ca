"""Demand v1: morning-peak (07:00-10:00) car trips between LSOA zones and external cordon zones.

Every parameter is in :class:`DemandConfig`, with its source in ``docs/demand.md``. Steps:

1. Internal productions: ``population x network_share x car_trips_per_resident``.
2. External entries: an unknown total ``X`` of inbound vehicles, split over cordon zones in proportion to
   their inbound capacity (``cordon_in_capacity_vph``); external exits ``outbound_ratio x X`` split by
   outbound capacity.
3. Internal attractions: the remaining total, split by ``attraction_weight`` (services and amenities as
   an employment proxy, plus residents).
4. A doubly constrained gravity model (``demand.gravity.furness``) with f(d) = exp(-beta d), d the
   straight-line distance between zone nodes times ``circuity`` (km); no intrazonal car trips.
5. ``X`` is solved by bisection so the trips' vehicle-km equal ``target_vehicle_km`` (from DfT traffic
   statistics; see the build), when a target is given; else ``X = external_share x`` internal productions.
6. Integer trips (largest remainders) and departure times (``demand.profile``), seeded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from metaliverpool.demand.gravity import deterrence_exponential, furness, margin_error
from metaliverpool.demand.profile import AM_PEAK_SHARE_OF_WEEKDAY, integer_matrix, trips_from_matrix


@dataclass(frozen=True)
class NtsTripRate:
    """Car-driver trips per resident starting 07:00-10:00 on a weekday, from national statistics
    (``docs/demand.md``, table 4)."""

    car_driver_trips_per_person_per_year: float = 363.0
    """National Travel Survey 2023, England: average trips per person per year by main mode, car or van
    driver (DfT, NTS0303; 39 % of 915 trips, NTS0101)."""
    weekday_over_average_day: float = 74_000.0 / (6_180_000.0 / 92.0)
    """Average weekday / average day: merseyflow, Mersey Gateway and Silver Jubilee bridges, Jul-Sep 2022,
    74,000 vehicles per weekday against 6.18 million in the quarter's 92 days (1.10); traffic on the
    region's other tolled crossing standing in for trips (judgement)."""
    am_peak_share_of_weekday: float = AM_PEAK_SHARE_OF_WEEKDAY
    """Share of a weekday's car traffic in 07:00-10:00 (DfT TRA0307), standing in for the share of
    car-driver trips that start then."""

    def per_resident(self) -> float:
        """Car-driver trips per resident in 07:00-10:00 of an average weekday."""
        return (
            self.car_driver_trips_per_person_per_year
            / 365.0
            * self.weekday_over_average_day
            * self.am_peak_share_of_weekday
        )

    def as_dict(self) -> dict[str, float]:
        """The factors and their product, JSON-ready (the manifest's ``build_config``)."""
        return {**asdict(self), "car_trips_per_resident": self.per_resident()}


@dataclass(frozen=True)
class DemandConfig:
    """Parameters of demand v1 (sources in ``docs/demand.md``)."""

    car_trips_per_resident: float = field(default_factory=lambda: NtsTripRate().per_resident())
    """Car-driver trips starting 07:00-10:00 per resident (:class:`NtsTripRate`)."""
    outbound_ratio: float = 0.5
    """External exits per external entry in the morning peak of a city centre."""
    external_share: float = 2.0
    """External entries per internal production when no vehicle-km target is given."""
    beta_per_km: float = 0.25
    circuity: float = 1.3
    """Network distance / straight-line distance."""
    target_vehicle_km: float | None = None
    seed: int = 20250917

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dict."""
        return asdict(self)


@dataclass
class DemandResult:
    """Trips plus the fractional matrix and a summary for the manifest."""

    trips: pd.DataFrame
    matrix: NDArray[np.float64]
    summary: dict[str, Any]


def distance_km(lon: NDArray[np.float64], lat: NDArray[np.float64], circuity: float) -> NDArray[np.float64]:
    """Pairwise straight-line distance between points (haversine, km) times ``circuity``."""
    lon_r = np.radians(lon)
    lat_r = np.radians(lat)
    dlat = lat_r[:, None] - lat_r[None, :]
    dlon = lon_r[:, None] - lon_r[None, :]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat_r[:, None]) * np.cos(lat_r[None, :]) * np.sin(dlon / 2) ** 2
    return np.asarray(2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))) * circuity)


def _margins(
    external_in: float,
    internal: NDArray[np.bool_],
    productions_internal: NDArray[np.float64],
    in_share: NDArray[np.float64],
    out_share: NDArray[np.float64],
    attraction_share: NDArray[np.float64],
    config: DemandConfig,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Productions and attractions of every zone for ``external_in`` external entries."""
    productions = np.where(internal, productions_internal, external_in * in_share)
    external_out = config.outbound_ratio * external_in
    internal_attraction = max(float(productions.sum()) - external_out, 0.0)
    attractions = np.where(internal, internal_attraction * attraction_share, external_out * out_share)
    return productions, attractions


def _matrix_for(
    external_in: float,
    internal: NDArray[np.bool_],
    productions_internal: NDArray[np.float64],
    in_share: NDArray[np.float64],
    out_share: NDArray[np.float64],
    attraction_share: NDArray[np.float64],
    deterrence: NDArray[np.float64],
    config: DemandConfig,
) -> NDArray[np.float64]:
    productions, attractions = _margins(
        external_in, internal, productions_internal, in_share, out_share, attraction_share, config
    )
    return furness(productions, attractions, deterrence)


def solve_external_entries(
    vehicle_km: Callable[[float], float], target: float, start: float, relative_tolerance: float = 1e-4
) -> float:
    """The ``X >= 0`` with ``vehicle_km(X) = target`` (increasing function): bracket by doubling, then
    Illinois regula falsi. Returns 0 when even ``X = 0`` exceeds the target."""
    low, f_low = 0.0, vehicle_km(0.0) - target
    if f_low >= 0:
        return 0.0
    high, f_high = start, vehicle_km(start) - target
    while f_high < 0 and high < 1e9:
        low, f_low = high, f_high
        high *= 2.0
        f_high = vehicle_km(high) - target
    side = 0
    middle = high
    for _ in range(100):
        middle = (low * f_high - high * f_low) / (f_high - f_low)
        f_middle = vehicle_km(middle) - target
        if abs(f_middle) <= relative_tolerance * target:
            break
        if f_middle < 0:
            low, f_low = middle, f_middle
            if side == -1:
                f_high /= 2.0
            side = -1
        else:
            high, f_high = middle, f_middle
            if side == 1:
                f_low /= 2.0
            side = 1
    return middle


def morning_peak_demand(
    zones: pd.DataFrame, config: DemandConfig, access_nodes: Sequence[np.ndarray] | None = None
) -> DemandResult:
    """Trips for ``zones`` (columns ``kind``, ``population``, ``network_share``, ``attraction_weight``,
    ``cordon_in_capacity_vph``, ``cordon_out_capacity_vph``, ``node_id``, ``node_lon``, ``node_lat``; rows in
    ``zone_id`` order). Trip ends are spread over each zone's ``access_nodes`` when given (distances and
    the gravity model still use the zone nodes)."""
    internal = (zones["kind"] == "lsoa").to_numpy()
    productions_internal = (
        zones["population"].to_numpy(dtype=float)
        * zones["network_share"].to_numpy(dtype=float)
        * config.car_trips_per_resident
    )
    productions_internal = np.where(internal, productions_internal, 0.0)
    cap_in = np.where(internal, 0.0, zones["cordon_in_capacity_vph"].to_numpy(dtype=float))
    cap_out = np.where(internal, 0.0, zones["cordon_out_capacity_vph"].to_numpy(dtype=float))
    in_share = cap_in / cap_in.sum() if cap_in.sum() > 0 else cap_in
    out_share = cap_out / cap_out.sum() if cap_out.sum() > 0 else cap_out
    weights = np.where(internal, zones["attraction_weight"].to_numpy(dtype=float), 0.0)
    attraction_share = weights / weights.sum() if weights.sum() > 0 else weights
    distances = distance_km(
        zones["node_lon"].to_numpy(dtype=float), zones["node_lat"].to_numpy(dtype=float), config.circuity
    )
    deterrence = deterrence_exponential(distances, config.beta_per_km)
    np.fill_diagonal(deterrence, 0.0)

    def vehicle_km(external_in: float) -> float:
        matrix = _matrix_for(
            external_in,
            internal,
            productions_internal,
            in_share,
            out_share,
            attraction_share,
            deterrence,
            config,
        )
        return float((matrix * distances).sum())

    internal_total = float(productions_internal.sum())
    if config.target_vehicle_km is not None and cap_in.sum() > 0:
        external_in = solve_external_entries(vehicle_km, config.target_vehicle_km, max(1.0, internal_total))
    else:
        external_in = config.external_share * internal_total if cap_in.sum() > 0 else 0.0
    matrix = _matrix_for(
        external_in, internal, productions_internal, in_share, out_share, attraction_share, deterrence, config
    )
    productions, attractions = _margins(
        external_in, internal, productions_internal, in_share, out_share, attraction_share, config
    )
    counts = integer_matrix(matrix)
    trips = trips_from_matrix(counts, zones["node_id"].to_numpy(dtype=np.int32), config.seed, access_nodes)
    ext = ~internal
    summary = {
        "trips": len(trips),
        "internal_to_internal": int(counts[np.ix_(internal, internal)].sum()),
        "internal_to_external": int(counts[np.ix_(internal, ext)].sum()),
        "external_to_internal": int(counts[np.ix_(ext, internal)].sum()),
        "external_to_external": int(counts[np.ix_(ext, ext)].sum()),
        "internal_productions": round(internal_total, 1),
        "external_entries": round(external_in, 1),
        "furness_max_relative_error": margin_error(matrix, productions, attractions),
        "vehicle_km": round(float((counts * distances).sum()), 1),
        "target_vehicle_km": config.target_vehicle_km,
        "mean_trip_km": round(float((counts * distances).sum() / max(len(trips), 1)), 3),
        "config": config.as_dict(),
    }
    return DemandResult(trips=trips, matrix=matrix, summary=summary)


def sample_trips(trips: pd.DataFrame, scale: float, seed: int = 0) -> pd.DataFrame:
    """A demand ``scale`` times ``trips`` (rows kept in their order, index reset): each trip is kept
    ``floor(scale)`` times plus once more with probability ``scale - floor(scale)``, drawn without
    replacement with ``seed`` (so ``scale`` 0.5 keeps exactly half, rounded down). Copies of a trip get new
    ``trip_id`` values after the largest one. ``scale`` must be > 0."""
    if not scale > 0.0:
        raise ValueError(f"demand scale must be > 0, got {scale}")
    whole = int(np.floor(scale))
    extra = int(np.floor((scale - whole) * len(trips)))
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.permutation(len(trips))[:extra])
    parts = [trips] * whole + [trips.iloc[picked]]
    out = pd.concat(parts, ignore_index=True)
    if whole >= 1 and len(out) > len(trips) and "trip_id" in out.columns:
        start = int(trips["trip_id"].max()) + 1
        out.loc[len(trips) :, "trip_id"] = np.arange(start, start + len(out) - len(trips))
    if "departure_time_s" in out.columns:
        out = out.sort_values("departure_time_s", kind="stable").reset_index(drop=True)
    return out

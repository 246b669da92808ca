"""Gravity model, rounding and departure times: invariants on generated inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from metaliverpool.demand.gravity import deterrence_exponential, furness
from metaliverpool.demand.model import (
    DemandConfig,
    NtsTripRate,
    distance_km,
    morning_peak_demand,
    sample_trips,
)
from metaliverpool.demand.profile import PERIOD_S, integer_matrix, trips_from_matrix

positive = st.floats(min_value=0.1, max_value=1000.0)


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2, max_value=8).flatmap(lambda n: st.tuples(st.just(n), st.data())))
def test_furness_meets_both_margins(case: tuple[int, st.DataObject]) -> None:
    n, data = case
    productions = data.draw(arrays(np.float64, n, elements=positive))
    attractions = data.draw(arrays(np.float64, n, elements=positive))
    cost = data.draw(arrays(np.float64, (n, n), elements=st.floats(min_value=0.0, max_value=10.0)))
    matrix = furness(productions, attractions, deterrence_exponential(cost, 0.3), max_iterations=5000)
    assert np.all(matrix >= 0)
    assert np.allclose(matrix.sum(axis=1), productions, rtol=1e-6)
    assert np.allclose(matrix.sum(axis=0), attractions * productions.sum() / attractions.sum(), rtol=1e-5)


@given(arrays(np.float64, (4, 5), elements=st.floats(min_value=0.0, max_value=50.0)))
def test_integer_matrix_keeps_total_and_stays_within_one(matrix: np.ndarray) -> None:
    counts = integer_matrix(matrix)
    assert counts.sum() == round(float(matrix.sum()))
    assert np.all(np.abs(counts - matrix) < 1.0 + 1e-9)


def test_trips_from_matrix_deterministic_and_in_period() -> None:
    counts = np.array([[0, 3], [2, 0]])
    nodes = np.array([10, 20], dtype=np.int32)
    first = trips_from_matrix(counts, nodes, seed=1)
    again = trips_from_matrix(counts, nodes, seed=1)
    pd.testing.assert_frame_equal(first, again)
    assert len(first) == 5 and first["departure_time_s"].between(0, PERIOD_S).all()
    assert first["departure_time_s"].is_monotonic_increasing
    assert (first["origin_node_id"] == nodes[first["origin_zone_id"]]).all()


def test_trip_ends_spread_over_zone_access_nodes() -> None:
    counts = np.array([[0, 3000], [1000, 0]])
    access = [np.array([10, 11, 12], dtype=np.int32), np.array([20], dtype=np.int32)]
    plain = trips_from_matrix(counts, np.array([10, 20], dtype=np.int32), seed=4)
    spread = trips_from_matrix(counts, np.array([10, 20], dtype=np.int32), seed=4, zone_access_nodes=access)
    # the same trips and departure times; only the nodes differ
    assert spread["departure_time_s"].equals(plain["departure_time_s"])
    assert spread["origin_zone_id"].equals(plain["origin_zone_id"])
    from_zone_0 = spread.loc[spread["origin_zone_id"] == 0, "origin_node_id"]
    shares = from_zone_0.value_counts(normalize=True)
    assert set(shares.index) == {10, 11, 12} and shares.min() > 0.3
    assert set(spread.loc[spread["origin_zone_id"] == 1, "origin_node_id"]) == {20}
    assert set(spread.loc[spread["destination_zone_id"] == 0, "destination_node_id"]) == {10, 11, 12}


def test_distance_km_matches_a_known_distance() -> None:
    # Liverpool Town Hall to Manchester Town Hall: about 50.0 km great-circle
    d = distance_km(np.array([-2.9917, -2.2446]), np.array([53.4072, 53.4794]), circuity=1.0)
    assert abs(d[0, 1] - 50.0) < 0.6 and d[0, 0] == 0


def _zones() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": ["lsoa", "lsoa", "lsoa", "external", "external"],
            "population": [1500.0, 2000.0, 1000.0, 0.0, 0.0],
            "network_share": [1.0, 0.5, 1.0, 1.0, 1.0],
            "attraction_weight": [10.0, 100.0, 5.0, 0.0, 0.0],
            "cordon_in_capacity_vph": [0.0, 0.0, 0.0, 3000.0, 1000.0],
            "cordon_out_capacity_vph": [0.0, 0.0, 0.0, 3000.0, 0.0],
            "node_id": [0, 1, 2, 3, 4],
            "node_lon": [-2.99, -2.98, -2.97, -3.02, -2.95],
            "node_lat": [53.40, 53.41, 53.40, 53.40, 53.41],
        }
    )


def test_demand_respects_cordon_directions_and_target() -> None:
    result = morning_peak_demand(_zones(), DemandConfig(car_trips_per_resident=0.2, target_vehicle_km=8000.0))
    trips = result.trips
    assert abs(result.summary["vehicle_km"] - 8000.0) / 8000.0 < 0.01
    assert result.summary["furness_max_relative_error"] < 1e-6
    assert not ((trips["destination_zone_id"] == 4).any())  # zone 4 has no outbound capacity
    assert not (trips["origin_zone_id"] == trips["destination_zone_id"]).any()
    internal = result.matrix[:3].sum(axis=1)
    assert np.allclose(internal, [300.0, 200.0, 200.0])  # population x share x 0.20


def test_nts_trip_rate_is_the_product_of_its_cited_factors() -> None:
    # NTS 2023: 363 car-driver trips per person a year; merseyflow weekday / average day 1.10; TRA0307 0.19
    rate = NtsTripRate()
    assert rate.per_resident() == pytest.approx(363.0 / 365.0 * (74_000 * 92 / 6_180_000) * 0.19)
    assert 0.20 < rate.per_resident() < 0.21
    assert DemandConfig().car_trips_per_resident == rate.per_resident()
    assert NtsTripRate(car_driver_trips_per_person_per_year=0.0).per_resident() == 0.0


def test_sample_trips_scales_the_demand_reproducibly() -> None:
    trips = pd.DataFrame(
        {"trip_id": np.arange(10), "departure_time_s": np.arange(10) * 60.0, "origin_zone_id": 1}
    )
    half = sample_trips(trips, 0.5, seed=3)
    assert len(half) == 5 and half["trip_id"].is_unique
    assert half.equals(sample_trips(trips, 0.5, seed=3))
    assert not half.equals(sample_trips(trips, 0.5, seed=4))
    more = sample_trips(trips, 1.5, seed=0)
    assert len(more) == 15 and more["trip_id"].is_unique
    assert np.all(np.diff(more["departure_time_s"]) >= 0)
    assert sample_trips(trips, 1.0).equals(trips)

"""One network, one meaning of capacity: the static and dynamic engines on the coded central twin.

At half the morning-peak demand (queues short), the two engines must agree on network vehicle-km within 5%
and on network mean speed within 10%, both measured by ``metrics.network.network_totals`` over the twin's
links and the demand period's trips (``docs/network-coding.md``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from metaliverpool.demand.model import sample_trips
from metaliverpool.edits.schema import RunSettings
from metaliverpool.metrics.network import network_totals
from metaliverpool.network.coding import CODED_LINK_COLUMNS
from metaliverpool.network.graph import RoadGraph
from metaliverpool.scenario.dynamic import run_dynamic
from metaliverpool.scenario.engines import run_static
from metaliverpool.store.bundle import read_twin


@pytest.mark.slow
@pytest.mark.parametrize("bundle", ["liverpool_centre_bundle", "liverpool_centre_calibrated_bundle"])
def test_engines_agree_at_half_demand(bundle: str, request: pytest.FixtureRequest) -> None:
    """On the prior twin and on the calibrated one ``build`` makes by default."""
    twin = read_twin(request.getfixturevalue(bundle))
    links = twin.links
    assert set(CODED_LINK_COLUMNS) <= set(links.columns)
    signalised = links["cycle_s"].to_numpy() > 0
    assert signalised.sum() > 100  # the centre has hundreds of signalised approaches
    graph = RoadGraph.from_twin(twin)  # the static engine reads the coded stop line
    car = links[links["access"] != "bus_only"].sort_values("link_id")
    real = graph.link_external_id >= 0
    np.testing.assert_allclose(
        graph.link_free_time_s[real],
        car["length_m"] / car["free_speed_mps"] + car["junction_delay_s"],
    )
    np.testing.assert_allclose(graph.link_capacity_vph[real], car["stop_line_capacity_vph"])

    half = dataclasses.replace(twin, trips=sample_trips(twin.trips, 0.5, seed=0))
    assert len(half.trips) == len(twin.trips) // 2
    settings = RunSettings(engine="dynamic", dta_iterations=3, gridlock_timeout_s=300.0)
    static = network_totals(run_static(half, settings, 0).link_loads)
    dynamic_run = run_dynamic(half, settings, 0)
    dynamic = network_totals(dynamic_run.link_loads)
    assert dynamic_run.summary["completed"] == len(half.trips)
    assert abs(dynamic["vehicle_km"] / static["vehicle_km"] - 1.0) < 0.05
    assert abs(dynamic["mean_speed_kmh"] / static["mean_speed_kmh"] - 1.0) < 0.10

"""Free-flow speed calibration (a network parameter): known factors recovered on small twins, the bound,
the record in calibrate_twin, and the build's reuse of the dynamic check's run for validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from metaliverpool.edits.schema import RunSettings
from metaliverpool.errors import InputError
from metaliverpool.ingest.coding import code_network
from metaliverpool.metrics.validation import links_in_area
from metaliverpool.network.twin import Twin
from metaliverpool.observed.model import MORNING_PEAK, AreaSpeed, LinkCount, LinkRef, ObservationSet
from metaliverpool.scenario.calibration import CalibrationConfig, calibrate_twin, dynamic_settings
from metaliverpool.scenario.engines import RunOutputs, run_static
from metaliverpool.scenario.free_flow import (
    FreeFlowConfig,
    calibrate_free_flow,
    free_flow_speed_mps,
    with_free_speed_factor,
)
from metaliverpool.scenario.validation import held_out_validation
from small_twins import LAT0, LON0, grid_twin, two_route_twin


def area(speed_mps: float, radius_m: float = 5_000.0, *, free_flow: bool = True, **where: float) -> AreaSpeed:
    return AreaSpeed(
        area_id="centre_free" if free_flow else "centre_am",
        name="centre",
        centre_lon=where.get("lon", LON0),
        centre_lat=where.get("lat", LAT0),
        radius_m=radius_m,
        speed_mps=speed_mps,
        period=MORNING_PEAK,
        use="calibration" if free_flow else "validation",
        source="speeds.csv:2",
        free_flow=free_flow,
    )


def measured_mps(twin: Twin, where: AreaSpeed) -> float:
    """The twin's free-flow speed in ``where`` as calibration measures it (static flows as weights)."""
    from metaliverpool.scenario.free_flow import _static_flow_vph

    return free_flow_speed_mps(twin, _static_flow_vph(twin, FreeFlowConfig()), links_in_area(twin, where))


@pytest.fixture(scope="module")
def grid() -> Twin:
    return code_network(grid_twin(trips_per_pair=600, departure_window_s=3 * 3600.0))


def test_without_junction_delay_the_factor_is_the_ratio_of_speeds(grid: Twin) -> None:
    # no signals: zero-flow time is L / v, and scaling every speed by k scales every time by 1 / k (the
    # equilibrium's routes unchanged), so the factor that gives 0.7 of the twin's speed is exactly 0.7
    everywhere = area(1.0)
    before = measured_mps(grid, everywhere)
    # by hand: vehicle-km over vehicle-hours at L / v, weighted by the static flows
    loads = run_static(grid, RunSettings(engine="static"), 0).link_loads.set_index("link_id")
    links = grid.links.set_index("link_id").reindex(loads.index)
    q, length = loads["flow_veh"], links["length_m"]
    assert before == pytest.approx((q * length).sum() / (q * length / links["free_speed_mps"]).sum())
    calibrated, record = calibrate_free_flow(grid, dataclasses.replace(everywhere, speed_mps=0.7 * before))
    assert record["factor"] == pytest.approx(0.7, abs=1e-4)
    assert record["prior_kmh"] == pytest.approx(before * 3.6, abs=1e-3)
    assert record["static_kmh"] == pytest.approx(0.7 * before * 3.6, rel=2e-3)
    assert len(record["rounds"]) == 2 and not record["at_bound"]
    assert np.allclose(calibrated.links["free_speed_mps"], 0.7 * grid.links["free_speed_mps"])


def test_a_known_factor_is_recovered_with_signal_delays_and_recoding() -> None:
    # two routes with a signal on the fast one: the uniform delay does not scale with the speeds and the
    # Webster plan is made again from routes on the new free-flow times
    twin = code_network(two_route_twin(trips_per_hour=900))
    assert twin.links["junction_delay_s"].max() > 0
    everywhere = area(1.0)
    truth = with_free_speed_factor(twin, twin.links["link_id"].to_numpy(), 0.62)
    target = measured_mps(truth, everywhere)
    ratio = target / measured_mps(twin, everywhere)
    assert abs(ratio - 0.62) > 0.005  # the speed alone does not give the factor: the delays stay
    _, record = calibrate_free_flow(twin, dataclasses.replace(everywhere, speed_mps=target))
    assert record["factor"] == pytest.approx(0.62, abs=0.003)
    assert record["static_kmh"] == pytest.approx(target * 3.6, rel=0.003)


def test_only_links_inside_the_area_move_and_the_bound_holds(grid: Twin) -> None:
    corner = area(0.5, radius_m=300.0)  # 0.5 m/s: far below anything a factor >= 0.5 reaches
    inside = links_in_area(grid, corner)
    assert 0 < inside.size < len(grid.links)
    calibrated, record = calibrate_free_flow(grid, corner)
    assert record["factor"] == 0.5 and record["at_bound"] and record["links"] == inside.size
    speeds = pd.Series(calibrated.links["free_speed_mps"].to_numpy(), index=calibrated.links["link_id"])
    prior = pd.Series(grid.links["free_speed_mps"].to_numpy(), index=grid.links["link_id"])
    moved = speeds != prior
    assert set(moved[moved].index) == set(inside.tolist())
    assert np.allclose(speeds[inside], 0.5 * prior[inside])
    with pytest.raises(InputError, match="not a free-flow speed"):
        calibrate_free_flow(grid, area(5.0, free_flow=False))
    with pytest.raises(InputError, match="no link of the twin lies inside"):
        calibrate_free_flow(grid, area(5.0, radius_m=10.0, lon=LON0 + 1.0))


def test_calibrate_twin_calibrates_speeds_then_demand_and_the_build_reuses_its_run(grid: Twin) -> None:
    target = 0.8 * measured_mps(grid, area(1.0))
    busy = grid.links.sort_values("link_id")["link_id"].to_numpy()[:1]
    count = LinkCount(
        "c1",
        LinkRef(lon=LON0, lat=LAT0, bearing_deg=90.0),
        300.0,
        MORNING_PEAK,
        "calibration",
        "c.csv:2",
        "",
        (int(busy[0]),),
    )
    held_out = area(5.0, free_flow=False)
    obs = ObservationSet(counts=(count,), area_speeds=(area(target), held_out))
    config = CalibrationConfig(dynamic_corrections=0)
    runs: dict[int, RunOutputs] = {}
    calibrated, record = calibrate_twin(grid, obs, config, dynamic_runs=runs)
    network = record["network"]
    assert network["factor"] == pytest.approx(0.8, abs=1e-3) and network["observation"] == "centre_free"
    assert np.allclose(calibrated.links["free_speed_mps"], 0.8 * grid.links["free_speed_mps"])
    entry = next(o for o in record["observations"] if o["kind"] == "free_flow_speed")
    assert entry == {
        "id": "centre_free",
        "kind": "free_flow_speed",
        "use": "calibration",
        "source": "speeds.csv:2",
        "observed": round(target * 3.6, 3),
        "unit": "km/h",
    }
    assert (
        record["summary"].startswith("Calibrated to 1 count")
        and "free-flow speeds x0.800" in record["summary"]
    )
    assert set(runs) == {1}

    # the validation of seed 1 on the dynamic check's run equals a fresh run of it (same inputs)
    reused = held_out_validation(calibrated, obs, (1,), runs=runs, runs_settings=dynamic_settings(config))
    fresh = held_out_validation(calibrated, obs, (1,))
    assert reused["area_speeds"] == fresh["area_speeds"]
    assert reused["area_speeds"][0]["id"] == "centre_am"
    check = reused["calibration_area_speeds"][0]
    assert check["free_flow"] and check["modelled_kmh"] > 0  # the free-flow speed, simulated flows as weights
    # runs made with other settings are not reused
    other = dynamic_settings(dataclasses.replace(config, dta_iterations=1))
    fake = {1: dataclasses.replace(runs[1], summary={**runs[1].summary, "relative_gaps": [9.0]})}
    assert held_out_validation(calibrated, obs, (1,), runs=fake, runs_settings=other) == fresh

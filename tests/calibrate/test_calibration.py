"""calibrate_twin on a small grid twin: counts of a known matrix, the dynamic check, trips and the record."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaliverpool.assign.odme import OdmeConfig
from metaliverpool.assign.result import AssignmentConfig
from metaliverpool.assign.run import assign
from metaliverpool.errors import InputError
from metaliverpool.network.twin import Twin
from metaliverpool.observed.model import MORNING_PEAK, LinkCount, LinkRef, ObservationSet, Screenline
from metaliverpool.scenario.calibration import CalibrationConfig, calibrate_twin, write_calibrated_twin
from metaliverpool.scenario.engines import static_problem
from metaliverpool.scenario.ray_cluster import RayCluster, RaySettings
from metaliverpool.store.bundle import OD_PRIOR_TABLE, read_optional_table, read_twin
from small_twins import grid_twin

WHERE = LinkRef(lon=-2.99, lat=53.405, bearing_deg=90.0)


@pytest.fixture(scope="module")
def prior_twin() -> Twin:
    return grid_twin(trips_per_pair=600, departure_window_s=3 * 3600.0)


def observed_flows(twin: Twin, factors: np.ndarray) -> pd.Series:
    """Static equilibrium flow (veh/h) per twin link of the twin's matrix with origin rows scaled."""
    static = static_problem(twin, 10.0)
    problem = static.problem
    demand = problem.demand_vph.copy()
    demand[0] *= factors[:, None]
    truth = type(problem)(
        problem.graph, problem.classes, demand, problem.class_pcu, problem.class_fixed_cost_s
    )
    result = assign(truth, "gp", AssignmentConfig(target_gap=1e-6))
    graph = static.graph
    return pd.Series(result.class_flow_vph[0], index=graph.link_external_id)


def observations(twin: Twin, flows: pd.Series) -> ObservationSet:
    busy = flows.sort_values().index[-8:]
    counts = tuple(
        LinkCount(
            f"c{link}",
            WHERE,
            float(flows[link]),
            MORNING_PEAK,
            "calibration",
            f"counts.csv:{i + 2}",
            "",
            (int(link),),
        )
        for i, link in enumerate(busy[:6])
    )
    line = Screenline(
        "s1",
        "two links",
        (WHERE,),
        float(flows[busy[6:]].sum()),
        MORNING_PEAK,
        "calibration",
        "screenlines.csv:2",
        tuple(int(x) for x in busy[6:]),
    )
    held_out = LinkCount("v1", WHERE, 1.0, MORNING_PEAK, "validation", "counts.csv:99", "", (int(busy[0]),))
    return ObservationSet(counts=(*counts, held_out), screenlines=(line,))


def test_calibration_reproduces_counts_and_writes_a_twin(prior_twin: Twin, tmp_path: Path) -> None:
    flows = observed_flows(prior_twin, np.array([1.5, 1.0, 0.8, 1.2]))
    obs = observations(prior_twin, flows)
    config = CalibrationConfig(
        odme=OdmeConfig(
            max_cell_change=1.0, trip_end_tolerance=0.6, total_tolerance=0.3, outer_iterations=10
        ),
        dynamic_corrections=1,
    )
    messages: list[str] = []
    calibrated, record = calibrate_twin(prior_twin, obs, config, progress=messages.append)

    results = record["results"]
    targets = results["targets"]
    assert [t["id"] for t in targets] == [c.site_id for c in obs.counts[:6]] + ["s1"]  # validation left out
    static_geh = np.array([t["static_geh"] for t in targets])
    prior_geh = np.array([t["prior_geh"] for t in targets])
    assert prior_geh.max() > 5.0 and static_geh.max() < 1.0
    assert record["calibrated"] is True and record["engine"] == "static+dynamic"
    assert calibrated.manifest["calibration"] == record
    assert "GEH<5" in record["summary"] and "\n" not in record["summary"]
    assert {o["kind"] for o in record["observations"]} == {"link_count", "screenline"}
    assert all(o["unit"] == "veh/h" and o["use"] == "calibration" for o in record["observations"])
    rounds = results["dynamic"]["rounds"]
    assert rounds[0]["matrix"] == "static estimate" and len(rounds) in (1, 2)
    dynamic_geh = np.array([t["dynamic_geh"] for t in targets])
    assert all(t["dynamic_vph"] > 0 for t in targets)
    below = f"{int(np.sum(dynamic_geh < 5))}/{len(targets)}"
    assert results["geh_below_5"]["dynamic"] == below and f"dynamic {below}" in record["summary"]
    assert any(m.startswith("matrix estimation") for m in messages)

    # the trips: integers of the calibrated matrix, departures over the morning peak, zones' access nodes
    trips = calibrated.trips
    assert trips["trip_id"].tolist() == list(range(len(trips)))
    assert trips["departure_time_s"].between(0, 3 * 3600).all()
    assert results["car_trips_calibrated"] == len(trips) != results["car_trips_prior"]
    assert results["cell_factor_min"] >= 0.5 - 1e-9 and results["cell_factor_max"] <= 2.0 + 1e-9
    nodes = dict(zip(prior_twin.zones["zone_id"], prior_twin.zones["node_id"], strict=True))
    assert (trips["origin_node_id"] == trips["origin_zone_id"].map(nodes)).all()

    out = write_calibrated_twin(prior_twin, calibrated, tmp_path / "calibrated")
    back = read_twin(out)
    assert back.manifest["calibration"]["summary"] == record["summary"]
    prior = read_optional_table(out, OD_PRIOR_TABLE)
    assert prior is not None
    assert list(prior.columns) == ["origin_zone_id", "destination_zone_id", "trips"]
    assert prior["trips"].sum() == len(prior_twin.trips)
    assert str(prior["origin_zone_id"].dtype) == "int32" and str(prior["trips"].dtype) == "float64"
    assert json.loads((out / "manifest.json").read_text())["tables"][OD_PRIOR_TABLE] == "od_prior.parquet"


def test_static_only_and_bad_inputs(prior_twin: Twin) -> None:
    flows = observed_flows(prior_twin, np.array([1.2, 1.0, 1.0, 1.0]))
    obs = observations(prior_twin, flows)
    _, record = calibrate_twin(prior_twin, obs, CalibrationConfig(dynamic_check=False))
    assert record["engine"] == "static" and record["results"]["dynamic"] is None
    assert "dynamic" not in record["summary"]
    nowhere = ObservationSet(
        counts=(LinkCount("x", WHERE, 10.0, MORNING_PEAK, "calibration", "c.csv:2", "", (10_000,)),)
    )
    with pytest.raises(InputError, match="no calibration count"):
        calibrate_twin(prior_twin, nowhere)
    with pytest.raises(InputError, match="departures span 1 h"):
        calibrate_twin(grid_twin(), obs)


def test_candidates_and_dynamic_check_on_ray_match_the_serial_runs(prior_twin: Twin) -> None:
    flows = observed_flows(prior_twin, np.array([1.2, 1.0, 1.0, 1.0]))
    obs = observations(prior_twin, flows)
    config = CalibrationConfig(dynamic_corrections=0, seeds=(1, 2), candidate_cell_changes=(0.5, 1.0))
    _, serial = calibrate_twin(prior_twin, obs, config)
    cluster = RayCluster(RaySettings(local_cpus=2))
    try:
        _, remote = calibrate_twin(prior_twin, obs, dataclasses.replace(config, ray=cluster))
        assert cluster.connect().is_initialized()  # a Ray instance ran them (ours, or the session's)
    finally:
        cluster.close()
    assert [t["dynamic_vph"] for t in remote["results"]["targets"]] == [
        t["dynamic_vph"] for t in serial["results"]["targets"]
    ]
    assert serial["results"]["dynamic"]["seeds"] == [1, 2]
    assert remote["results"]["candidates"] == serial["results"]["candidates"]  # estimated as Ray tasks


def test_candidate_bounds_keep_the_smallest_that_meets_the_counts(prior_twin: Twin) -> None:
    flows = observed_flows(prior_twin, np.array([1.5, 1.0, 0.8, 1.2]))
    obs = observations(prior_twin, flows)
    odme = OdmeConfig(trip_end_tolerance=0.6, total_tolerance=0.3, outer_iterations=10)
    config = CalibrationConfig(odme=odme, candidate_cell_changes=(0.02, 1.0, 2.0), dynamic_check=False)
    _, record = calibrate_twin(prior_twin, obs, config)
    candidates = record["results"]["candidates"]
    assert [c["max_cell_change"] for c in candidates] == [0.02, 1.0, 2.0]
    assert candidates[0]["geh_below_5"] != "7/7"  # 2% per cell cannot reach counts 50% off
    assert [c["chosen"] for c in candidates] == [False, True, False]  # x2 already meets every count
    assert record["results"]["config"]["max_cell_change"] == 1.0 and "x2 of the prior" in record["method"]
    assert record["results"]["cell_factor_max"] <= 2.0 + 1e-9

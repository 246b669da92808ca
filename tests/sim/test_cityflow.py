"""CityFlow import and the Jinan 3x4 fixed-time benchmark against a published figure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metaliverpool.errors import InputError
from metaliverpool.ingest.cityflow import read_cityflow
from metaliverpool.sim.engine import SimConfig, simulate

PUBLISHED_FIXED_TIME_ATT_S = 428.11
"""FixedTime average travel time on Jinan 3x4 (``anon_3_4_jinan_real``, CityFlow, 3,600 s) reported by
Zhang et al. 2022, "Expression might be enough: representing pressure and demand for reinforcement
learning based traffic signal control" (ICML; arXiv:2112.10107), Table of overall performance (JN-1).
Their FixedTime runs phases 1-4 of the roadnet for 30 s each with a 5 s yellow: our ``four_phase`` plan."""


@pytest.mark.slow
def test_jinan_fixed_time_average_travel_time_within_15_percent_of_published(benchmarks_data: Path) -> None:
    folder = benchmarks_data / "cityflow" / "Jinan_3_4"
    scenario = read_cityflow(folder / "roadnet_3_4.json", folder / "anon_3_4_jinan_real.json")
    assert scenario.demand.vehicle_count == 6295
    result = simulate(
        scenario.network,
        scenario.plans["four_phase"],
        scenario.demand,
        scenario.routes,
        SimConfig(horizon_s=3600.0),
        veh_free_time_s=scenario.veh_free_time_s,
    )
    mean = result.summary()["mean_travel_time_s"]
    assert mean == pytest.approx(PUBLISHED_FIXED_TIME_ATT_S, rel=0.15)
    # signals matter: without them the same vehicles are much faster
    free = float(np.mean(scenario.veh_free_time_s))
    assert mean > 1.3 * free


def _tiny_roadnet() -> dict[str, object]:
    def road(rid: str, a: str, b: str, x0: float, x1: float) -> dict[str, object]:
        return {
            "id": rid,
            "points": [{"x": x0, "y": 0}, {"x": x1, "y": 0}],
            "lanes": [{"width": 4, "maxSpeed": 10.0}],
            "startIntersection": a,
            "endIntersection": b,
        }

    link = {
        "type": "go_straight",
        "startRoad": "r1",
        "endRoad": "r2",
        "direction": 0,
        "laneLinks": [
            {"startLaneIndex": 0, "endLaneIndex": 0, "points": [{"x": 290, "y": 0}, {"x": 310, "y": 0}]}
        ],
    }
    return {
        "intersections": [
            {
                "id": "a",
                "point": {"x": 0, "y": 0},
                "width": 0,
                "roads": ["r1"],
                "roadLinks": [],
                "virtual": True,
            },
            {
                "id": "m",
                "point": {"x": 300, "y": 0},
                "width": 10,
                "roads": ["r1", "r2"],
                "roadLinks": [link],
                "trafficLight": {
                    "lightphases": [
                        {"time": 20, "availableRoadLinks": [0]},
                        {"time": 20, "availableRoadLinks": []},
                    ]
                },
                "virtual": False,
            },
            {
                "id": "b",
                "point": {"x": 600, "y": 0},
                "width": 0,
                "roads": ["r2"],
                "roadLinks": [],
                "virtual": True,
            },
        ],
        "roads": [road("r1", "a", "m", 0, 300), road("r2", "m", "b", 300, 600)],
    }


def test_tiny_cityflow_translates_and_respects_its_signal(tmp_path: Path) -> None:
    roadnet = tmp_path / "roadnet.json"
    flow = tmp_path / "flow.json"
    roadnet.write_text(json.dumps(_tiny_roadnet()))
    vehicle = {"length": 5.0, "minGap": 2.5, "headwayTime": 2, "maxSpeed": 10.0}
    flow.write_text(
        json.dumps(
            [{"vehicle": vehicle, "route": ["r1", "r2"], "interval": 5, "startTime": 0, "endTime": 95}]
        )
    )
    scenario = read_cityflow(roadnet, flow)
    assert scenario.demand.vehicle_count == 20
    assert scenario.network.link_count == 3  # r1 movement, crossing into r2, r2 exit
    config = SimConfig(horizon_s=900.0, record_link_events=True, keep_events=True)
    result = simulate(scenario.network, scenario.plans["roadnet"], scenario.demand, scenario.routes, config)
    assert result.completed.all()
    assert result.events is not None
    events = result.events.to_frame()
    crossing_link = scenario.link_road_id.index("r2/crossing")
    crossing = events[(events["kind"] == "enter_link") & (events["link"] == crossing_link)][
        "time_s"
    ].to_numpy()
    assert crossing.shape == (20,)
    # phase 0 (20 s) serves the movement, phase 1 (20 s) does not: a 40 s cycle from t = 0
    assert np.all(np.mod(crossing, 40.0) < 20.0)


def test_bad_cityflow_input_names_the_file_and_place(tmp_path: Path) -> None:
    roadnet = tmp_path / "roadnet.json"
    flow = tmp_path / "flow.json"
    roadnet.write_text(json.dumps(_tiny_roadnet()))
    flow.write_text(json.dumps([{"vehicle": {}, "route": ["r1", "nowhere"], "startTime": 0, "endTime": 0}]))
    with pytest.raises(InputError, match="flow 0"):
        read_cityflow(roadnet, flow)
    roadnet.write_text("{not json")
    with pytest.raises(InputError, match=r"roadnet\.json"):
        read_cityflow(roadnet, flow)

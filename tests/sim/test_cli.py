"""The ``simulate`` command: outputs, the summary line, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from metaliverpool.cli.main import main

from .test_cityflow import _tiny_roadnet

SUMMARY_KEYS = {
    "vehicles",
    "completed",
    "total_travel_time_s",
    "mean_travel_time_s",
    "vehicle_km",
    "gridlock_interventions",
    "seconds",
    "network_vehicle_km",
    "network_vehicle_hours",
    "network_mean_speed_kmh",
}


def _write_tiny(tmp_path: Path) -> tuple[Path, Path]:
    roadnet = tmp_path / "roadnet.json"
    flow = tmp_path / "flow.json"
    roadnet.write_text(json.dumps(_tiny_roadnet()))
    vehicle = {"length": 5.0, "minGap": 2.5, "headwayTime": 2, "maxSpeed": 10.0}
    flow.write_text(
        json.dumps(
            [{"vehicle": vehicle, "route": ["r1", "r2"], "interval": 5, "startTime": 0, "endTime": 95}]
        )
    )
    return roadnet, flow


def test_simulate_cityflow_writes_outputs_and_prints_summary_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    roadnet, flow = _write_tiny(tmp_path)
    out = tmp_path / "run"
    main(["simulate", "--cityflow-roadnet", str(roadnet), "--cityflow-flow", str(flow), "--out", str(out)])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary) == SUMMARY_KEYS
    assert summary["vehicles"] == 20
    assert summary["completed"] == 20
    assert summary["gridlock_interventions"] == 0
    for name in ("link_series", "trips", "signal_plans", "events", "dta_iterations"):
        assert (out / f"{name}.parquet").is_file()
    trips = pd.read_parquet(out / "trips.parquet")
    assert trips["travel_time_s"].sum() == pytest.approx(summary["total_travel_time_s"])
    events = pd.read_parquet(out / "events.parquet")
    assert (events["kind"] == "arrive").sum() == 20


def test_simulate_tntp_with_dta(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = tmp_path / "Toy_net.tntp"
    net.write_text(
        "<NUMBER OF ZONES> 2\n<NUMBER OF NODES> 3\n<FIRST THRU NODE> 1\n<NUMBER OF LINKS> 4\n"
        "<END OF METADATA>\n"
        "~ init term cap len fft b power speed toll type ;\n"
        "1 2 1800 1 1 0.15 4 0 0 1 ;\n2 1 1800 1 1 0.15 4 0 0 1 ;\n"
        "1 3 1800 1.5 1.5 0.15 4 0 0 1 ;\n3 2 1800 1.5 1.5 0.15 4 0 0 1 ;\n"
    )
    (tmp_path / "Toy_trips.tntp").write_text(
        "<NUMBER OF ZONES> 2\n<TOTAL OD FLOW> 3000\n<END OF METADATA>\n\n"
        "Origin 1\n 2 : 3000;\n\nOrigin 2\n 1 : 0;\n"
    )
    out = tmp_path / "run"
    main(
        [
            "simulate",
            "--tntp",
            str(tmp_path / "Toy"),
            "--dta-iterations",
            "4",
            "--length-unit",
            "km",
            "--out",
            str(out),
        ]
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["vehicles"] == 3000
    iterations = pd.read_parquet(out / "dta_iterations.parquet")
    assert len(iterations) == 4
    # demand above the direct link's capacity: the assignment moves vehicles to the longer route
    assert iterations["total_travel_time_s"].iloc[-1] < iterations["total_travel_time_s"].iloc[0]
    trips = pd.read_parquet(out / "trips.parquet")
    assert trips["route_link_ids"].map(len).max() == 2


def test_simulate_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roadnet, flow = _write_tiny(tmp_path)
    flow.write_text("[{]")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "simulate",
                "--cityflow-roadnet",
                str(roadnet),
                "--cityflow-flow",
                str(flow),
                "--out",
                str(tmp_path / "x"),
            ]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "flow.json" in err[0]
    assert not (tmp_path / "x").exists()


def test_simulate_unknown_swap_rule_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roadnet, flow = _write_tiny(tmp_path)
    args = ["simulate", "--cityflow-roadnet", str(roadnet), "--cityflow-flow", str(flow)]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--swap-rule", "logit", "--out", str(tmp_path / "x")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--swap-rule" in err[0] and "proportional" in err[0]
    assert not (tmp_path / "x").exists()

"""The twin API (link flows, congested skims) and the ``metaliverpool assign`` command."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_capture import run_cli
from metaliverpool.assign.twin import assign_twin, twin_car_demand_vph
from metaliverpool.errors import InputError
from metaliverpool.network.graph import RoadGraph
from metaliverpool.network.twin import Twin
from metaliverpool.store.bundle import read_twin, write_twin
from small_twins import LinkSpec, make_twin

# a square: zone A at node 0, zone B at node 3; north route 0-1-3 (fast, small), south 0-2-3 (slow, big),
# plus a bus-only link 0-3 cars may not use
LINKS = [(0, 1, 1000.0, 20.0, 600.0), (1, 3, 1000.0, 20.0, 600.0), (0, 2, 1500.0, 15.0, 1800.0),
         (2, 3, 1500.0, 15.0, 1800.0), (0, 3, 500.0, 10.0, 900.0)]  # fmt: skip


def small_twin(trip_count: int = 1800) -> Twin:
    coords = [(-2.99, 53.40), (-2.98, 53.41), (-2.98, 53.39), (-2.97, 53.40)]
    links = [
        LinkSpec(
            a,
            b,
            500 + number,
            highway="primary",
            capacity_vph=capacity,
            length_m=length,
            speed_limit_mps=speed,
            name="",
            oneway=True,
            access="bus_only" if number == 4 else "all",
        )
        for number, (a, b, length, speed, capacity) in enumerate(LINKS)
    ]
    zones = [("E01000001", 0, 1500, 1), ("E01000002", 3, 1600, 5)]
    return make_twin(coords, links, zones, [(0, 1, trip_count)], osm_node_id_base=100)


def test_road_graph_from_twin_leaves_out_bus_only_links() -> None:
    graph = RoadGraph.from_twin(small_twin())
    assert graph.link_count == 4 and graph.link_external_id.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(graph.link_free_time_s, [50.0, 50.0, 100.0, 100.0])
    assert graph.zone_node.tolist() == [0, 3] and graph.first_thru_node == 0


def test_assign_twin_flows_and_skims(tmp_path: Path) -> None:
    twin = small_twin()
    np.testing.assert_allclose(twin_car_demand_vph(twin, 2), [[0.0, 1800.0], [0.0, 0.0]])
    write_twin(twin, tmp_path / "bundle")
    outcome = assign_twin(read_twin(tmp_path / "bundle"))
    flows = outcome.link_flows.set_index("link_id")
    assert outcome.result.relative_gap <= 1e-5
    # both routes used at equilibrium: equal congested times, flows conserve the 1,800 veh/h
    north = flows.loc[0, "time_s"] + flows.loc[1, "time_s"]
    south = flows.loc[2, "time_s"] + flows.loc[3, "time_s"]
    assert north == pytest.approx(south, rel=1e-4)
    assert flows.loc[0, "flow_vph"] + flows.loc[2, "flow_vph"] == pytest.approx(1800.0)
    assert flows.loc[0, "flow_vph"] == pytest.approx(flows.loc[1, "flow_vph"])
    assert outcome.skim_time_s[0, 1] == pytest.approx(min(north, south), rel=1e-9)
    assert outcome.skim_time_s[0, 0] == 0.0 and np.isinf(outcome.skim_time_s[1, 0])  # no way back
    expected_time = 50.0 * (1 + 0.15 * (flows.loc[0, "flow_vph"] / 600.0) ** 4)
    assert flows.loc[0, "time_s"] == pytest.approx(expected_time)


def test_twin_trips_with_unknown_zone_are_an_input_error() -> None:
    twin = small_twin(10)
    twin.trips.loc[3, "destination_zone_id"] = 7
    with pytest.raises(InputError, match="trip_id 3"):
        assign_twin(twin)


@pytest.mark.slow
def test_cli_assign_sioux_falls(
    benchmarks_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = benchmarks_data / "tntp" / "SiouxFalls"
    out = tmp_path / "flows.csv"
    argv = [
        "assign",
        "--net",
        str(folder / "SiouxFalls_net.tntp"),
        "--trips",
        str(folder / "SiouxFalls_trips.tntp"),
    ]
    code, stdout, _ = run_cli([*argv, "--algorithm", "gp", "--gap", "1e-8", "--out", str(out)], capsys)
    assert code == 0
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert list(summary) == [
        "algorithm", "iterations", "relative_gap", "objective", "seconds", "read_seconds", "compile_seconds"
    ]  # fmt: skip
    assert summary["algorithm"] == "gp" and summary["relative_gap"] <= 1e-8
    assert f"{summary['objective']:.5e}" == f"{42.31335287107440e5:.5e}"
    table = pd.read_csv(out)
    assert list(table.columns) == ["init_node", "term_node", "flow", "cost"] and len(table) == 76
    assert table.loc[0, "init_node"] == 1 and table.loc[0, "term_node"] == 2
    assert table.loc[0, "flow"] == pytest.approx(4494.6576464564205, rel=1e-5)  # best-known flow
    code, stdout, _ = run_cli([*argv, "--algorithm", "bfw", "--max-iter", "3"], capsys)
    assert code == 0 and json.loads(stdout.strip().splitlines()[-1])["iterations"] == 3


def test_cli_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = tmp_path / "x_net.tntp"
    net.write_text(
        "<NUMBER OF ZONES> 1\n<NUMBER OF NODES> 2\n<NUMBER OF LINKS> 1\n<END OF METADATA>\n1 2 3\n"
    )
    trips = tmp_path / "x_trips.tntp"
    trips.write_text("<NUMBER OF ZONES> 1\n<END OF METADATA>\n")
    code, stdout, stderr = run_cli(["assign", "--net", str(net), "--trips", str(trips)], capsys)
    assert code == 2 and stdout == ""
    assert stderr.strip() == (
        f"error: {net}: line 5: expected 10 fields (init_node term_node capacity length "
        "free_flow_time b power speed toll link_type), found 3"
    )
    assert len(stderr.strip().splitlines()) == 1
    code, _, stderr = run_cli(
        ["assign", "--net", str(net), "--trips", str(trips), "--algorithm", "dial"], capsys
    )
    assert code == 2 and "unknown algorithm 'dial'" in stderr
    assert not (tmp_path / "flows.csv").exists()

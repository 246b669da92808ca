"""Runs from the web: the real scenario pipeline on the grid twin, progress, KPIs, report, difference layer,
KPI diffs between versions, example seeding, and the refusals."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pycrdt import Map

from metaliverpool.api.app import create_app
from metaliverpool.service.layers import decode_columns
from web.conftest import make_config, new_scenario, sign_up_in
from web.protocol import change_over_socket, close_road, edit_entry, set_edit, token_of
from web.twin_fixture import grid_twin

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]

GRID_TRIP_KM = 40 * 4 * 0.140
"""The grid twin's 40 trips each cross the grid corner to corner: four 140 m links (km)."""


def wait_for_run(client: TestClient, run_id: int, headers: dict[str, str], timeout_s: float = 240) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        run = client.get(f"/api/runs/{run_id}", headers=headers).json()
        if run["status"] in ("done", "failed"):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.25)


def test_run_progress_kpis_report_and_difference_layer(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    bob = sign_up_in(client, "bob")
    scenario_id = new_scenario(client, alice, name="Close the middle")["scenario_id"]
    client.put(f"/api/scenarios/{scenario_id}/members/bob", json={"role": "viewer"}, headers=alice)
    change_over_socket(
        client, scenario_id, token_of(alice), set_edit("mid", edit_entry(close_road(1005), "alice"))
    )

    # refusals first: nothing is queued
    runs_url = f"/api/scenarios/{scenario_id}/runs"
    assert client.post(runs_url, json={"engine": "static"}, headers=bob).status_code == 403
    assert client.post(runs_url, json={"seeds": []}, headers=alice).status_code == 422
    assert client.post(runs_url, json={"engine": "warp"}, headers=alice).status_code == 422
    assert client.post(runs_url, json={"seeds": [1, 1]}, headers=alice).status_code == 422
    assert client.post(runs_url, json={"version_id": 999}, headers=alice).status_code == 404
    change_over_socket(
        client,
        scenario_id,
        token_of(alice),
        set_edit("zai", edit_entry({"kind": "ai_signal_control", "osm_node_ids": [504]}, "alice", 2.0)),
    )
    refused = client.post(runs_url, json={"engine": "static"}, headers=alice)
    assert refused.status_code == 422
    assert (
        "edit 2 (AI signal control of Street" in refused.text
        and "static engine has no signals" in refused.text
    )
    change_over_socket(
        client, scenario_id, token_of(alice), lambda doc: doc.get("edits", type=Map).pop("zai")
    )
    assert client.get(runs_url, headers=alice).json() == []

    started = client.post(runs_url, json={"engine": "static", "seeds": [1]}, headers=alice)
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    assert started.json()["config"]["edits"] == [{"kind": "close_road", "osm_way_ids": [1005], "id": "mid"}]
    assert client.get(f"/api/runs/{run_id}/kpis", headers=alice).status_code == 404  # not done yet
    run = wait_for_run(client, run_id, alice)
    assert run["status"] == "done", run["message"]
    assert run["progress"] == 1.0
    assert set(run["outputs"]) >= {"kpis.json", "report.html", "links.parquet"}

    kpis = client.get(f"/api/runs/{run_id}/kpis", headers=bob).json()  # viewers may read results
    assert kpis["network"]["vehicle_km"]["baseline"]["mean"] == pytest.approx(GRID_TRIP_KM, rel=1e-6)
    report = client.get(f"/api/runs/{run_id}/report", headers=alice)
    assert report.status_code == 200 and "<html" in report.text.lower()
    header, columns = decode_columns(
        client.get(f"/api/runs/{run_id}/layers/link_change", headers=alice).content
    )
    links = grid_twin().links
    closed = links.loc[links["osm_way_id"] == 1005, "link_id"].tolist()
    assert len(closed) == 2
    by_link = dict(zip(columns["link_id"].tolist(), columns["scenario_vph"].tolist(), strict=True))
    assert all(by_link[link] == 0.0 for link in closed)
    assert header["count"] == 24
    # the static engine is deterministic: one run per side, no interval, and done without the minutes a
    # vehicle animation takes (it moves no vehicles: there is none, and the run says why)
    assert [r["side"] for r in kpis["runs"]] == ["baseline", "scenario"] and kpis["deterministic"] is True
    vkm = next(row for row in run["kpi_table"] if row["key"] == "network.vehicle_km")
    assert vkm["label"] == "Vehicle-kilometres per morning" and vkm["unit"] == "veh-km"
    assert vkm["interval"] is None and vkm["display"]["interval"] == "deterministic"
    assert vkm["display"]["baseline"] == f"{GRID_TRIP_KM:,.0f}"
    assert run["decomposition_table"] == []  # rows only for a run asked to split the AI loop's effect
    assert run["finished_at_s"] - run["created_at_s"] < 30.0
    assert "vehicles.mll" not in run["outputs"] and "static engine moves no vehicles" in run["message"]
    assert client.get(f"/api/runs/{run_id}/layers/vehicles", headers=alice).status_code == 404

    # a dynamic run is done with its results; its animation joins the outputs afterwards
    dynamic = client.post(runs_url, json={"engine": "dynamic", "seeds": [1]}, headers=alice).json()
    assert wait_for_run(client, dynamic["run_id"], alice)["status"] == "done"
    deadline = time.monotonic() + 120
    while "vehicles.mll" not in client.get(f"/api/runs/{dynamic['run_id']}", headers=alice).json()["outputs"]:
        assert time.monotonic() < deadline, "no vehicle animation"
        time.sleep(0.25)
    # animated vehicles: all 40 trips, four 140 m links each, never faster than the free speed of 11 m/s
    # (the middle junction has signals, so some wait at a red light)
    layer = client.get(f"/api/runs/{dynamic['run_id']}/layers/vehicles", headers=alice).content
    header, columns = decode_columns(layer)
    assert header["count"] == 40 and int(columns["arrived"].sum()) == 40
    starts, stamps = columns["path_start"], columns["timestamps_s"]
    for row in range(header["count"]):
        times = stamps[starts[row] : starts[row + 1]]
        assert np.all(np.diff(times) >= -1e-3)
        assert 4 * 140.0 / 11.0 - 0.5 <= times[-1] - times[0] <= 4 * 140.0 / 11.0 + 120.0
    assert np.all(columns["delay_ratio"] >= 1.0 - 1e-3)
    parquet = client.get(f"/api/runs/{run_id}/outputs/links.parquet", headers=alice)
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
    assert client.get(f"/api/runs/{run_id}/outputs/nothing.bin", headers=alice).status_code == 404
    assert [r["run_id"] for r in client.get(runs_url, headers=alice).json()] == [dynamic["run_id"], run_id]

    stranger = sign_up_in(client, "mallory")
    assert client.get(f"/api/runs/{run_id}", headers=stranger).status_code == 404
    assert client.get(f"/api/runs/{run_id}/report", headers=stranger).status_code == 404
    assert client.get(f"/api/runs/{run_id + 100}", headers=alice).status_code == 404


def test_version_diff_carries_the_kpi_difference(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    scenario_id = new_scenario(client, alice, name="Two versions")["scenario_id"]
    empty = client.post(
        f"/api/scenarios/{scenario_id}/versions", json={"name": "empty"}, headers=alice
    ).json()
    change_over_socket(
        client, scenario_id, token_of(alice), set_edit("mid", edit_entry(close_road(1005), "alice"))
    )
    closed = client.post(
        f"/api/scenarios/{scenario_id}/versions", json={"name": "closed"}, headers=alice
    ).json()
    for version in (empty, closed):
        run = client.post(
            f"/api/scenarios/{scenario_id}/runs",
            json={"version_id": version["version_id"], "engine": "static", "seeds": [1]},
            headers=alice,
        ).json()
        assert run["config"]["edits"] == (
            [] if version is empty else [{"kind": "close_road", "osm_way_ids": [1005], "id": "mid"}]
        )
        assert wait_for_run(client, run["run_id"], alice)["status"] == "done"
    diff = client.get(
        f"/api/versions/diff?a={empty['version_id']}&b={closed['version_id']}", headers=alice
    ).json()
    assert [item["id"] for item in diff["added"]] == ["mid"]
    vehicle_km = diff["kpi_difference"]["network.vehicle_km.baseline.mean"]
    assert vehicle_km["a"] == pytest.approx(GRID_TRIP_KM) and vehicle_km["b_minus_a"] == pytest.approx(0.0)


def test_example_scenarios_are_seeded_once_with_a_version_and_a_run(twin_dir: Path, tmp_path: Path) -> None:
    example = tmp_path / "close-middle.yaml"
    example.write_text(
        "schema_version: 2\nname: Close the middle street\ndescription: Example.\n"
        "edits:\n- kind: close_road\n  id: middle\n  osm_way_ids: [1005]\n"
        "run:\n  engine: static\n  seeds: [1]\n"
    )
    config = make_config(twin_dir, tmp_path / "state", examples=(example,))
    for _ in range(2):  # the second start finds everything there
        with TestClient(create_app(config)) as client:
            response = client.post("/api/auth/signin", json={"name": "demo", "password": "mersey-ferry-1"})
            headers = {"Authorization": f"Bearer {response.json()['token']}"}
            scenarios = client.get("/api/scenarios", headers=headers).json()
            assert [(s["name"], s["visibility"]) for s in scenarios] == [
                ("Close the middle street", "shared")
            ]
            scenario_id = scenarios[0]["scenario_id"]
            versions = client.get(f"/api/scenarios/{scenario_id}/versions", headers=headers).json()
            assert [v["name"] for v in versions] == ["from close-middle.yaml"]
            runs = client.get(f"/api/scenarios/{scenario_id}/runs", headers=headers).json()
            assert len(runs) == 1 and runs[0]["version_id"] == versions[0]["version_id"]
            assert wait_for_run(client, runs[0]["run_id"], headers)["status"] == "done"
            edits = client.get(f"/api/scenarios/{scenario_id}/edits", headers=headers).json()["edits"]
            assert edits == [{"kind": "close_road", "osm_way_ids": [1005], "id": "middle", "vehicles": "all"}]


def test_a_run_repeating_a_finished_one_is_done_at_once_with_its_results(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    scenario_id = new_scenario(client, alice, name="Repeat")["scenario_id"]
    token = token_of(alice)
    change_over_socket(client, scenario_id, token, set_edit("mid", edit_entry(close_road(1005), "alice")))
    runs_url = f"/api/scenarios/{scenario_id}/runs"
    first = client.post(runs_url, json={"engine": "static", "seeds": [1]}, headers=alice).json()
    assert first["status"] == "queued"
    first = wait_for_run(client, first["run_id"], alice)
    again = client.post(runs_url, json={"engine": "static", "seeds": [1]}, headers=alice)
    assert again.status_code == 202
    repeat = again.json()
    assert repeat["status"] == "done" and repeat["progress"] == 1.0
    assert repeat["kpis"] == first["kpis"] and repeat["outputs"] == first["outputs"]
    assert f"run {first['run_id']}, which had the same inputs" in repeat["message"]
    # other settings or other edits are other inputs: they run
    other_seed = client.post(runs_url, json={"engine": "dynamic", "seeds": [2]}, headers=alice).json()
    assert other_seed["status"] == "queued"
    change_over_socket(
        client, scenario_id, token, set_edit("more", edit_entry(close_road(1006), "alice", 2.0))
    )
    changed = client.post(runs_url, json={"engine": "static", "seeds": [1]}, headers=alice).json()
    assert changed["status"] == "queued"
    assert wait_for_run(client, changed["run_id"], alice)["kpis"] != first["kpis"]
    # a dynamic run is repeated only once its vehicle animation has joined it, so the copy has it too
    dynamic = wait_for_run(client, other_seed["run_id"], alice)
    deadline = time.monotonic() + 120
    while "vehicles.mll" not in dynamic["outputs"]:
        assert time.monotonic() < deadline, "no vehicle animation"
        time.sleep(0.25)
        dynamic = client.get(f"/api/runs/{other_seed['run_id']}", headers=alice).json()
    change_over_socket(client, scenario_id, token, lambda doc: doc.get("edits", type=Map).pop("more"))
    repeat = client.post(runs_url, json={"engine": "dynamic", "seeds": [2]}, headers=alice).json()
    assert repeat["status"] == "done" and "vehicles.mll" in repeat["outputs"]
    assert repeat["outputs"] == dynamic["outputs"]

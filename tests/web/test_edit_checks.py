"""``POST /api/scenarios/{id}/check`` on a real server process: the run's own checks, per edit, as the
editor makes them; edits numbered and named by their street or junction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from web.conftest import ProcessServer, new_scenario, sign_up_in


@pytest.fixture(scope="module")
def server(twin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    process = ProcessServer(twin_dir, tmp_path_factory.mktemp("checks")).start()
    yield process
    process.stop()


def test_each_edit_gets_a_verdict_naming_its_street(server: ProcessServer) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        alice = sign_up_in(client, "alice")
        scenario_id = new_scenario(client, alice)["scenario_id"]
        edits = [
            {"kind": "close_road", "osm_way_ids": [1005]},
            {"kind": "bus_lane", "osm_way_ids": [1000], "id": "b057c3e2-uuid-never-shown"},
            {"kind": "change_lanes", "osm_way_ids": [1002], "lanes": 1},
            {"kind": "change_lanes", "osm_way_ids": [1002], "lanes": 2},
            {"kind": "ai_signal_control", "osm_node_ids": [504]},
            {"kind": "change_lanes", "osm_way_ids": [1003], "lanes": 99},
        ]
        url = f"/api/scenarios/{scenario_id}/check"
        answer = client.post(url, json={"edits": edits, "engine": "static"}, headers=alice)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["ok"] is False and body["engine"] == "static"
        verdicts = {entry["edit"]: entry for entry in body["edits"]}
        assert [verdicts[n]["status"] for n in range(1, 7)] == [
            "ok",
            "refused",
            "ok",
            "refused",
            "refused",
            "refused",
        ]
        assert verdicts[1]["title"] == "edit 1 (closure of Street 1005)"
        assert verdicts[2]["title"] == "edit 2 (bus lane on Street 1000)"
        assert verdicts[2]["message"].startswith("Street 1000 (OSM way 1000) has 1 lane in a direction")
        assert "b057" not in str(body), "edits are numbered, never named by their uuid"
        assert verdicts[4]["message"].startswith(
            "conflicts with edit 3 (1 lane on Street 1002): both set the lane count"
        )
        assert verdicts[5]["title"].startswith("edit 5 (AI signal control of Street")
        assert verdicts[5]["message"].startswith("the static engine has no signals")
        assert verdicts[6]["field"] == "lanes" and "less than or equal to 8" in verdicts[6]["message"]

        # the dynamic engine represents the loop; the conflict and the bus lane stay refused
        dynamic = client.post(url, json={"edits": edits[:5], "engine": "dynamic"}, headers=alice).json()
        assert [e["status"] for e in dynamic["edits"]] == ["ok", "refused", "ok", "refused", "ok"]

        # no edits given: the scenario's own (none yet); a stranger cannot check a private scenario
        assert client.post(url, json={}, headers=alice).json() == {
            "ok": True,
            "engine": "dynamic",
            "edits": [],
        }
        mallory = sign_up_in(client, "mallory")
        assert client.post(url, json={"edits": edits}, headers=mallory).status_code == 404

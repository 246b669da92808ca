"""Restoring a version: the live document takes the version's edits as one new change that open sockets
receive, the edits just before are kept as a version, and only editors may do it (403 viewer, 404 others)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from pycrdt import Doc, Map, YMessageType, YSyncMessageType, read_message
from pycrdt._sync import create_sync_step1_message
from sqlalchemy import func, select

from metaliverpool.service.documents import new_doc, read_edits
from metaliverpool.store.db import Database, DocUpdate
from web.conftest import new_scenario, sign_up_in
from web.protocol import change_over_socket, close_road, edit_entry, set_edit, token_of

LANES = {"kind": "change_lanes", "osm_way_ids": [1002], "lanes": 2}
SLOW = {"kind": "speed_limit", "speed_limit_mph": 20, "osm_way_ids": [1003]}


def edits_of(client: TestClient, scenario_id: int, headers: dict[str, str]) -> dict[str, dict]:
    return client.get(f"/api/scenarios/{scenario_id}/edits", headers=headers).json()["entries"]


def stored_rows(client: TestClient) -> int:
    db: Database = client.app.state.context.db  # type: ignore[attr-defined]
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(DocUpdate)) or 0)


def two_versions(client: TestClient, alice: dict[str, str]) -> tuple[int, int]:
    """A scenario whose v1 has `close` and `lanes` (2); live now: `lanes` (3) and `slow`, no `close`."""
    scenario_id = new_scenario(client, alice)["scenario_id"]
    token = token_of(alice)
    change_over_socket(client, scenario_id, token, set_edit("close", edit_entry(close_road(1001), "alice")))
    change_over_socket(client, scenario_id, token, set_edit("lanes", edit_entry(LANES, "alice", 2.0)))
    v1 = client.post(f"/api/scenarios/{scenario_id}/versions", json={"name": "first"}, headers=alice).json()

    def drop_close(doc: Doc) -> None:
        del doc.get("edits", type=Map)["close"]

    change_over_socket(client, scenario_id, token, drop_close)
    change_over_socket(
        client, scenario_id, token, set_edit("lanes", edit_entry({**LANES, "lanes": 3}, "alice", 2.0))
    )
    change_over_socket(client, scenario_id, token, set_edit("slow", edit_entry(SLOW, "alice", 3.0)))
    return scenario_id, int(v1["version_id"])


def test_an_editor_restores_a_version_and_an_open_socket_receives_it(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    bob = sign_up_in(client, "bob")
    scenario_id, v1 = two_versions(client, alice)
    client.put(f"/api/scenarios/{scenario_id}/members/bob", json={"role": "editor"}, headers=alice)
    v1_edits = client.get(f"/api/versions/{v1}", headers=alice).json()["edits"]
    live_before = edits_of(client, scenario_id, alice)
    assert live_before != v1_edits

    doc = new_doc()
    with client.websocket_connect(f"/api/scenarios/{scenario_id}/live?token={token_of(alice)}") as socket:
        socket.send_bytes(create_sync_step1_message(doc.get_state()))
        while True:  # alice's copy, synced
            message = socket.receive_bytes()
            if message[0] == YMessageType.SYNC and message[1] != YSyncMessageType.SYNC_STEP1:
                doc.apply_update(read_message(message[2:]))
                if message[1] == YSyncMessageType.SYNC_STEP2:
                    break
        assert read_edits(doc) == live_before

        response = client.post(f"/api/versions/{v1}/restore", headers=bob)  # bob is an editor
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["added"], body["removed"], body["changed"]) == (1, 1, 1)
        assert body["restored"]["version_id"] == v1 and body["scenario_id"] == scenario_id
        assert body["before"]["name"] == "before restoring v1" and body["before"]["author"] == "bob"

        deadline = time.monotonic() + 20  # the heartbeat (every 5-15 s) keeps this loop going
        while read_edits(doc) != v1_edits and time.monotonic() < deadline:
            message = socket.receive_bytes()
            if message[0] == YMessageType.SYNC and message[1] == YSyncMessageType.SYNC_UPDATE:
                doc.apply_update(read_message(message[2:]))
        assert read_edits(doc) == v1_edits  # alice's open socket received the restore
    assert edits_of(client, scenario_id, alice) == v1_edits  # and it is stored
    assert read_edits(doc)["close"]["author"] == "alice"  # restored edits keep their authors

    # the restore can itself be restored away: the version saved just before it brings the edits back
    before = client.post(f"/api/versions/{body['before']['version_id']}/restore", headers=alice)
    assert before.status_code == 200
    assert edits_of(client, scenario_id, alice) == live_before
    # restoring what the document already holds changes nothing and saves no version
    again = client.post(f"/api/versions/{body['before']['version_id']}/restore", headers=alice).json()
    assert (again["added"], again["removed"], again["changed"], again["before"]) == (0, 0, 0, None)
    names = [v["name"] for v in client.get(f"/api/scenarios/{scenario_id}/versions", headers=alice).json()]
    assert names == ["before restoring v2", "before restoring v1", "first"]


def test_viewers_and_strangers_cannot_restore_and_nothing_is_stored(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    carol = sign_up_in(client, "carol")
    dave = sign_up_in(client, "dave")
    scenario_id, v1 = two_versions(client, alice)
    client.put(f"/api/scenarios/{scenario_id}/members/carol", json={"role": "viewer"}, headers=alice)
    live = edits_of(client, scenario_id, alice)
    rows = stored_rows(client)

    viewer = client.post(f"/api/versions/{v1}/restore", headers=carol)
    assert viewer.status_code == 403
    assert "viewer" in viewer.json()["detail"]
    stranger = client.post(f"/api/versions/{v1}/restore", headers=dave)  # a private scenario of alice's
    assert stranger.status_code == 404
    assert stranger.json() == {"detail": f"scenario {scenario_id} not found"}  # as if it did not exist
    missing = client.post(f"/api/versions/{v1 + 99}/restore", headers=alice)
    assert missing.status_code == 404 and missing.json() == {"detail": f"version {v1 + 99} not found"}
    assert client.post(f"/api/versions/{v1}/restore").status_code == 401
    assert client.post("/api/versions/0/restore", headers=alice).status_code == 422

    assert edits_of(client, scenario_id, alice) == live
    assert stored_rows(client) == rows
    versions = client.get(f"/api/scenarios/{scenario_id}/versions", headers=alice).json()
    assert [v["name"] for v in versions] == ["first"]

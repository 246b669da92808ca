"""REST API: every endpoint, its permission denials and its refusals of bad input (nothing stored)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pycrdt import Doc, Map
from sqlalchemy import func, select

from metaliverpool.service.layers import decode_columns
from metaliverpool.service.passwords import make_hasher
from metaliverpool.store.db import Database, DocUpdate, Scenario, User, Version
from web.conftest import new_scenario, sign_up_in
from web.protocol import change_over_socket, close_road, edit_entry, set_edit, token_of
from web.twin_fixture import FORECAST_MODEL, OSM_WAY_BASE


def count(client: TestClient, model: type, **where: object) -> int:
    db: Database = client.app.state.context.db  # type: ignore[attr-defined]
    with db.session() as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(session.scalar(query) or 0)


# --- accounts -------------------------------------------------------------------------------------


def test_health_and_openapi_list_every_route(client: TestClient) -> None:
    assert client.get("/api/health").json() == {"ok": True}
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/auth/signup",
        "/api/twins/{twin_id}/layers/{layer}",
        "/api/scenarios/{scenario_id}/versions",
        "/api/versions/{version_id}/fork",
        "/api/versions/{version_id}/restore",
        "/api/versions/diff",
        "/api/scenarios/{scenario_id}/comments",
        "/api/scenarios/{scenario_id}/runs",
        "/api/runs/{run_id}/report",
        "/api/twins/{twin_id}/forecasts/{name}/snapshot",
    ):
        assert path in paths


def test_sign_up_stores_an_argon2_hash_not_the_password(client: TestClient) -> None:
    response = client.post("/api/auth/signup", json={"name": "alice", "password": "correct-horse"})
    assert response.status_code == 201
    assert response.json()["name"] == "alice"
    db: Database = client.app.state.context.db  # type: ignore[attr-defined]
    with db.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.name == "alice"))
    assert stored is not None and stored.startswith("$argon2id$") and "correct-horse" not in stored
    assert PasswordHasher().verify(stored, "correct-horse")
    assert make_hasher().memory_cost == 65536 and make_hasher().time_cost == 3  # the deployed profile


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "a", "password": "correct-horse"}, 422, "name"),
        ({"name": "bad name!", "password": "correct-horse"}, 422, "name"),
        ({"name": "bob", "password": "short"}, 422, "password"),
        ({"name": "bob"}, 422, "password"),
        ({"name": "bob", "password": "correct-horse", "admin": True}, 422, "admin"),
    ],
)
def test_sign_up_refuses_bad_input_and_stores_nothing(
    client: TestClient, body: dict, status: int, field: str
) -> None:
    response = client.post("/api/auth/signup", json=body)
    assert response.status_code == status
    assert field in json.dumps(response.json()["detail"])
    assert count(client, User) == 0


def test_sign_up_refuses_a_taken_name_case_insensitively(client: TestClient) -> None:
    sign_up_in(client, "alice")
    response = client.post("/api/auth/signup", json={"name": "ALICE", "password": "another-pass"})
    assert response.status_code == 409
    assert "taken" in response.json()["detail"]
    assert count(client, User) == 1


def test_sign_in_sign_out_and_tokens(client: TestClient) -> None:
    headers = sign_up_in(client, "alice")
    assert client.get("/api/users/me", headers=headers).json()["name"] == "alice"
    wrong = client.post("/api/auth/signin", json={"name": "alice", "password": "wrong-password"})
    assert wrong.status_code == 401
    unknown = client.post("/api/auth/signin", json={"name": "nobody", "password": "wrong-password"})
    assert unknown.status_code == 401
    assert client.get("/api/users/me").status_code == 401
    assert client.get("/api/users/me", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert client.post("/api/auth/signout", headers=headers).status_code == 204
    assert client.get("/api/users/me", headers=headers).status_code == 401


def test_sign_in_sets_an_http_only_cookie_that_authenticates(client: TestClient) -> None:
    client.post("/api/auth/signup", json={"name": "alice", "password": "correct-horse"})
    response = client.post("/api/auth/signin", json={"name": "alice", "password": "correct-horse"})
    cookie = response.headers["set-cookie"]
    assert "ml_token=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/api/users/me").json()["name"] == "alice"


def test_user_search_by_prefix(client: TestClient) -> None:
    headers = sign_up_in(client, "alice")
    sign_up_in(client, "albert")
    sign_up_in(client, "bob")
    names = [user["name"] for user in client.get("/api/users?prefix=al", headers=headers).json()]
    assert names == ["albert", "alice"]
    assert client.get("/api/users?prefix=%25", headers=headers).json() == []
    assert client.get("/api/users").status_code == 401


# --- twins and layers -----------------------------------------------------------------------------


def test_twins_and_summary(client: TestClient) -> None:
    headers = sign_up_in(client, "alice")
    twins = client.get("/api/twins", headers=headers).json()
    assert [twin["twin_id"] for twin in twins] == ["test-grid"]
    summary = client.get("/api/twins/test-grid", headers=headers).json()
    assert summary["counts"]["links"] == 24
    assert summary["bounds"] == pytest.approx([-2.995, 53.405, -2.991, 53.409])
    assert summary["calibration"] == "Not calibrated: demand is the prior (docs/validation.md)"
    assert client.get("/api/twins/nowhere", headers=headers).status_code == 404
    assert client.get("/api/twins").status_code == 401


def test_links_layer_is_binary_columns_matching_the_twin(client: TestClient) -> None:
    headers = sign_up_in(client, "alice")
    response = client.get("/api/twins/test-grid/layers/links", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    header, columns = decode_columns(response.content)
    assert header["count"] == 24
    assert list(columns["path_start"]) == list(range(0, 50, 2))
    positions = columns["positions"].reshape(-1, 2)
    assert positions[0] == pytest.approx([-2.995, 53.405], abs=1e-6)
    assert positions[1] == pytest.approx([-2.993, 53.405], abs=1e-6)
    assert set(columns["osm_way_id"]) == set(np.arange(OSM_WAY_BASE, OSM_WAY_BASE + 12, dtype=float))
    assert header["categories"]["highway"] == ["primary", "residential"]
    again = client.get(
        "/api/twins/test-grid/layers/links", headers={**headers, "If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


def test_zones_layer_splits_multipolygons(client: TestClient) -> None:
    headers = sign_up_in(client, "alice")
    header, columns = decode_columns(client.get("/api/twins/test-grid/layers/zones", headers=headers).content)
    assert header["count"] == 3  # one polygon + a multipolygon of two parts
    assert list(columns["zone_id"]) == [0, 1, 1]
    assert list(columns["imd_decile"]) == [1, 7, 7]
    assert list(columns["polygon_start"]) == [0, 1, 2, 3]


def test_unknown_layer_is_404_and_layers_need_sign_in(client: TestClient) -> None:
    headers = sign_up_in(client, "alice")
    assert client.get("/api/twins/test-grid/layers/buildings", headers=headers).status_code == 404
    assert client.get("/api/twins/test-grid/layers/links").status_code == 401
    for layer in ("services", "junctions", "bus_stops"):
        assert client.get(f"/api/twins/test-grid/layers/{layer}", headers=headers).status_code == 200


# --- scenarios and permissions --------------------------------------------------------------------


def test_create_and_list_scenarios(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    created = new_scenario(client, alice, description="A test")
    assert created["role"] == "owner" and created["owner"] == "alice" and created["visibility"] == "private"
    assert [s["name"] for s in client.get("/api/scenarios", headers=alice).json()] == ["Close Castle Street"]
    assert (
        client.get(f"/api/scenarios/{created['scenario_id']}", headers=alice).json()["description"]
        == "A test"
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"twin_id": "test-grid", "name": "  "}, 422),
        ({"twin_id": "test-grid", "name": "x" * 201}, 422),
        ({"twin_id": "test-grid", "name": "ok", "visibility": "public"}, 422),
        ({"twin_id": "test-grid", "name": "ok", "colour": "red"}, 422),
        ({"twin_id": "elsewhere", "name": "ok"}, 404),
        ({"name": "ok"}, 422),
    ],
)
def test_create_scenario_refuses_bad_input_and_stores_nothing(
    client: TestClient, body: dict, status: int
) -> None:
    alice = sign_up_in(client, "alice")
    response = client.post("/api/scenarios", json=body, headers=alice)
    assert response.status_code == status
    assert response.json()["detail"]
    assert count(client, Scenario) == 0


def test_private_scenario_does_not_exist_for_strangers(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    mallory = sign_up_in(client, "mallory")
    scenario_id = new_scenario(client, alice)["scenario_id"]
    assert client.get("/api/scenarios", headers=mallory).json() == []
    for method, path in (
        ("get", f"/api/scenarios/{scenario_id}"),
        ("get", f"/api/scenarios/{scenario_id}/edits"),
        ("get", f"/api/scenarios/{scenario_id}/document"),
        ("get", f"/api/scenarios/{scenario_id}/versions"),
        ("get", f"/api/scenarios/{scenario_id}/comments"),
        ("get", f"/api/scenarios/{scenario_id}/runs"),
    ):
        assert getattr(client, method)(path, headers=mallory).status_code == 404, path
    assert (
        client.patch(f"/api/scenarios/{scenario_id}", json={"name": "x"}, headers=mallory).status_code == 404
    )
    assert client.delete(f"/api/scenarios/{scenario_id}", headers=mallory).status_code == 404
    assert client.get(f"/api/scenarios/{scenario_id}").status_code == 401


def test_shared_scenario_is_readable_but_not_writable_by_others(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    bob = sign_up_in(client, "bob")
    scenario_id = new_scenario(client, alice, visibility="shared")["scenario_id"]
    seen = client.get(f"/api/scenarios/{scenario_id}", headers=bob).json()
    assert seen["role"] == "viewer"
    assert client.patch(f"/api/scenarios/{scenario_id}", json={"name": "x"}, headers=bob).status_code == 403
    response = client.post(f"/api/scenarios/{scenario_id}/versions", json={"name": "v"}, headers=bob)
    assert response.status_code == 403 and "viewer" in response.json()["detail"]
    assert (
        client.post(f"/api/scenarios/{scenario_id}/comments", json={"text": "hi"}, headers=bob).status_code
        == 403
    )


def test_members_and_roles(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    bob = sign_up_in(client, "bob")
    carol = sign_up_in(client, "carol")
    scenario_id = new_scenario(client, alice)["scenario_id"]
    response = client.put(f"/api/scenarios/{scenario_id}/members/bob", json={"role": "editor"}, headers=alice)
    assert response.status_code == 200
    assert {m["name"]: m["role"] for m in response.json()["members"]} == {"alice": "owner", "bob": "editor"}
    # an editor may rename, but not change visibility, members or delete
    assert (
        client.patch(f"/api/scenarios/{scenario_id}", json={"name": "Renamed"}, headers=bob).status_code
        == 200
    )
    assert (
        client.patch(f"/api/scenarios/{scenario_id}", json={"visibility": "shared"}, headers=bob).status_code
        == 403
    )
    assert (
        client.put(
            f"/api/scenarios/{scenario_id}/members/carol", json={"role": "viewer"}, headers=bob
        ).status_code
        == 403
    )
    assert client.delete(f"/api/scenarios/{scenario_id}", headers=bob).status_code == 403
    # bad input from the owner
    assert (
        client.put(
            f"/api/scenarios/{scenario_id}/members/carol", json={"role": "owner"}, headers=alice
        ).status_code
        == 422
    )
    assert (
        client.put(
            f"/api/scenarios/{scenario_id}/members/zed", json={"role": "viewer"}, headers=alice
        ).status_code
        == 404
    )
    assert (
        client.put(
            f"/api/scenarios/{scenario_id}/members/alice", json={"role": "viewer"}, headers=alice
        ).status_code
        == 403
    )
    client.put(f"/api/scenarios/{scenario_id}/members/carol", json={"role": "viewer"}, headers=alice)
    assert client.get(f"/api/scenarios/{scenario_id}", headers=carol).json()["role"] == "viewer"
    assert client.delete(f"/api/scenarios/{scenario_id}/members/carol", headers=alice).status_code == 204
    assert client.get(f"/api/scenarios/{scenario_id}", headers=carol).status_code == 404
    assert (
        client.patch(
            f"/api/scenarios/{scenario_id}", json={"visibility": "shared"}, headers=alice
        ).status_code
        == 200
    )
    assert client.get(f"/api/scenarios/{scenario_id}", headers=carol).json()["role"] == "viewer"
    assert client.patch(f"/api/scenarios/{scenario_id}", json={"name": ""}, headers=alice).status_code == 422
    assert client.delete(f"/api/scenarios/{scenario_id}", headers=alice).status_code == 204
    assert client.get(f"/api/scenarios/{scenario_id}", headers=alice).status_code == 404


# --- edits through the live socket, read back through REST ---------------------------------------


def test_edit_over_socket_reaches_edits_and_document(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    scenario_id = new_scenario(client, alice)["scenario_id"]
    _doc, notices = change_over_socket(
        client,
        scenario_id,
        token_of(alice),
        set_edit("e1", edit_entry(close_road(OSM_WAY_BASE + 3), "alice")),
    )
    assert notices == []
    edits = client.get(f"/api/scenarios/{scenario_id}/edits", headers=alice).json()
    assert edits["edits"] == [{"kind": "close_road", "osm_way_ids": [OSM_WAY_BASE + 3], "id": "e1"}]
    assert edits["entries"]["e1"]["author"] == "alice"
    document = client.get(f"/api/scenarios/{scenario_id}/document", headers=alice).json()
    assert document["schema_version"] == 2 and document["edits"][0]["kind"] == "close_road"


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (edit_entry({"kind": "close_road", "osm_way_ids": []}, "alice"), "osm_way_ids"),
        (edit_entry({"kind": "change_lanes", "osm_way_ids": [1001], "lanes": 0}, "alice"), "lanes"),
        (edit_entry({"kind": "teleport"}, "alice"), "kind"),
        (edit_entry(close_road(1001), "bob"), "author"),
        ({"edit": close_road(1001)}, "expected"),
    ],
)
def test_invalid_edit_is_refused_to_its_author_and_not_stored(
    client: TestClient, entry: dict, reason: str
) -> None:
    alice = sign_up_in(client, "alice")
    scenario_id = new_scenario(client, alice)["scenario_id"]
    before = count(client, DocUpdate, scenario_id=scenario_id)
    doc, notices = change_over_socket(client, scenario_id, token_of(alice), set_edit("bad", entry))
    assert notices and notices[0]["type"] == "refused" and reason in notices[0]["messages"][0]
    assert doc.get("edits", type=Map).to_py() == {}  # the author's copy was rolled back
    assert client.get(f"/api/scenarios/{scenario_id}/edits", headers=alice).json()["edits"] == []
    db: Database = client.app.state.context.db  # type: ignore[attr-defined]
    with db.session() as session:
        stored = session.scalars(select(DocUpdate.update).where(DocUpdate.scenario_id == scenario_id)).all()
    assert len(stored) <= before + 1
    assert all(b"kind" not in update for update in stored)  # the refused content was never stored


def test_viewer_socket_edit_is_refused(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    bob = sign_up_in(client, "bob")
    scenario_id = new_scenario(client, alice, visibility="shared")["scenario_id"]
    db: Database = client.app.state.context.db  # type: ignore[attr-defined]
    with db.session() as session:
        before = session.scalars(select(DocUpdate.update).where(DocUpdate.scenario_id == scenario_id)).all()
    _doc, notices = change_over_socket(
        client, scenario_id, token_of(bob), set_edit("e1", edit_entry(close_road(1001), "bob"))
    )
    assert notices[0]["type"] == "refused" and "viewer" in notices[0]["messages"][0]
    assert client.get(f"/api/scenarios/{scenario_id}/edits", headers=alice).json()["edits"] == []
    with db.session() as session:
        stored = session.scalars(select(DocUpdate.update).where(DocUpdate.scenario_id == scenario_id)).all()
    assert stored == before  # refused before it was applied: nothing stored, not even tombstones


def test_stranger_socket_is_closed_without_the_document(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    mallory = sign_up_in(client, "mallory")
    scenario_id = new_scenario(client, alice)["scenario_id"]
    for token, code in ((token_of(mallory), 4404), ("forged", 4401)):
        with client.websocket_connect(f"/api/scenarios/{scenario_id}/live?token={token}") as socket:
            message = socket.receive()
            assert message["type"] == "websocket.close" and message["code"] == code


def test_cross_origin_socket_is_refused(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    scenario_id = new_scenario(client, alice)["scenario_id"]
    url = f"/api/scenarios/{scenario_id}/live?token={token_of(alice)}"
    with client.websocket_connect(url, headers={"Origin": "http://evil.example"}) as socket:
        message = socket.receive()
        assert message["type"] == "websocket.close" and message["code"] == 4403


# --- versions -------------------------------------------------------------------------------------


def test_versions_history_fork_and_diff(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    bob = sign_up_in(client, "bob")
    scenario_id = new_scenario(client, alice)["scenario_id"]
    token = token_of(alice)
    change_over_socket(client, scenario_id, token, set_edit("close", edit_entry(close_road(1001), "alice")))
    lanes = {"kind": "change_lanes", "osm_way_ids": [1002], "lanes": 2}
    change_over_socket(client, scenario_id, token, set_edit("lanes", edit_entry(lanes, "alice", 2.0)))
    first = client.post(f"/api/scenarios/{scenario_id}/versions", json={"name": "first"}, headers=alice)
    assert first.status_code == 201 and first.json()["number"] == 1 and first.json()["edit_count"] == 2

    def drop_close(doc: Doc) -> None:
        del doc.get("edits", type=Map)["close"]

    change_over_socket(client, scenario_id, token, drop_close)
    change_over_socket(
        client, scenario_id, token, set_edit("lanes", edit_entry({**lanes, "lanes": 3}, "alice", 2.0))
    )
    limit = {"kind": "speed_limit", "speed_limit_mph": 20, "osm_way_ids": [1003]}
    change_over_socket(client, scenario_id, token, set_edit("slow", edit_entry(limit, "alice", 3.0)))
    second = client.post(
        f"/api/scenarios/{scenario_id}/versions", json={"name": "second"}, headers=alice
    ).json()

    history = client.get(f"/api/scenarios/{scenario_id}/versions", headers=alice).json()
    assert [(v["number"], v["name"], v["author"]) for v in history] == [
        (2, "second", "alice"),
        (1, "first", "alice"),
    ]
    assert history[0]["created_at_s"] >= history[1]["created_at_s"]

    diff = client.get(
        f"/api/versions/diff?a={first.json()['version_id']}&b={second['version_id']}", headers=alice
    )
    body = diff.json()
    assert [item["id"] for item in body["added"]] == ["slow"]
    assert [item["id"] for item in body["removed"]] == ["close"]
    assert [(c["id"], c["before"]["lanes"], c["after"]["lanes"]) for c in body["changed"]] == [
        ("lanes", 2, 3)
    ]
    assert body["kpi_difference"] is None  # no runs yet

    detail = client.get(f"/api/versions/{first.json()['version_id']}", headers=alice).json()
    assert set(detail["edits"]) == {"close", "lanes"}

    # bob cannot see alice's private versions, fork them or diff them
    version_id = first.json()["version_id"]
    assert client.get(f"/api/versions/{version_id}", headers=bob).status_code == 404
    assert (
        client.post(f"/api/versions/{version_id}/fork", json={"name": "mine"}, headers=bob).status_code == 404
    )
    assert client.get(f"/api/versions/diff?a={version_id}&b={version_id}", headers=bob).status_code == 404
    assert client.get("/api/versions/diff?a=1", headers=alice).status_code == 422
    assert (
        client.post(f"/api/scenarios/{scenario_id}/versions", json={"name": ""}, headers=alice).status_code
        == 422
    )
    assert count(client, Version) == 2

    fork = client.post(f"/api/versions/{version_id}/fork", json={"name": "Fork of first"}, headers=alice)
    assert fork.status_code == 201
    forked = fork.json()
    assert forked["forked_from_version_id"] == version_id and forked["role"] == "owner"
    forked_edits = client.get(f"/api/scenarios/{forked['scenario_id']}/edits", headers=alice).json()
    assert {edit["id"] for edit in forked_edits["edits"]} == {"close", "lanes"}
    assert client.get(f"/api/versions/{version_id + 99}", headers=alice).status_code == 404


# --- comments -------------------------------------------------------------------------------------


def test_comments_add_reply_resolve_delete(client: TestClient) -> None:
    alice = sign_up_in(client, "alice")
    bob = sign_up_in(client, "bob")
    scenario_id = new_scenario(client, alice)["scenario_id"]
    client.put(f"/api/scenarios/{scenario_id}/members/bob", json={"role": "editor"}, headers=alice)
    url = f"/api/scenarios/{scenario_id}/comments"
    pinned = client.post(url, json={"text": "Buses queue here", "lon": -2.993, "lat": 53.406}, headers=alice)
    assert pinned.status_code == 201
    comment_id = pinned.json()["comment_id"]
    reply = client.post(url, json={"text": "Agreed", "parent": comment_id}, headers=bob)
    assert reply.status_code == 201
    listed = client.get(url, headers=alice).json()
    assert [(c["author"], c["text"], c["parent"]) for c in listed] == [
        ("alice", "Buses queue here", None),
        ("bob", "Agreed", comment_id),
    ]
    assert listed[0]["lon"] == pytest.approx(-2.993)
    resolved = client.patch(f"{url}/{comment_id}", json={"resolved": True}, headers=bob)
    assert resolved.status_code == 200 and resolved.json()["resolved"] is True
    assert client.delete(f"{url}/{comment_id}", headers=bob).status_code == 403
    assert client.delete(f"{url}/{reply.json()['comment_id']}", headers=bob).status_code == 204
    assert client.delete(f"{url}/{comment_id}", headers=alice).status_code == 204
    assert client.get(url, headers=alice).json() == []
    assert client.delete(f"{url}/{comment_id}", headers=alice).status_code == 404
    assert client.patch(f"{url}/nothing", json={"resolved": True}, headers=alice).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "x" * 4001},
        {"text": "pinned", "lon": -2.99},
        {"text": "pinned", "lon": 200.0, "lat": 53.4},
        {"text": "reply", "parent": "missing"},
        {"text": "hi", "author": "someone-else"},
    ],
)
def test_bad_comments_are_refused_and_not_stored(client: TestClient, body: dict) -> None:
    alice = sign_up_in(client, "alice")
    scenario_id = new_scenario(client, alice)["scenario_id"]
    response = client.post(f"/api/scenarios/{scenario_id}/comments", json=body, headers=alice)
    assert response.status_code == 422
    assert response.json()["detail"]
    assert client.get(f"/api/scenarios/{scenario_id}/comments", headers=alice).json() == []
    assert count(client, DocUpdate, scenario_id=scenario_id) == 0


# --- congestion forecasts -----------------------------------------------------------------------------


def test_forecast_models_and_snapshot(client: TestClient, forecast_model: Path) -> None:
    from metaliverpool.predict.model_io import load_model

    headers = sign_up_in(client, "alice")
    assert client.get("/api/twins/test-grid/forecasts").status_code == 401
    (summary,) = client.get("/api/twins/test-grid/forecasts", headers=headers).json()
    assert summary["usable"] and summary["name"] == FORECAST_MODEL and summary["model"] == "lgbm"
    assert summary["horizons_min"] == [5.0, 10.0] and summary["sensors"] == 8
    assert set(summary["choice"]) == {"5min", "10min"}
    assert set(summary["choice"].values()) <= {"lgbm", "persistence", "ha"}
    origins = summary["origins"]
    assert len(origins["row"]) == len(origins["clock_s"]) > 0
    # the grid twin's day window opens at 07:00; the first origin has three minutes of lookback behind it
    assert origins["clock_s"][0] == 7 * 3600 + 2 * 60
    row = origins["row"][3]
    answer = client.get(
        f"/api/twins/test-grid/forecasts/{FORECAST_MODEL}/snapshot",
        params={"row": row, "horizon_min": 10},
        headers=headers,
    ).json()
    saved = load_model(forecast_model)
    assert answer["link_id"] == [int(s) for s in saved.metadata["sensor_ids"]]
    assert answer["target_clock_s"] - answer["clock_s"] == 600
    feed = saved.feed
    assert feed is not None
    np.testing.assert_allclose(answer["observed_now"], feed.values[row], atol=1e-3)
    np.testing.assert_allclose(answer["observed_target"], feed.values[row + 10], atol=1e-3)
    reference = np.asarray(saved.metadata["reference"])
    expected_level = np.clip(1 - np.asarray(answer["forecast"]) / reference, 0, 1)
    np.testing.assert_allclose(answer["level_forecast"], expected_level, atol=2e-3)
    assert sum(answer["band_counts"].values()) == 8
    error = np.abs(np.asarray(answer["forecast"]) - feed.values[row + 10]).mean()
    assert answer["mae_vs_observed"] == pytest.approx(error, abs=2e-3)


def test_forecast_refusals(client: TestClient, forecast_model: Path, tmp_path: Path) -> None:
    headers = sign_up_in(client, "alice")
    url = f"/api/twins/test-grid/forecasts/{FORECAST_MODEL}/snapshot"
    row = client.get("/api/twins/test-grid/forecasts", headers=headers).json()[0]["origins"]["row"][0]
    bad_horizon = client.get(url, params={"row": row, "horizon_min": 30}, headers=headers)
    assert bad_horizon.status_code == 422 and "horizons" in bad_horizon.json()["detail"]
    assert client.get(url, params={"row": 0}, headers=headers).status_code == 422
    missing = client.get(
        "/api/twins/test-grid/forecasts/nothing/snapshot", params={"row": row}, headers=headers
    )
    assert missing.status_code == 404
    # a model whose sensors are not links of this twin is listed as unusable, and refused with the reason
    foreign = forecast_model.parent / "foreign"
    shutil.copytree(forecast_model, foreign)
    try:
        metadata = json.loads((foreign / "metadata.json").read_text())
        metadata["sensor_ids"] = ["9999", *metadata["sensor_ids"][1:]]
        (foreign / "metadata.json").write_text(json.dumps(metadata))
        feed = np.load(foreign / "feed.npz")
        arrays = {name: feed[name] for name in feed.files}
        arrays["sensor_ids"] = np.asarray(metadata["sensor_ids"])
        np.savez(foreign / "feed.npz", **arrays)
        listed = {m["name"]: m for m in client.get("/api/twins/test-grid/forecasts", headers=headers).json()}
        assert not listed["foreign"]["usable"] and "9999" in listed["foreign"]["reason"]
        refused = client.get(
            "/api/twins/test-grid/forecasts/foreign/snapshot", params={"row": row}, headers=headers
        )
        assert refused.status_code == 409 and "retrain" in refused.json()["detail"]
    finally:
        shutil.rmtree(foreign)


def test_a_retrained_model_is_served_without_a_restart(client: TestClient, forecast_model: Path) -> None:
    from metaliverpool.predict.baselines import PersistenceForecaster
    from metaliverpool.predict.model_io import load_model, save_model

    headers = sign_up_in(client, "alice")
    swap = forecast_model.parent / "swap"
    shutil.copytree(forecast_model, swap)
    try:
        listed = {m["name"]: m for m in client.get("/api/twins/test-grid/forecasts", headers=headers).json()}
        assert listed["swap"]["model"] == "lgbm"
        saved = load_model(swap)
        save_model(swap, PersistenceForecaster(), saved.metadata, saved.neighbour_weights, saved.feed)
        listed = {m["name"]: m for m in client.get("/api/twins/test-grid/forecasts", headers=headers).json()}
        assert listed["swap"]["model"] == "persistence"
        row = listed["swap"]["origins"]["row"][0]
        answer = client.get(
            "/api/twins/test-grid/forecasts/swap/snapshot",
            params={"row": row, "horizon_min": 5},
            headers=headers,
        ).json()
        assert answer["forecast"] == answer["observed_now"]  # persistence: the value now
    finally:
        shutil.rmtree(swap)

"""The live routes of the API: the newest state, the signal proposals and a person's decision (real
PostgreSQL for the live database; the SSE stream is exercised in a browser by ``test_browser_live``)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from live.signal_twins import crossroads_twin
from metaliverpool.api.app import create_app
from metaliverpool.service.live_baseline import baseline_case
from metaliverpool.service.signal_desk import DeskConfig, SignalDesk
from metaliverpool.store.live_state_store import LiveStateStore
from web.conftest import make_config, sign_up_in


def test_state_proposals_and_decisions(twin_dir: Path, tmp_path: Path, postgres_url: str) -> None:
    live_db = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    config = make_config(twin_dir, tmp_path, live_database_url=live_db, signal_operators=("alice",))
    store = LiveStateStore(live_db)
    store.ensure_schema()
    case = baseline_case(crossroads_twin())
    links = case.network.link_external_id.tolist()
    state = {"link_id": links, "level_pct": {str(h): [90] * len(links) for h in range(0, 61, 5)}}
    [proposal_id] = SignalDesk(crossroads_twin(), "test-grid", case, store, DeskConfig()).propose(state, 0.0)
    with TestClient(create_app(config)) as client:
        alice, bob = sign_up_in(client, "alice"), sign_up_in(client, "bob")
        base = "/api/twins/test-grid"
        assert client.get(f"{base}/live/state", headers=alice).status_code == 404  # no state yet
        store.save_state("test-grid", 1_000.0, {"refreshed_unix_s": 1_000.0, **state})
        got = client.get(f"{base}/live/state", headers=bob)
        assert got.status_code == 200 and got.json()["refreshed_unix_s"] == 1_000.0
        assert client.get(f"{base}/live/state").status_code == 401
        listed = client.get(f"{base}/signals/proposals", headers=bob).json()
        assert [p["proposal_id"] for p in listed] == [proposal_id]
        assert listed[0]["junction_name"] == "Castle Street / Dale Street"
        assert [row["event"] for row in listed[0]["audit"]] == ["proposed"]
        decision = f"{base}/signals/proposals/{proposal_id}/decision"
        assert client.post(decision, json={"decision": "approve"}, headers=bob).status_code == 403
        assert client.post(decision, json={"decision": "maybe"}, headers=alice).status_code == 422
        assert client.post(decision, json={"decision": "approve", "x": 1}, headers=alice).status_code == 422
        unknown = f"{base}/signals/proposals/{proposal_id + 1}/decision"
        assert client.post(unknown, json={"decision": "approve"}, headers=alice).status_code == 404
        assert client.get("/api/twins/nowhere/live/state", headers=alice).status_code == 404
        approved = client.post(decision, json={"decision": "approve", "note": "peak"}, headers=alice)
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "alice"
        assert (tmp_path / "signal_plans" / f"PLAN_MLJ000000_{proposal_id}.json").is_file()
        assert client.post(decision, json={"decision": "reject"}, headers=alice).status_code == 409
    store.close()


def test_without_a_live_database_the_routes_say_so(client: TestClient) -> None:
    headers = sign_up_in(client, "carol")
    answer = client.get("/api/twins/test-grid/live/state", headers=headers)
    assert answer.status_code == 404 and "--live-db" in answer.json()["detail"]
    assert client.get("/api/twins/test-grid/signals/proposals", headers=headers).status_code == 404

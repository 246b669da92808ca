"""PostgreSQL and Redis pub/sub against the real servers here (skipped, with the reason, if absent).

Two server apps sharing one PostgreSQL database and fanning out through Redis behave as one: an edit made
on one reaches a client of the other, and presence crosses too.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from pycrdt import Map

from metaliverpool.api.live_client import LiveClient
from metaliverpool.service.fanout import Envelope, RedisFanout
from web.conftest import ThreadServer, make_config, new_scenario, sign_up_in
from web.protocol import close_road, edit_entry, token_of


@pytest.mark.redis
def test_redis_fanout_delivers_in_order_to_every_subscriber(redis_url: str) -> None:
    async def scenario() -> tuple[list[bytes], list[bytes]]:
        prefix = f"test-{uuid.uuid4().hex}"
        one, two = RedisFanout(redis_url, prefix), RedisFanout(redis_url, prefix)
        got_one: list[bytes] = []
        got_two: list[bytes] = []

        async def on_one(envelope: Envelope) -> None:
            got_one.append(envelope.payload)

        async def on_two(envelope: Envelope) -> None:
            got_two.append(envelope.payload)

        await one.subscribe("room:1", on_one)
        subscription = await two.subscribe("room:1", on_two)
        await two.subscribe("room:2", on_two)
        for number in range(50):
            await one.publish("room:1", Envelope("update", "p1", "c1", bytes([number])))
        await one.publish("room:2", Envelope("update", "p1", "c1", b"other room"))
        for _ in range(100):
            if len(got_two) == 51 and len(got_one) == 50:
                break
            await asyncio.sleep(0.02)
        await subscription.close()
        await one.publish("room:1", Envelope("update", "p1", "c1", b"after close"))
        for _ in range(100):
            if len(got_one) == 51:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        await one.close()
        await two.close()
        return got_one, got_two

    got_one, got_two = asyncio.run(scenario())
    assert got_one == [*(bytes([n]) for n in range(50)), b"after close"]  # still subscribed
    assert got_two == [bytes([n]) for n in range(50)] + [b"other room"]


def test_envelope_round_trip() -> None:
    envelope = Envelope("awareness", "process-é", "connection", b"\x00\x01payload")
    assert Envelope.from_bytes(envelope.to_bytes()) == envelope


@pytest.mark.postgres
def test_postgres_keeps_everything_across_a_restart(
    twin_dir: Path, tmp_path: Path, postgres_url: str
) -> None:
    config = make_config(twin_dir, tmp_path, postgres_url)
    with ThreadServer(config) as server, httpx.Client(base_url=server.url) as client:
        alice = sign_up_in(client, "alice")
        scenario = new_scenario(client, alice, name="PG")
        scenario_id = scenario["scenario_id"]

        async def edit() -> None:
            live = await LiveClient(
                f"ws://127.0.0.1:{server.port}/api/scenarios/{scenario_id}/live", token_of(alice)
            ).connect()
            await live.transact(
                lambda doc: doc.get("edits", type=Map).__setitem__(
                    "e1", edit_entry(close_road(1001), "alice")
                )
            )
            await live.transact(
                lambda doc: doc.get("edits", type=Map).__setitem__(
                    "bad", edit_entry({"kind": "change_lanes", "osm_way_ids": [1], "lanes": 0}, "alice")
                )
            )
            await live.wait_for(lambda: bool(live.notices))
            await live.close()

        asyncio.run(edit())
        client.post(f"/api/scenarios/{scenario_id}/comments", json={"text": "on PG"}, headers=alice)
        assert (
            client.post(
                f"/api/scenarios/{scenario_id}/versions", json={"name": "v1"}, headers=alice
            ).status_code
            == 201
        )
    with ThreadServer(config) as server, httpx.Client(base_url=server.url, headers=alice) as client:
        edits = client.get(f"/api/scenarios/{scenario_id}/edits").json()["edits"]
        assert edits == [{"kind": "close_road", "osm_way_ids": [1001], "id": "e1"}]
        assert [c["text"] for c in client.get(f"/api/scenarios/{scenario_id}/comments").json()] == ["on PG"]
        assert [v["name"] for v in client.get(f"/api/scenarios/{scenario_id}/versions").json()] == ["v1"]


@pytest.mark.postgres
@pytest.mark.redis
def test_two_servers_share_a_room_through_postgres_and_redis(
    twin_dir: Path, tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    one = make_config(twin_dir, tmp_path / "one", postgres_url, redis_url=redis_url)
    two = make_config(twin_dir, tmp_path / "two", postgres_url, redis_url=redis_url)
    with ThreadServer(one) as first, ThreadServer(two) as second, httpx.Client(base_url=first.url) as client:
        alice = sign_up_in(client, "alice")
        bob = sign_up_in(client, "bob")
        scenario_id = new_scenario(client, alice, name="Shared")["scenario_id"]
        client.put(f"/api/scenarios/{scenario_id}/members/bob", json={"role": "editor"}, headers=alice)

        async def collaborate() -> None:
            path = f"/api/scenarios/{scenario_id}/live"
            a = await LiveClient(
                f"ws://127.0.0.1:{first.port}{path}", token_of(alice), client_id=11
            ).connect()
            b = await LiveClient(f"ws://127.0.0.1:{second.port}{path}", token_of(bob), client_id=22).connect()
            await a.transact(
                lambda doc: doc.get("edits", type=Map).__setitem__(
                    "e1", edit_entry(close_road(1001), "alice")
                )
            )
            await b.wait_for(lambda: "e1" in b.doc.get("edits", type=Map).to_py())
            await b.transact(
                lambda doc: doc.get("edits", type=Map).__setitem__("e2", edit_entry(close_road(1002), "bob"))
            )
            await a.wait_for(lambda: "e2" in a.doc.get("edits", type=Map).to_py())
            await a.set_presence({"cursor": {"lon": -2.99, "lat": 53.4}, "user": {"name": "forged"}})
            await b.wait_for(lambda: 11 in b.presence)
            assert b.presence[11]["user"]["name"] == "alice"  # stamped by the server, not the client
            assert b.presence[11]["cursor"] == {"lon": -2.99, "lat": 53.4}
            await a.close()
            await b.wait_for(lambda: 11 not in b.presence)
            await b.close()

        asyncio.run(collaborate())
        edits = client.get(f"/api/scenarios/{scenario_id}/edits", headers=alice).json()["edits"]
        assert {edit["id"] for edit in edits} == {"e1", "e2"}

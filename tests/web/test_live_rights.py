"""Rights on open sockets: withdrawn through REST, they end on every server process, and nothing sent
afterwards is stored or reaches anyone.

Each revocation runs on one server (in-process fan-out) and on two servers sharing PostgreSQL and Redis,
where the REST call goes to the first server and the socket that loses its rights is on the second. A
third client on the first server and the stored document (REST reads it from the database) show that
the late edit went nowhere. A separate test changes the database behind the server's back (no access
event at all, as when an edit races the event): the check made in the session that stores an update is
enough on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import websockets
from pycrdt import Doc, Map
from sqlalchemy import delete, update

from metaliverpool.api.live_client import LiveClient
from metaliverpool.service.live_access import CLOSE_NOT_FOUND, CLOSE_ROLE_CHANGED, CLOSE_SIGNED_OUT
from metaliverpool.store.db import AuthToken, Database, Membership
from web.conftest import ThreadServer, make_config, new_scenario, sign_up_in
from web.protocol import close_road, edit_entry, set_edit, token_of


@dataclass
class Pair:
    """Where REST calls and the third client go (``rest``) and where the victim's socket is (``victim``)."""

    rest: ThreadServer
    victim: ThreadServer

    def live(self, server: ThreadServer, scenario_id: int, headers: dict[str, str]) -> LiveClient:
        return LiveClient(f"ws://127.0.0.1:{server.port}/api/scenarios/{scenario_id}/live", token_of(headers))


@pytest.fixture(
    params=[
        "in-process",
        pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def pair(request: pytest.FixtureRequest, twin_dir: Path, tmp_path: Path) -> Iterator[Pair]:
    """One server (in-process fan-out), or two sharing a fresh PostgreSQL database and Redis."""
    if request.param == "in-process":
        with ThreadServer(make_config(twin_dir, tmp_path)) as server:
            yield Pair(server, server)
        return
    postgres_url = request.getfixturevalue("postgres_url")
    redis_url = request.getfixturevalue("redis_url")
    one = make_config(twin_dir, tmp_path / "one", postgres_url, redis_url=redis_url)
    two = make_config(twin_dir, tmp_path / "two", postgres_url, redis_url=redis_url)
    with ThreadServer(one) as first, ThreadServer(two) as second:
        yield Pair(first, second)


def close_edit(key: str, author: str, way: int) -> Callable[[Doc], None]:
    """A change that sets edit ``key``: ``author`` closes OSM way ``way``."""
    return set_edit(key, edit_entry(close_road(way), author))


async def try_edit(client: LiveClient, key: str, author: str, way: int) -> None:
    """Send an edit; a socket the server already closed refuses to send, which is fine."""
    with contextlib.suppress(websockets.ConnectionClosed):
        await client.transact(close_edit(key, author, way))


def edits_of(client: LiveClient) -> dict:
    return client.doc.get("edits", type=Map).to_py() or {}


async def went_nowhere(
    key: str, writer: LiveClient, witness: LiveClient, http: httpx.Client, scenario_id: int, headers: dict
) -> None:
    """``key`` is neither stored nor received by ``witness`` (checked once a later edit has arrived)."""
    marker = f"after-{key}"
    await writer.transact(close_edit(marker, "alice", 9999))
    await witness.wait_for(lambda: marker in edits_of(witness))
    assert key not in edits_of(witness)
    stored = http.get(f"/api/scenarios/{scenario_id}/edits", headers=headers).json()["edits"]
    assert marker in {edit["id"] for edit in stored} and key not in {edit["id"] for edit in stored}


def test_removed_member_and_lowered_role(pair: Pair) -> None:
    with httpx.Client(base_url=pair.rest.url) as http:
        alice, bob, carol = (sign_up_in(http, name) for name in ("alice", "bob", "carol"))
        scenario_id = new_scenario(http, alice)["scenario_id"]  # private
        for name in ("bob", "carol"):
            http.put(f"/api/scenarios/{scenario_id}/members/{name}", json={"role": "editor"}, headers=alice)

        async def play() -> None:
            writer = await pair.live(pair.victim, scenario_id, alice).connect()
            witness = await pair.live(pair.rest, scenario_id, carol).connect()
            victim = await pair.live(pair.victim, scenario_id, bob).connect()
            await victim.transact(close_edit("before", "bob", 1001))
            await witness.wait_for(lambda: "before" in edits_of(witness))

            # editor -> viewer: the socket takes the new role at once, and its next edit is refused
            lowered = http.put(
                f"/api/scenarios/{scenario_id}/members/bob", json={"role": "viewer"}, headers=alice
            )
            assert lowered.status_code == 200
            await victim.wait_for(
                lambda: {"type": "info", "messages": ["your role is now viewer"]} in victim.notices
            )
            await victim.transact(close_edit("as-viewer", "bob", 1002))
            await victim.wait_for(lambda: any(notice["type"] == "refused" for notice in victim.notices))
            await went_nowhere("as-viewer", writer, witness, http, scenario_id, alice)
            await victim.set_presence({"cursor": {"lon": -2.98, "lat": 53.4}})
            await witness.wait_for(lambda: victim.client_id in witness.presence)
            assert witness.presence[victim.client_id]["user"]["role"] == "viewer"

            # removed from a private scenario: closed as "not found", and nothing it sends is kept
            removed = http.delete(f"/api/scenarios/{scenario_id}/members/bob", headers=alice)
            assert removed.status_code == 204
            await victim.wait_for(lambda: victim.close_code is not None)
            assert victim.close_code == CLOSE_NOT_FOUND
            await try_edit(victim, "removed", "bob", 1003)
            await went_nowhere("removed", writer, witness, http, scenario_id, alice)
            for client in (writer, witness):
                await client.close()

        asyncio.run(play())


def test_sign_out_closes_that_tokens_sockets_in_every_room(pair: Pair) -> None:
    with httpx.Client(base_url=pair.rest.url) as http:
        alice, bob = sign_up_in(http, "alice"), sign_up_in(http, "bob")
        response = http.post("/api/auth/signin", json={"name": "bob", "password": "correct-horse"})
        other_bob = {"Authorization": f"Bearer {response.json()['token']}"}
        http.cookies.clear()
        first = new_scenario(http, alice, name="First")["scenario_id"]
        second = new_scenario(http, alice, name="Second")["scenario_id"]
        for scenario_id in (first, second):
            http.put(f"/api/scenarios/{scenario_id}/members/bob", json={"role": "editor"}, headers=alice)

        async def play() -> None:
            writer = await pair.live(pair.victim, first, alice).connect()
            witness = await pair.live(pair.rest, first, alice).connect()
            signed_out = [await pair.live(pair.victim, s, bob).connect() for s in (first, second)]
            still_in = await pair.live(pair.victim, first, other_bob).connect()

            assert http.post("/api/auth/signout", headers=bob).status_code == 204
            for client in signed_out:
                await client.wait_for(lambda client=client: client.close_code is not None)
                assert client.close_code == CLOSE_SIGNED_OUT
            await try_edit(signed_out[0], "signed-out", "bob", 1001)
            await went_nowhere("signed-out", writer, witness, http, first, alice)

            await still_in.transact(close_edit("other-token", "bob", 1002))
            await witness.wait_for(lambda: "other-token" in edits_of(witness))
            assert still_in.close_code is None
            for client in (writer, witness, still_in):
                await client.close()

        asyncio.run(play())


def test_made_private_then_deleted(pair: Pair) -> None:
    with httpx.Client(base_url=pair.rest.url) as http:
        alice, bob, erin = (sign_up_in(http, name) for name in ("alice", "bob", "erin"))
        scenario_id = new_scenario(http, alice, visibility="shared")["scenario_id"]
        http.put(f"/api/scenarios/{scenario_id}/members/bob", json={"role": "editor"}, headers=alice)

        async def play() -> None:
            writer = await pair.live(pair.rest, scenario_id, alice).connect()
            member = await pair.live(pair.victim, scenario_id, bob).connect()
            outsider = await pair.live(pair.victim, scenario_id, erin).connect()  # a viewer of a shared one
            await writer.transact(close_edit("public", "alice", 1001))
            await outsider.wait_for(lambda: "public" in edits_of(outsider))
            await outsider.set_presence({"cursor": {"lon": -2.98, "lat": 53.4}})
            await writer.wait_for(lambda: outsider.client_id in writer.presence)

            private = http.patch(
                f"/api/scenarios/{scenario_id}", json={"visibility": "private"}, headers=alice
            )
            assert private.status_code == 200
            await outsider.wait_for(lambda: outsider.close_code is not None)
            assert outsider.close_code == CLOSE_NOT_FOUND
            await writer.wait_for(lambda: outsider.client_id not in writer.presence)  # its cursor is gone
            await writer.transact(close_edit("private", "alice", 1002))
            await member.wait_for(lambda: "private" in edits_of(member))  # members keep receiving
            assert "private" not in edits_of(outsider)  # the outsider does not

            assert http.delete(f"/api/scenarios/{scenario_id}", headers=alice).status_code == 204
            for client in (writer, member):
                await client.wait_for(lambda client=client: client.close_code is not None)
                assert client.close_code == CLOSE_NOT_FOUND

        asyncio.run(play())


def test_update_is_checked_against_the_database_without_any_event(live_server: ThreadServer) -> None:
    """Rights changed in the database directly (no access event): the next update is refused and its
    socket closed with the code of what changed; nothing of it is stored."""
    db: Database = live_server.context.db
    with httpx.Client(base_url=live_server.url) as http:
        alice, bob, carol, dave = (sign_up_in(http, name) for name in ("alice", "bob", "carol", "dave"))
        scenario_id = new_scenario(http, alice)["scenario_id"]
        for name in ("bob", "carol", "dave"):
            http.put(f"/api/scenarios/{scenario_id}/members/{name}", json={"role": "editor"}, headers=alice)
        users = {
            user["name"]: user["user_id"]
            for user in (http.get("/api/users/me", headers=h).json() for h in (bob, carol, dave))
        }

        async def play() -> None:
            clients = {
                name: await LiveClient(
                    f"ws://127.0.0.1:{live_server.port}/api/scenarios/{scenario_id}/live", token_of(headers)
                ).connect()
                for name, headers in (("bob", bob), ("carol", carol), ("dave", dave))
            }
            with db.session() as session:
                session.execute(
                    delete(Membership).where(
                        Membership.scenario_id == scenario_id, Membership.user_id == users["bob"]
                    )
                )
                session.execute(
                    update(Membership)
                    .where(Membership.scenario_id == scenario_id, Membership.user_id == users["carol"])
                    .values(role="viewer")
                )
                session.execute(delete(AuthToken).where(AuthToken.user_id == users["dave"]))
            for name, code in (
                ("bob", CLOSE_NOT_FOUND),
                ("carol", CLOSE_ROLE_CHANGED),
                ("dave", CLOSE_SIGNED_OUT),
            ):
                client = clients[name]
                await client.transact(close_edit(f"by-{name}", name, 1001))
                await client.wait_for(lambda client=client: client.close_code is not None)
                assert client.close_code == code, name

        asyncio.run(play())
        stored = http.get(f"/api/scenarios/{scenario_id}/edits", headers=alice).json()["edits"]
        assert stored == []

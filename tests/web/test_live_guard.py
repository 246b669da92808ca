"""The live socket cannot be crashed or polluted by a message (issue 17): the attacks, against a real server.

One ``metaliverpool serve`` process (:class:`ProcessServer`) serves the module; every crash test ends by
proving that the process is alive, answers ``/api/health`` and still carries an editor's edit to another
client. Users: ``alice`` owns a shared scenario, ``bob`` edits it, ``dave`` is its viewer and ``carol`` a
signed-in stranger (a viewer because it is shared). A hypothesis fuzzer ends the module.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Map
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from metaliverpool.api.live_client import LiveClient
from metaliverpool.service.documents import read_edits
from metaliverpool.service.live_limits import (
    MAX_MESSAGE_BYTES,
    MAX_PRESENCE_ENTRIES,
    MAX_PRESENCE_IDS,
    MAX_PRESENCE_STATE_BYTES,
    MAX_SAFE_INTEGER,
    RECEIVE_BURST_BYTES,
    RECEIVE_BYTES_PER_S,
    RECEIVE_MESSAGE_COST_BYTES,
)
from metaliverpool.store.db import Database, DocUpdate
from web.conftest import ProcessServer, ThreadServer, new_scenario, sign_up_in
from web.protocol import close_road, edit_entry, token_of
from web.yjs_bytes import (
    INFINITY,
    NAN,
    any_value,
    awareness_message,
    deep_array,
    item,
    sync_message,
    sync_update_message,
    update,
)

MARK = "EVIL"
"""A key or text that only attacks write: it must never be stored or sent."""

CURSOR = b'{"cursor":{"lon":-2.98,"lat":53.4}}'


@dataclass
class Guarded:
    """The server of this module, its HTTP client and its users' tokens."""

    server: ProcessServer
    http: httpx.Client
    headers: dict[str, dict[str, str]]

    def ws(self, scenario_id: int) -> str:
        return f"ws://127.0.0.1:{self.server.port}/api/scenarios/{scenario_id}/live"

    def token(self, name: str) -> str:
        return token_of(self.headers[name])

    def scenario(self) -> int:
        """A new shared scenario of alice's with bob as editor and dave as viewer."""
        scenario_id = int(new_scenario(self.http, self.headers["alice"], visibility="shared")["scenario_id"])
        for name, role in (("bob", "editor"), ("dave", "viewer")):
            response = self.http.put(
                f"/api/scenarios/{scenario_id}/members/{name}",
                json={"role": role},
                headers=self.headers["alice"],
            )
            assert response.status_code == 200, response.text
        return scenario_id

    async def client(self, scenario_id: int, name: str) -> LiveClient:
        return await LiveClient(self.ws(scenario_id), self.token(name)).connect()

    def stored(self) -> list[bytes]:
        """Every stored document update of the server's database."""
        db = Database(f"sqlite:///{self.server.state / 'metaliverpool.db'}")
        try:
            with db.session() as session:
                return list(session.scalars(select(DocUpdate.update)))
        finally:
            db.engine.dispose()


@pytest.fixture(scope="module")
def guarded(twin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    server = ProcessServer(twin_dir, tmp_path_factory.mktemp("guard")).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            headers = {name: sign_up_in(http, name) for name in ("alice", "bob", "carol", "dave")}
            yield Guarded(server, http, headers)
    finally:
        server.stop()


def attack(value: bytes, root: str = "edits", key: str | None = MARK, client: int | None = None) -> bytes:
    """A sync update setting ``root[key]`` to the raw ``Any`` bytes ``value``, from ``client`` (default: a
    fresh random client id)."""
    author = random.randrange(1, 2**31) if client is None else client
    return sync_update_message(update(author, 0, [item(value, root=root, key=key)]))


async def refusal(client: LiveClient, message: bytes, timeout_s: float = 10.0) -> list[str]:
    """Send ``message`` and return the lines of the notices it brought (waits for at least one)."""
    seen = len(client.notices)
    await client.send_raw(message)
    await client.wait_for(lambda: len(client.notices) > seen, timeout_s)
    return [line for notice in client.notices[seen:] for line in notice["messages"]]


async def edit_reaches(author: LiveClient, reader: LiveClient, name: str) -> str:
    """``author`` sets a valid edit under a new key; returns the key once ``reader`` has it."""
    key = uuid.uuid4().hex[:16]
    await author.transact(
        lambda doc: doc.get("edits", type=Map).__setitem__(key, edit_entry(close_road(1001), name))
    )
    await reader.wait_for(lambda: key in read_edits(reader.doc), 10)
    return key


def assert_still_serving(guarded: Guarded, scenario_id: int) -> None:
    """The process lives, answers health, and an editor's edit reaches another client."""
    assert guarded.server.process is not None and guarded.server.process.poll() is None
    assert httpx.get(f"{guarded.server.url}/api/health", timeout=10).status_code == 200

    async def edit() -> None:
        alice, bob = await guarded.client(scenario_id, "alice"), await guarded.client(scenario_id, "bob")
        await edit_reaches(bob, alice, "bob")
        await alice.close()
        await bob.close()

    asyncio.run(edit())
    assert not any(MARK.encode() in row for row in guarded.stored())


def test_deep_values_cannot_crash_the_server(guarded: Guarded) -> None:
    """The issue's crashes: an editor's 20,000-deep array; a stranger's 30,000 levels in a new root."""
    scenario_id = guarded.scenario()

    async def attacks() -> tuple[list[str], list[str]]:
        bob, carol = await guarded.client(scenario_id, "bob"), await guarded.client(scenario_id, "carol")
        edit = await refusal(bob, attack(deep_array(20_000)))
        root = await refusal(carol, attack(deep_array(30_000), root="evil"))
        await bob.close()
        await carol.close()
        return edit, root

    edit, root = asyncio.run(attacks())
    assert any("nested deeper than 16" in line for line in edit), edit
    assert any("'evil' is not one of" in line for line in root), root
    assert_still_serving(guarded, scenario_id)


@pytest.mark.parametrize("name", ["carol", "dave"])
def test_read_only_writes_are_refused_before_they_are_applied(guarded: Guarded, name: str) -> None:
    """New roots, list items, keys of ``edits`` and deletions by a viewer or a stranger: refused, with a
    notice; nothing applied, stored or sent (another client receives nothing until the next real edit)."""
    scenario_id = guarded.scenario()

    async def attacks() -> tuple[list[str], list[bytes], dict[str, Any]]:
        alice, bob = await guarded.client(scenario_id, "alice"), await guarded.client(scenario_id, "bob")
        kept = await edit_reaches(bob, alice, "bob")
        viewer = await guarded.client(scenario_id, name)
        received: list[bytes] = []
        alice.on_update = lambda payload, _time_s: received.append(payload)
        value = any_value({"edit": close_road(1001), "author": name, "created_at_s": 1.0})
        lines = []
        lines += await refusal(viewer, attack(any_value(MARK), root="another"))
        lines += await refusal(viewer, attack(any_value(MARK), key=None))
        lines += await refusal(viewer, attack(value))
        lines += await refusal(viewer, attack(any_value(MARK * 100_000)))  # 400 kB of text
        lines += await refusal(viewer, attack(deep_array(5_000)))  # threw in the web client's yjs
        before = viewer.doc.get_state()
        del viewer.doc.get("edits", type=Map)[kept]
        deletion = viewer.doc.get_update(before)
        lines += await refusal(viewer, sync_update_message(deletion))
        later = await edit_reaches(bob, alice, "bob")
        edits = read_edits(alice.doc)
        for client in (alice, bob, viewer):
            await client.close()
        return lines, received, {"edits": edits, "kept": kept, "later": later}

    lines, received, state = asyncio.run(attacks())
    assert any("is not one of" in line for line in lines), lines
    assert any("list item" in line for line in lines), lines
    assert any("nested deeper than 16" in line for line in lines), lines
    assert sum("you cannot edit" in line for line in lines) == 3, (
        lines
    )  # the value, the long text, the deletion
    assert len(received) == 1  # only bob's later edit
    assert set(state["edits"]) == {state["kept"], state["later"]}
    assert_still_serving(guarded, scenario_id)


def test_editor_values_are_bounded_and_the_room_keeps_accepting(guarded: Guarded) -> None:
    """NaN or infinite ``created_at_s`` and a 1,000-deep edit are refused whole; the same socket's next
    edit is accepted and reaches the others."""
    scenario_id = guarded.scenario()

    def entry(created_at: bytes, edit: bytes = any_value(close_road(1001))) -> bytes:
        return b"\x76\x03" + b"".join(
            (b"\x04edit" + edit, b"\x06author" + any_value("bob"), b"\x0ccreated_at_s" + created_at)
        )

    async def attacks() -> list[str]:
        alice, bob = await guarded.client(scenario_id, "alice"), await guarded.client(scenario_id, "bob")
        received: list[bytes] = []
        alice.on_update = lambda payload, _time_s: received.append(payload)
        lines = []
        lines += await refusal(bob, attack(entry(NAN)))
        lines += await refusal(bob, attack(entry(INFINITY)))
        lines += await refusal(bob, attack(entry(any_value(1.0), edit=deep_array(1_000))))
        await edit_reaches(bob, alice, "bob")
        await edit_reaches(alice, bob, "alice")
        assert len(received) == 1
        await alice.close()
        await bob.close()
        return lines

    lines = asyncio.run(attacks())
    assert sum("NaN or infinite" in line for line in lines) == 2, lines
    assert any("nested deeper" in line for line in lines), lines
    assert_still_serving(guarded, scenario_id)


def test_presence_is_bounded(guarded: Guarded) -> None:
    """1,000 fake client ids from one socket (in one message: refused; in batches) register at most four;
    large, deep, NaN or out-of-range states are refused before they are parsed; a 2 MiB state never arrives
    (the socket is closed, 1009)."""
    scenario_id = guarded.scenario()

    async def attacks() -> tuple[list[str], int, int | None]:
        carol = await guarded.client(scenario_id, "carol")
        lines = await refusal(carol, awareness_message([(n, 1, CURSOR) for n in range(1, 1001)]))
        for first in range(1, 1001, MAX_PRESENCE_ENTRIES):
            batch = range(first, min(first + MAX_PRESENCE_ENTRIES, 1001))
            lines += await refusal(carol, awareness_message([(n, 2, CURSOR) for n in batch]))
        big = b'{"x":"' + b"y" * MAX_PRESENCE_STATE_BYTES + b'"}'
        lines += await refusal(carol, awareness_message([(2000, 1, big)]))
        lines += await refusal(carol, awareness_message([(2001, 1, b"[" * 1000 + b"]" * 1000)]))
        lines += await refusal(carol, awareness_message([(2002, 1, b'{"x":NaN}')]))
        lines += await refusal(carol, awareness_message([(2003, MAX_SAFE_INTEGER + 1, CURSOR)]))
        newcomer = await guarded.client(scenario_id, "alice")
        await newcomer.wait_for(lambda: len(newcomer.presence) >= MAX_PRESENCE_IDS, 10)
        await asyncio.sleep(0.3)
        registered = len(newcomer.presence)
        # a stock y-websocket client echoes others' departures: they claim none of its four ids
        echo = await guarded.client(scenario_id, "dave")
        await echo.send_raw(awareness_message([(n, 5, b"null") for n in range(5000, 5010)]))
        await echo.set_presence({"cursor": {"lon": -2.98, "lat": 53.4}})
        await newcomer.wait_for(lambda: echo.client_id in newcomer.presence, 10)
        assert echo.notices == []
        await echo.close()
        huge = await guarded.client(scenario_id, "carol")
        await huge.send_raw(awareness_message([(3000, 1, b'{"x":"' + b"y" * (2 * 1024 * 1024) + b'"}')]))
        await huge.wait_for(lambda: huge.close_code is not None, 10)
        await newcomer.close()
        await carol.close()
        return lines, registered, huge.close_code

    lines, registered, close_code = asyncio.run(attacks())
    assert registered == MAX_PRESENCE_IDS
    assert any(f"at most {MAX_PRESENCE_IDS} client ids" in line for line in lines), lines
    for expected in (
        "larger than 8192 bytes",
        "nested deeper than 8",
        "NaN is not JSON",
        "above 9007199254740991",
    ):
        assert any(expected in line for line in lines), (expected, lines)
    assert close_code == 1009
    assert_still_serving(guarded, scenario_id)


def test_message_size_is_bounded_by_the_server_and_the_room(guarded: Guarded) -> None:
    """A message of :data:`MAX_MESSAGE_BYTES` reaches the room (and is refused there); one byte more closes
    the socket with 1009 before anything reads it."""
    scenario_id = guarded.scenario()

    async def send() -> tuple[list[str], int | None]:
        bob = await guarded.client(scenario_id, "bob")
        largest = attack(any_value(MARK + "x" * MAX_MESSAGE_BYTES))[: MAX_MESSAGE_BYTES - 1] + b"\x00"
        lines = await refusal(bob, largest)
        await bob.send_raw(largest + b"\x00\x00")
        await bob.wait_for(lambda: bob.close_code is not None, 10)
        await bob.close()
        return lines, bob.close_code

    lines, close_code = asyncio.run(send())
    assert any("document update refused" in line for line in lines), lines
    assert close_code == 1009
    assert_still_serving(guarded, scenario_id)


def test_a_text_frame_is_closed_cleanly(live_server: ThreadServer, caplog: pytest.LogCaptureFixture) -> None:
    """A text frame closes the socket with 1003 "binary frames only", and the server logs no error."""
    http = httpx.Client(base_url=live_server.url)
    alice = sign_up_in(http, "alice")
    scenario_id = new_scenario(http, alice)["scenario_id"]
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)
    try:
        url = f"ws://127.0.0.1:{live_server.port}/api/scenarios/{scenario_id}/live?token={token_of(alice)}"
        with connect(url) as socket:
            socket.send("hello")
            with pytest.raises(ConnectionClosed):
                while True:
                    socket.recv(timeout=10)
            assert socket.close_code == 1003 and socket.close_reason == "binary frames only"
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


# --- fuzzing ---------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)
depths = st.sampled_from([17, 1_000, 5_000, 20_000, 40_000]) | st.integers(0, 40_000)
"""Nesting depths: the limit's neighbourhood, Python's and pycrdt's recursion limits, anything."""
sizes = st.sampled_from([MAX_MESSAGE_BYTES - 64, MAX_MESSAGE_BYTES + 1, 2 * MAX_MESSAGE_BYTES]) | st.integers(
    0, 9_000
)
"""Byte sizes: just under and over the message limit, twice it, and small ones."""
values = st.one_of(
    json_values.map(any_value),
    st.binary(max_size=24),
    st.builds(deep_array, depths),
    sizes.map(lambda size: any_value("x" * size)),
)
ids = st.tuples(st.integers(0, 2**54), st.integers(0, 2**33))
structs = st.builds(
    item,
    values,
    root=st.sampled_from(["edits", "comments", "evil", ""]),
    key=st.none() | st.text(max_size=70),
    origin=st.none() | ids,
    parent_id=st.none() | ids,
)
updates = st.builds(
    update,
    st.integers(0, 2**54),
    st.integers(0, 2**33),
    st.lists(structs, max_size=4),
    st.lists(st.tuples(st.integers(0, 2**40), st.integers(0, 2**33), st.integers(0, 2**33)), max_size=3),
)
states = st.one_of(
    st.sampled_from([CURSOR, b"null", b"{}", b'{"x":NaN}', b"[1]"]),
    depths.map(lambda depth: b"[" * depth + b"]" * depth),
    sizes.map(lambda size: b'{"x":"' + b"y" * size + b'"}'),
    st.binary(max_size=40),
)
whole_messages = st.one_of(
    st.builds(sync_message, st.sampled_from([0, 1, 2, 3]), updates | st.binary(max_size=64)),
    st.builds(
        attack,
        st.builds(deep_array, depths) | sizes.map(lambda size: any_value("x" * size)),
        key=st.just("k"),
        client=st.integers(1, 2**31),
    ),
    st.builds(awareness_message, st.lists(st.tuples(st.integers(0, 9), st.just(1), states), max_size=1)),
    st.builds(
        awareness_message,
        st.lists(st.tuples(st.integers(0, 2**60), st.integers(0, 2**60), states), max_size=6),
    ),
    st.binary(max_size=64),
    st.sampled_from([b"\x03", b"\x00", b"\x01", b"\x64\x00"]),
)
messages = whole_messages | st.builds(lambda message, cut: message[:cut], whole_messages, st.integers(0, 200))


class Sockets:
    """One raw socket per user, reopened when the server closes it (an oversized message, say)."""

    def __init__(self, guarded: Guarded, scenario_id: int) -> None:
        self.guarded = guarded
        self.scenario_id = scenario_id
        self.open: dict[str, ClientConnection] = {}
        self.sent = 0

    def get(self, name: str) -> ClientConnection:
        socket = self.open.get(name)
        if socket is None:
            url = f"{self.guarded.ws(self.scenario_id)}?token={self.guarded.token(name)}"
            socket = self.open[name] = connect(url, max_size=None, open_timeout=10).__enter__()
        return socket

    def round_trip(self, name: str) -> None:
        """Send a sync step 1 and wait for the server's step 2 (the room still answers this socket)."""
        socket = self.get(name)
        socket.send(sync_message(0, b"\x00"))
        while socket.recv(timeout=20)[:2] != b"\x00\x01":
            pass

    def send(self, name: str, message: bytes | str) -> None:
        self.sent += 1
        try:
            self.get(name).send(message)
            self.round_trip(name)
        except ConnectionClosed as closed:
            # 1003 a text frame, 1009 too large (or a reset before the close frame of a too large one)
            code = None if closed.rcvd is None else closed.rcvd.code
            assert code in (1003, 1009) or (code is None and len(message) > MAX_MESSAGE_BYTES), closed
            self.open.pop(name).close()
            self.round_trip(name)

    def close(self) -> None:
        for socket in self.open.values():
            socket.close()


@pytest.mark.fuzz
def test_fuzzed_messages_never_stop_the_server(guarded: Guarded) -> None:
    """Random, truncated, deep and huge sync and awareness messages from an editor and a stranger: after
    every one the room still answers; afterwards the process is alive and serving."""
    scenario_id = guarded.scenario()
    sockets = Sockets(guarded, scenario_id)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.sampled_from(["bob", "carol"]), messages | st.text(max_size=8))
    def fuzz(name: str, message: bytes | str) -> None:
        sockets.send(name, message)

    try:
        fuzz()
    finally:
        sockets.close()
    assert sockets.sent >= 150
    assert_still_serving(guarded, scenario_id)


def test_a_socket_that_sends_too_much_is_paced_and_the_others_are_not(guarded: Guarded) -> None:
    """Twelve largest messages from one socket: the first four (the burst) are handled at once, the rest
    at :data:`RECEIVE_BYTES_PER_S`, so the last refusal comes after about 4 s; meanwhile another editor's
    edits still reach a third client at once."""
    scenario_id = guarded.scenario()
    largest = attack(any_value(MARK + "x" * MAX_MESSAGE_BYTES))[: MAX_MESSAGE_BYTES - 1] + b"\x00"
    count = 12
    paced_s = (
        count * (len(largest) + RECEIVE_MESSAGE_COST_BYTES) - RECEIVE_BURST_BYTES
    ) / RECEIVE_BYTES_PER_S

    async def flood() -> tuple[float, list[float]]:
        carol = await guarded.client(scenario_id, "carol")
        bob = await guarded.client(scenario_id, "bob")
        alice = await guarded.client(scenario_id, "alice")
        start_s = time.monotonic()
        for _ in range(count):
            await carol.send_raw(largest)
        edit_s = []
        while len(carol.notices) < count and time.monotonic() - start_s < 30:
            sent_s = time.monotonic()
            await edit_reaches(bob, alice, "bob")
            edit_s.append(time.monotonic() - sent_s)
        await carol.wait_for(lambda: len(carol.notices) >= count, 30)
        took_s = time.monotonic() - start_s
        for client in (carol, bob, alice):
            await client.close()
        return took_s, edit_s

    took_s, edit_s = asyncio.run(flood())
    assert took_s >= 0.9 * paced_s, (took_s, paced_s)
    assert edit_s and max(edit_s) < 1.0, edit_s
    assert_still_serving(guarded, scenario_id)

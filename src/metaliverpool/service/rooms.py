"""Collaboration rooms: one shared document per scenario, its connections, checks and fan-out.

A :class:`Room` speaks the Yjs sync and awareness protocols (the messages of ``y-protocols``) with each
connection. An incoming document update is applied inside one transaction together with the roll-back of
every part that the scenario format or the sender's role refuses; the net change is stored in the
database *before* it is published, so an accepted edit is never lost, and a refused edit never reaches
anyone else (only its author gets the roll-back and a notice). Room state lives in the database; the
in-memory document is a cache rebuilt from it, and messages between server processes go through a
:class:`~metaliverpool.service.fanout.Fanout`.

Message types on the wire (first byte): ``0`` sync, ``1`` awareness, ``3`` query awareness (as
y-protocols), and :data:`MESSAGE_NOTICE` (``100``): a length-prefixed UTF-8 JSON object
``{"type": "refused" | "info", "messages": [...]}`` sent by the server to one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol

import anyio.to_thread
from pycrdt import (
    Doc,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_update_message,
    read_message,
    write_message,
)
from pycrdt._sync import create_sync_step1_message, create_sync_step2_message

from metaliverpool.service.access import ROLE_RANK
from metaliverpool.service.accounts import Account
from metaliverpool.service.documents import (
    append_update,
    check_changes,
    compact_updates,
    is_empty_update,
    load_doc,
    read_comments,
    read_edits,
    roll_back,
)
from metaliverpool.service.fanout import Envelope, Fanout, Subscription
from metaliverpool.service.presence import PresenceEntry, decode_awareness, encode_awareness, stamp_user
from metaliverpool.store.db import Database

MESSAGE_NOTICE = 100
MESSAGE_QUERY_AWARENESS = 3
EMPTY_STATE_VECTOR = b"\x00"
"""The encoded state vector of a document with nothing in it."""

log = logging.getLogger(__name__)


class Connection(Protocol):
    """One client connection in a room, as the room sees it."""

    connection_id: str
    account: Account
    role: str

    def send(self, message: bytes) -> None:
        """Queue ``message`` for the client (never blocks)."""

    async def deliver(self, message: bytes) -> None:
        """Send ``message`` now if nothing is queued before it, else queue it (keeps the order)."""


def notice_message(kind: str, messages: list[str]) -> bytes:
    """A :data:`MESSAGE_NOTICE` message."""
    body = json.dumps({"type": kind, "messages": messages}).encode("utf-8")
    return bytes([MESSAGE_NOTICE]) + write_message(body)


class Room:
    """The live state of one scenario's document in this process."""

    def __init__(self, scenario_id: int, db: Database, fanout: Fanout, process_id: str) -> None:
        self.scenario_id = scenario_id
        self.db = db
        self.fanout = fanout
        self.process_id = process_id
        self.doc: Doc = Doc()
        self.connections: dict[str, Connection] = {}
        self.presence: dict[int, PresenceEntry] = {}
        self.client_ids: dict[str, set[int]] = {}
        self.lock = asyncio.Lock()
        self._subscription: Subscription | None = None
        self._full_sync: tuple[bytes, bytes] | None = None

    @property
    def channel(self) -> str:
        """The fan-out channel of this room."""
        return f"room:{self.scenario_id}"

    async def open(self) -> None:
        """Load the document from the database (compacting it if needed) and subscribe to the fan-out."""
        self._subscription = await self.fanout.subscribe(self.channel, self._on_envelope)

        def load() -> Doc:
            with self.db.session() as session:
                compact_updates(session, self.scenario_id)
                return load_doc(session, self.scenario_id)

        self.doc = await anyio.to_thread.run_sync(load)

    async def close(self) -> None:
        """Stop receiving from the fan-out."""
        if self._subscription is not None:
            await self._subscription.close()
            self._subscription = None

    async def join(self, connection: Connection) -> None:
        """Add a connection: send it the server's state vector (sync step 1) and everyone's presence."""
        self.connections[connection.connection_id] = connection
        self.client_ids[connection.connection_id] = set()
        connection.send(create_sync_step1_message(self.doc.get_state()))
        states = [entry for entry in self.presence.values() if entry.state is not None]
        if states:
            connection.send(create_awareness_message(encode_awareness(states)))

    async def leave(self, connection: Connection) -> None:
        """Remove a connection and tell the others that its presence is gone."""
        self.connections.pop(connection.connection_id, None)
        gone = [
            PresenceEntry(client_id, self.presence[client_id].clock + 1, None)
            for client_id in self.client_ids.pop(connection.connection_id, set())
            if client_id in self.presence
        ]
        if gone:
            await self.fanout.publish(
                self.channel,
                Envelope("awareness", self.process_id, connection.connection_id, encode_awareness(gone)),
            )

    async def receive(self, connection: Connection, message: bytes) -> None:
        """Handle one message from ``connection``; malformed messages get a notice and are dropped."""
        if not message:
            return
        try:
            if message[0] == YMessageType.SYNC and len(message) >= 2:
                payload = read_message(message[2:])
                if message[1] == YSyncMessageType.SYNC_STEP1:
                    connection.send(self.sync_step2(payload))
                elif message[1] in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
                    await self.accept_update(connection, payload)
            elif message[0] == YMessageType.AWARENESS:
                await self.accept_presence(connection, read_message(message[1:]))
            elif message[0] == MESSAGE_QUERY_AWARENESS:
                states = [entry for entry in self.presence.values() if entry.state is not None]
                connection.send(create_awareness_message(encode_awareness(states)))
        except (ValueError, RuntimeError, IndexError, UnicodeDecodeError) as error:
            connection.send(notice_message("refused", [f"malformed message: {error}"]))

    def sync_step2(self, state_vector: bytes) -> bytes:
        """The sync step 2 answering a client's state vector: what the room has and the client lacks.

        A client that has nothing (every newcomer, and every viewer) gets the full state, encoded once per
        state of the document and shared, not once per client.
        """
        if state_vector != EMPTY_STATE_VECTOR:
            return create_sync_step2_message(self.doc.get_update(state_vector))
        state = self.doc.get_state()
        if self._full_sync is None or self._full_sync[0] != state:
            self._full_sync = (state, create_sync_step2_message(self.doc.get_update()))
        return self._full_sync[1]

    async def accept_update(self, connection: Connection, update: bytes) -> None:
        """Check, apply, store and publish one document update from ``connection``.

        A viewer's update is applied and rolled back entirely in one transaction: the others receive only
        tombstones without content, and the viewer's own copy returns to the room's state. An empty update
        (the sync step 2 of a client with nothing new: every viewer's) costs nothing.
        """
        if is_empty_update(update):
            return
        refused: dict[str, dict[str, str]] = {}
        read_only = ROLE_RANK[connection.role] < ROLE_RANK["editor"]

        def check(doc: Doc) -> None:
            before = {"edits": read_edits(doc), "comments": read_comments(doc)}
            doc.apply_update(update)
            after = {"edits": read_edits(doc), "comments": read_comments(doc)}
            for root in ("edits", "comments"):
                if read_only:
                    changed = set(before[root]) ^ set(after[root]) | {
                        key
                        for key in before[root]
                        if key in after[root] and before[root][key] != after[root][key]
                    }
                    keys = {key: f"your role is {connection.role}: you cannot edit" for key in changed}
                else:
                    keys = check_changes(before[root], after[root], connection.account.name, root)
                if keys:
                    refused[root] = keys
                    roll_back(doc, root, keys, before[root])

        await self.change(check, connection.account.user_id, connection.connection_id, refused)
        if refused:
            lines = [f"{root} {key}: {why}" for root, keys in refused.items() for key, why in keys.items()]
            connection.send(notice_message("refused", lines))

    async def change(
        self,
        mutate: Callable[[Doc], None],
        user_id: int | None,
        connection_id: str = "",
        refused: dict[str, Any] | None = None,
    ) -> bytes:
        """Run ``mutate`` on the document in one transaction; store and publish the net change.

        The sender (``connection_id``) is skipped when nothing was refused (it has the change already);
        otherwise it receives the net change too, which rolls back its refused part. Returns the net
        update (empty updates are neither stored nor published).
        """
        async with self.lock:
            state = self.doc.get_state()
            with self.doc.transaction():
                mutate(self.doc)
            update = self.doc.get_update(state)
            if is_empty_update(update):
                return update

            def store() -> None:
                with self.db.session() as session:
                    append_update(session, self.scenario_id, update, user_id)

            try:
                await anyio.to_thread.run_sync(store)
            except Exception:
                # The change is in memory but not stored: rebuild the cache from the database.
                log.exception("storing an update of scenario %s failed", self.scenario_id)
                self.doc = await anyio.to_thread.run_sync(self._reload)
                raise
            skip = "" if refused else connection_id
            await self.fanout.publish(self.channel, Envelope("update", self.process_id, skip, update))
            return update

    def _reload(self) -> Doc:
        with self.db.session() as session:
            return load_doc(session, self.scenario_id)

    async def accept_presence(self, connection: Connection, update: bytes) -> None:
        """Stamp a presence update with the connection's account and publish it."""
        account = connection.account
        user = {"name": account.name, "colour": account.colour, "role": connection.role}
        entries = stamp_user(decode_awareness(update), user)
        owned = self.client_ids.setdefault(connection.connection_id, set())
        mine = []
        for entry in entries:
            known = self.presence.get(entry.client_id)
            if known is not None and entry.client_id not in owned:
                continue  # another connection's client id: not yours to change
            owned.add(entry.client_id)
            mine.append(entry)
        if not mine:
            return
        await self.fanout.publish(
            self.channel,
            Envelope("awareness", self.process_id, connection.connection_id, encode_awareness(mine)),
        )

    async def _on_envelope(self, envelope: Envelope) -> None:
        if envelope.kind == "update":
            if envelope.process_id != self.process_id:
                self.doc.apply_update(envelope.payload)
            message = create_update_message(envelope.payload)
        elif envelope.kind == "awareness":
            for entry in decode_awareness(envelope.payload):
                known = self.presence.get(entry.client_id)
                if known is None or entry.clock >= known.clock:
                    if entry.state is None:
                        self.presence.pop(entry.client_id, None)
                    else:
                        self.presence[entry.client_id] = entry
            message = create_awareness_message(envelope.payload)
        else:
            return
        for connection_id, connection in list(self.connections.items()):
            if connection_id != envelope.connection_id:
                try:
                    await connection.deliver(message)
                except Exception:  # a socket that just closed: its own handler cleans up
                    log.debug("delivery to %s failed", connection_id, exc_info=True)


class RoomRegistry:
    """The rooms open in this process; a room is opened on first use and closed when its last user leaves."""

    def __init__(self, db: Database, fanout: Fanout) -> None:
        self.db = db
        self.fanout = fanout
        self.process_id = uuid.uuid4().hex
        self.rooms: dict[int, Room] = {}
        self.users: dict[int, int] = {}
        self._lock = asyncio.Lock()

    async def acquire(self, scenario_id: int) -> Room:
        """The room of ``scenario_id`` (opened if needed); pair each call with :meth:`release`."""
        async with self._lock:
            room = self.rooms.get(scenario_id)
            if room is None:
                room = Room(scenario_id, self.db, self.fanout, self.process_id)
                await room.open()
                self.rooms[scenario_id] = room
            self.users[scenario_id] = self.users.get(scenario_id, 0) + 1
            return room

    async def release(self, scenario_id: int) -> None:
        """Give a room back; the last release closes it."""
        async with self._lock:
            count = self.users.get(scenario_id, 0) - 1
            if count > 0:
                self.users[scenario_id] = count
                return
            self.users.pop(scenario_id, None)
            room = self.rooms.pop(scenario_id, None)
            if room is not None:
                await room.close()

    async def change(self, scenario_id: int, mutate: Callable[[Doc], None], user_id: int | None) -> bytes:
        """Apply a server-side change (a comment from the REST API, say) through the scenario's room."""
        room = await self.acquire(scenario_id)
        try:
            return await room.change(mutate, user_id)
        finally:
            await self.release(scenario_id)

    async def close(self) -> None:
        """Close every room."""
        for room in list(self.rooms.values()):
            with contextlib.suppress(Exception):
                await room.close()
        self.rooms.clear()
        self.users.clear()

"""Collaboration rooms: one shared document per scenario, its connections, checks and fan-out.

A :class:`Room` speaks the Yjs sync and awareness protocols (the messages of ``y-protocols``) with each
connection. An editor's document update is applied inside one transaction together with the roll-back of
every edit or comment that the scenario format refuses; the net change is stored in the database *before*
it is published, so an accepted edit is never lost, and a refused edit never reaches anyone else (only its
author gets the roll-back and a notice). Room state lives in the database; the in-memory document is a
cache rebuilt from it, and messages between server processes go through a
:class:`~metaliverpool.service.fanout.Fanout`.

Message types on the wire (first byte): ``0`` sync, ``1`` awareness, ``3`` query awareness (as
y-protocols), and :data:`MESSAGE_NOTICE` (``100``): a length-prefixed UTF-8 JSON object
``{"type": "refused" | "info", "messages": [...]}`` sent by the server to one connection.

Rights (see :mod:`metaliverpool.service.live_access`): an update is stored only if the sender's token and
role, read again in the session that stores it, still allow what was checked; awareness uses the
connection's role, which :class:`RoomRegistry` keeps fresh from the access events of every process.

Heartbeat: the registry's one timer sends :data:`HEARTBEAT_MESSAGE` (an awareness update with no
entries, which y-protocols clients apply as a no-op) to every connection that was sent nothing for
:data:`HEARTBEAT_IDLE_S`, so a client alone in a room still hears from the server (stock ``y-websocket``
reconnects after 30 s of silence).

Nothing a client sends reaches pycrdt or ``json`` unchecked: a message is at most
:data:`~metaliverpool.service.live_limits.MAX_MESSAGE_BYTES`; a document update is read and checked by
:mod:`~metaliverpool.service.yjs_update` (content, shape, depth, counts, references) and refused whole,
with a notice, before it is applied; a read-only connection's update is refused unless it writes nothing;
an awareness update is bounded by :func:`~metaliverpool.service.presence.read_client_awareness` and each
connection may use at most :data:`~metaliverpool.service.live_limits.MAX_PRESENCE_IDS` client ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
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
    write_message,
)
from pycrdt._sync import create_sync_step1_message, create_sync_step2_message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from metaliverpool.service.access import ROLE_RANK, AccessDenied, NotFound
from metaliverpool.service.accounts import Account
from metaliverpool.service.documents import (
    MAX_ID_CHARS,
    ROOTS,
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
from metaliverpool.service.live_access import (
    ACCESS_CHANNEL,
    CLOSE_NOT_FOUND,
    CLOSE_ROLE_CHANGED,
    AccessChange,
    Revoked,
    current_roles,
    live_role,
)
from metaliverpool.service.live_limits import MAX_MESSAGE_BYTES, MAX_PRESENCE_IDS, RELOAD_INTERVAL_S
from metaliverpool.service.presence import (
    PresenceEntry,
    decode_awareness,
    encode_awareness,
    read_client_awareness,
    stamp_user,
)
from metaliverpool.service.yjs_update import (
    Reader,
    Update,
    UpdateRefused,
    check_references,
    deletes_covered,
    read_state_vector,
    read_update,
)
from metaliverpool.store.db import Database

MESSAGE_NOTICE = 100
MESSAGE_QUERY_AWARENESS = 3
EMPTY_STATE_VECTOR = b"\x00"
"""The encoded state vector of a document with nothing in it."""

HEARTBEAT_IDLE_S = 10.0
"""A connection sent nothing for this long gets :data:`HEARTBEAT_MESSAGE`."""
HEARTBEAT_CHECK_S = 5.0
"""How often the heartbeat timer looks (so the longest silence is about 15 s)."""
HEARTBEAT_MESSAGE = create_awareness_message(encode_awareness([]))

log = logging.getLogger(__name__)


class Connection(Protocol):
    """One client connection in a room, as the room sees it."""

    connection_id: str
    account: Account
    token: str
    role: str
    last_sent_s: float
    """``time.monotonic()`` when a message was last sent or queued to it."""

    def send(self, message: bytes) -> None:
        """Queue ``message`` for the client (never blocks)."""

    def end(self, code: int, reason: str) -> None:
        """Stop sending and close with ``code`` (in the background; never blocks)."""

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
        self._doc: Doc = Doc()
        self.connections: dict[str, Connection] = {}
        self.presence: dict[int, PresenceEntry] = {}
        self.client_ids: dict[str, set[int]] = {}
        self.lock = asyncio.Lock()
        self.reload_lock = asyncio.Lock()
        self.reloaded_s = -math.inf
        self._subscription: Subscription | None = None
        self._arrived: list[bytes] | None = None
        self._full_sync: bytes | None = None

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
        """Handle one message from ``connection``; malformed or refused ones get a notice and are dropped."""
        if not message:
            return
        what = "message"
        try:
            if len(message) > MAX_MESSAGE_BYTES:
                raise UpdateRefused(f"larger than {MAX_MESSAGE_BYTES} bytes")
            if message[0] == YMessageType.SYNC and len(message) >= 2:
                if message[1] == YSyncMessageType.SYNC_STEP1:
                    what = "sync step 1"
                    payload = _payload(message, 2)
                    read_state_vector(payload)
                    connection.send(self.sync_step2(payload))
                elif message[1] in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
                    what = "document update"
                    await self.accept_update(connection, _payload(message, 2))
            elif message[0] == YMessageType.AWARENESS:
                what = "awareness update"
                await self.accept_presence(connection, _payload(message, 1))
            elif message[0] == MESSAGE_QUERY_AWARENESS:
                states = [entry for entry in self.presence.values() if entry.state is not None]
                connection.send(create_awareness_message(encode_awareness(states)))
        except UpdateRefused as error:
            connection.send(notice_message("refused", [f"{what} refused: {error}"]))
        except (ValueError, RuntimeError, IndexError, UnicodeDecodeError) as error:
            connection.send(notice_message("refused", [f"malformed {what}: {error}"]))

    async def checked_update(self, update: bytes) -> Update:
        """``update`` read and checked against the document (reloaded from the database once if the update
        refers to structs the cache lacks: a fan-out message may have been lost)."""
        read = read_update(update, ROOTS, MAX_ID_CHARS)
        try:
            check_references(read, read_state_vector(self.doc.get_state()))
        except UpdateRefused as error:
            if not error.unknown:
                raise
            await self.refresh()
            check_references(read, read_state_vector(self.doc.get_state()))
        return read

    def changed_by(self, read: Update) -> bool:
        """Whether applying ``read`` would change the document: structs beyond its state vector, or
        deletions of what it has not deleted (a client's sync step 2 repeats the whole delete set)."""
        if read.writes(read_state_vector(self.doc.get_state())):
            return True
        if not read.deletes:
            return False
        deleted = read_update(self.doc.get_update(self.doc.get_state()), ROOTS, MAX_ID_CHARS).deletes
        return not deletes_covered(read.deletes, deleted)

    def sync_step2(self, state_vector: bytes) -> bytes:
        """The sync step 2 answering a client's state vector: what the room has and the client lacks.

        A client that has nothing (every newcomer, and every viewer) gets the full state, encoded once per
        state of the document and shared, not once per client.
        """
        if state_vector != EMPTY_STATE_VECTOR:
            return create_sync_step2_message(self.doc.get_update(state_vector))
        if self._full_sync is None:
            self._full_sync = create_sync_step2_message(self.doc.get_update())
        return self._full_sync

    @property
    def doc(self) -> Doc:
        """The room's copy of the document (replacing it forgets the shared full-state message)."""
        return self._doc

    @doc.setter
    def doc(self, doc: Doc) -> None:
        self._doc = doc
        self._full_sync = None

    async def accept_update(self, connection: Connection, update: bytes) -> None:
        """Check, apply, store and publish one document update from ``connection``.

        The whole update is refused, before anything is applied, when :meth:`checked_update` refuses it or
        when a read-only connection sends anything the document does not already hold. An editor's update
        is applied and, in the same transaction, every edit or comment the scenario format refuses is rolled
        back: the others receive only tombstones without content, and the author the roll-back.
        An empty update (the sync step 2 of a client with nothing new: every viewer's) costs nothing.
        """
        if is_empty_update(update):
            return
        read = await self.checked_update(update)
        if ROLE_RANK[connection.role] < ROLE_RANK["editor"]:
            if self.changed_by(read):
                raise UpdateRefused(f"your role is {connection.role}: you cannot edit")
            return
        refused: dict[str, dict[str, str]] = {}

        def check(doc: Doc) -> None:
            before = {"edits": read_edits(doc), "comments": read_comments(doc)}
            doc.apply_update(update)
            after = {"edits": read_edits(doc), "comments": read_comments(doc)}
            for root in ROOTS:
                keys = check_changes(before[root], after[root], connection.account.name, root)
                if keys:
                    refused[root] = keys
                    roll_back(doc, root, keys, before[root])

        def rights(session: Session) -> None:
            role = live_role(session, connection.token, self.scenario_id)[1]
            if ROLE_RANK[role] < ROLE_RANK["editor"]:
                raise Revoked(CLOSE_ROLE_CHANGED, f"your role is now {role}; reconnect")

        try:
            await self.change(check, connection.account.user_id, connection.connection_id, refused, rights)
        except Revoked as revoked:
            await self.revoke(connection, revoked)
            return
        except NotFound as gone:
            await self.revoke(connection, Revoked(CLOSE_NOT_FOUND, str(gone)))
            return
        if refused:
            lines = [f"{root} {key}: {why}" for root, keys in refused.items() for key, why in keys.items()]
            connection.send(notice_message("refused", lines))

    async def change(
        self,
        mutate: Callable[[Doc], None],
        user_id: int | None,
        connection_id: str = "",
        refused: dict[str, Any] | None = None,
        rights: Callable[[Session], None] | None = None,
    ) -> bytes:
        """Run ``mutate`` on the document in one transaction; store and publish the net change.

        The sender (``connection_id``) is skipped when nothing was refused (it has the change already);
        otherwise it receives the net change too, which rolls back its refused part. Returns the net
        update (empty updates are neither stored nor published). ``rights`` runs in the session that
        stores the update, before it: if it raises (:class:`Revoked`), nothing is stored or published; if
        the scenario was deleted meanwhile, :class:`NotFound` is raised and nothing is published. (A
        REST change's ``rights`` may raise :class:`NotFound` or :class:`AccessDenied` likewise.)
        """
        async with self.lock:
            state = self.doc.get_state()
            with self.doc.transaction():
                mutate(self.doc)
            self._full_sync = None  # a deletion changes the document but not its state vector
            update = self.doc.get_update(state)
            if is_empty_update(update):
                return update

            def store() -> None:
                with self.db.session() as session:
                    if rights is not None:
                        rights(session)
                    append_update(session, self.scenario_id, update, user_id)

            try:
                await anyio.to_thread.run_sync(store)
            except (Revoked, NotFound, AccessDenied):  # ``rights`` refused: nothing was stored
                await self._rebuild()
                raise
            except IntegrityError as error:
                # the scenario was deleted between the checks and the insert (its row is gone)
                await self._rebuild()
                raise NotFound(f"scenario {self.scenario_id} not found") from error
            except Exception:
                # The change is in memory but not stored: rebuild the cache from the database.
                log.exception("storing an update of scenario %s failed", self.scenario_id)
                await self._rebuild()
                raise
            skip = "" if refused else connection_id
            await self.fanout.publish(self.channel, Envelope("update", self.process_id, skip, update))
            return update

    async def revoke(self, connection: Connection, revoked: Revoked) -> None:
        """Take ``connection`` out of the room (it receives nothing more) and close it with the code."""
        await self.leave(connection)
        connection.end(revoked.code, revoked.reason)

    async def reauthorise(self, user_id: int | None) -> None:
        """Read again the rights of this room's connections (of ``user_id`` only, if given): close those
        that lost access, give the others their current role (with an ``info`` notice if it changed)."""
        targets = [c for c in self.connections.values() if user_id is None or c.account.user_id == user_id]
        if not targets:
            return

        def read() -> list[str | Revoked]:
            with self.db.session() as session:
                credentials = [(c.account.user_id, c.token) for c in targets]
                return current_roles(session, self.scenario_id, credentials, user_id is not None)

        for connection, verdict in zip(targets, await anyio.to_thread.run_sync(read), strict=True):
            if isinstance(verdict, Revoked):
                await self.revoke(connection, verdict)
            elif verdict != connection.role:
                connection.role = verdict
                connection.send(notice_message("info", [f"your role is now {verdict}"]))

    def heartbeat(self, idle_since_s: float) -> None:
        """Send :data:`HEARTBEAT_MESSAGE` to the connections sent nothing since ``idle_since_s``."""
        for connection in self.connections.values():
            if connection.last_sent_s <= idle_since_s:
                connection.send(HEARTBEAT_MESSAGE)

    async def _rebuild(self) -> None:
        """Replace the cached document by the stored one; updates from other processes that arrive while
        it loads are applied to it too (they may have been stored after the load read the database)."""
        self._arrived = []
        try:
            doc = await anyio.to_thread.run_sync(self._reload)
            for update in self._arrived:
                doc.apply_update(update)
            self.doc = doc
        finally:
            self._arrived = None

    def _reload(self) -> Doc:
        with self.db.session() as session:
            return load_doc(session, self.scenario_id)

    async def refresh(self) -> None:
        """Merge the stored document into the cache (it keeps whatever the fan-out brought meanwhile),
        at most once per :data:`~metaliverpool.service.live_limits.RELOAD_INTERVAL_S` (callers wait)."""
        async with self.reload_lock:
            await asyncio.sleep(max(0.0, self.reloaded_s + RELOAD_INTERVAL_S - time.monotonic()))
            self.reloaded_s = time.monotonic()
            async with self.lock:
                stored = await anyio.to_thread.run_sync(self._reload)
                stored.apply_update(self.doc.get_update())
                self.doc = stored

    async def accept_presence(self, connection: Connection, update: bytes) -> None:
        """Stamp a presence update with the connection's account and publish it.

        A connection may use at most :data:`~metaliverpool.service.live_limits.MAX_PRESENCE_IDS` client
        ids; entries of further ids are dropped with a notice.
        """
        account = connection.account
        user = {"name": account.name, "colour": account.colour, "role": connection.role}
        entries = stamp_user(read_client_awareness(update), user)
        owned = self.client_ids.setdefault(connection.connection_id, set())
        mine = []
        too_many = False
        for entry in entries:
            known = self.presence.get(entry.client_id)
            if known is not None and entry.client_id not in owned:
                continue  # another connection's client id: not yours to change
            if known is None and entry.state is None:
                continue  # removing what is not there (an echo of someone leaving): nothing to claim
            if entry.client_id not in owned and len(owned) >= MAX_PRESENCE_IDS:
                too_many = True
                continue
            owned.add(entry.client_id)
            mine.append(entry)
        if too_many:
            connection.send(
                notice_message("refused", [f"presence: at most {MAX_PRESENCE_IDS} client ids a connection"])
            )
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
                self._full_sync = None
                if self._arrived is not None:
                    self._arrived.append(envelope.payload)
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


def _payload(message: bytes, offset: int) -> bytes:
    """The length-prefixed payload of a message from ``offset``, which must end the message."""
    reader = Reader(message, offset)
    payload = reader.var_bytes()
    if not reader.at_end():
        raise UpdateRefused("bytes after the payload")
    return payload


class RoomRegistry:
    """The rooms open in this process; a room is opened on first use and closed when its last user leaves.

    On first use it subscribes to :data:`ACCESS_CHANNEL` (re-authorising its connections on every
    :class:`AccessChange`) and starts the heartbeat timer (one task per process).
    """

    def __init__(self, db: Database, fanout: Fanout) -> None:
        self.db = db
        self.fanout = fanout
        self.process_id = uuid.uuid4().hex
        self.rooms: dict[int, Room] = {}
        self.users: dict[int, int] = {}
        self._lock = asyncio.Lock()
        self._access: Subscription | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def acquire(self, scenario_id: int) -> Room:
        """The room of ``scenario_id`` (opened if needed); pair each call with :meth:`release`."""
        async with self._lock:
            if self._access is None:
                self._access = await self.fanout.subscribe(ACCESS_CHANNEL, self._on_access)
                self._heartbeat = asyncio.create_task(self._beat())
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

    async def change(
        self,
        scenario_id: int,
        mutate: Callable[[Doc], None],
        user_id: int | None,
        rights: Callable[[Session], None] | None = None,
    ) -> bytes:
        """Apply a server-side change (a comment from the REST API, say) through the scenario's room;
        ``rights`` as for :meth:`Room.change`."""
        room = await self.acquire(scenario_id)
        try:
            return await room.change(mutate, user_id, rights=rights)
        finally:
            await self.release(scenario_id)

    async def announce(self, change: AccessChange) -> None:
        """Tell every server process (this one too) to re-authorise the connections ``change`` names.

        Call it after the transaction that changed access has committed.
        """
        await self.fanout.publish(ACCESS_CHANNEL, Envelope("access", self.process_id, "", change.to_bytes()))

    async def _on_access(self, envelope: Envelope) -> None:
        if envelope.kind != "access":
            return
        try:
            change = AccessChange.from_bytes(envelope.payload)
            if change.scenario_id is None:
                rooms = list(self.rooms.values())
            else:
                rooms = [self.rooms[change.scenario_id]] if change.scenario_id in self.rooms else []
            for room in rooms:
                await room.reauthorise(change.user_id)
        except Exception:  # the fan-out's reader must survive (the next update checks rights anyway)
            log.exception("re-authorising after an access change failed")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_CHECK_S)
            idle_since_s = time.monotonic() - HEARTBEAT_IDLE_S
            for room in list(self.rooms.values()):
                room.heartbeat(idle_since_s)

    async def close(self) -> None:
        """Stop the heartbeat and the access subscription; close every room."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if self._access is not None:
            with contextlib.suppress(Exception):
                await self._access.close()
            self._access = None
        for room in list(self.rooms.values()):
            with contextlib.suppress(Exception):
                await room.close()
        self.rooms.clear()
        self.users.clear()

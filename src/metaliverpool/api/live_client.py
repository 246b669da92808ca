"""A Python client of the live endpoint (for tests, benchmarks and scripts): a synced pycrdt document.

It speaks the same Yjs sync/awareness protocol as the web client: on connect it answers the server's
sync step 1 and sends its own, then keeps its :class:`pycrdt.Doc` in step with the room. Local changes
made through :meth:`LiveClient.transact` are sent as one update; refusals arrive in :attr:`notices`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from typing import Any

import websockets
from pycrdt import (
    Doc,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_update_message,
    read_message,
)
from pycrdt._sync import create_sync_step1_message, create_sync_step2_message

from metaliverpool.api.live import SERVED_BY_HEADER
from metaliverpool.service.documents import new_doc
from metaliverpool.service.presence import PresenceEntry, decode_awareness, encode_awareness
from metaliverpool.service.rooms import MESSAGE_NOTICE


class LiveClient:
    """One connection to ``ws://.../api/scenarios/{id}/live`` with a local copy of the document."""

    def __init__(self, url: str, token: str, client_id: int | None = None) -> None:
        self.url = url
        self.token = token
        self.doc: Doc = new_doc()
        self.client_id = client_id if client_id is not None else random.randrange(1, 2**31)
        self.presence: dict[int, dict[str, Any]] = {}
        self.notices: list[dict[str, Any]] = []
        self.synced = asyncio.Event()
        self.changed = asyncio.Event()
        self.on_update: Callable[[bytes, float], None] | None = None
        self.close_code: int | None = None
        self.process: str | None = None
        """The server process holding the socket (its ``x-metaliverpool-process`` handshake header)."""
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._clock = 0
        self._pending: set[asyncio.Future[None]] = set()

    async def connect(self, timeout_s: float = 10.0) -> LiveClient:
        """Open the socket, sync, and wait until the server's state has arrived.

        Call it again after the socket closed to reconnect: the document is kept, so the sync sends the
        server whatever it lacks (local changes it never stored) and brings in what was missed.
        """
        self.synced.clear()
        self.close_code = None
        self._socket = await websockets.connect(
            f"{self.url}?token={self.token}", max_size=None, open_timeout=timeout_s, ping_interval=None
        )
        self.process = self._socket.response.headers.get(SERVED_BY_HEADER.decode())
        self._reader = asyncio.create_task(self._read())
        await self._socket.send(create_sync_step1_message(self.doc.get_state()))
        await asyncio.wait_for(self.synced.wait(), timeout_s)
        return self

    async def _read(self) -> None:
        try:
            async for message in self._socket:
                self._handle(bytes(message))
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._socket is not None and self._socket.close_code is not None:
                self.close_code = self._socket.close_code
            self.synced.set()
            self.changed.set()

    def _handle(self, message: bytes) -> None:
        received_s = time.perf_counter()
        if message[0] == YMessageType.SYNC:
            payload = read_message(message[2:])
            if message[1] == YSyncMessageType.SYNC_STEP1:
                reply = create_sync_step2_message(self.doc.get_update(payload))
                self._pending = {task for task in self._pending if not task.done()}
                self._pending.add(asyncio.ensure_future(self._socket.send(reply)))
            else:
                self.doc.apply_update(payload)
                if message[1] == YSyncMessageType.SYNC_STEP2:
                    self.synced.set()
                if self.on_update is not None:
                    self.on_update(payload, received_s)
                self.changed.set()
        elif message[0] == YMessageType.AWARENESS:
            for entry in decode_awareness(read_message(message[1:])):
                if entry.state is None:
                    self.presence.pop(entry.client_id, None)
                else:
                    self.presence[entry.client_id] = entry.state
            self.changed.set()
        elif message[0] == MESSAGE_NOTICE:
            self.notices.append(json.loads(read_message(message[1:])))
            self.changed.set()

    async def transact(self, change: Callable[[Doc], None]) -> bytes:
        """Apply ``change`` to the local document and send the resulting update; returns it."""
        state = self.doc.get_state()
        with self.doc.transaction():
            change(self.doc)
        update = self.doc.get_update(state)
        await self._socket.send(create_update_message(update))
        return update

    async def acknowledged(self, timeout_s: float = 10.0) -> None:
        """Wait until the server has handled everything sent so far (stored or refused it).

        The server handles a connection's messages in order, so the answer to a sync step 1 sent now
        arrives after every earlier update was dealt with. Raises ``ConnectionError`` if the socket closes.
        """
        self.synced.clear()
        await self._socket.send(create_sync_step1_message(self.doc.get_state()))
        await asyncio.wait_for(self.synced.wait(), timeout_s)
        if self.close_code is not None or self._reader is None or self._reader.done():
            raise ConnectionError(f"socket closed (code {self.close_code}) before the acknowledgement")

    async def closed(self) -> None:
        """Wait until the socket has closed (from either side)."""
        if self._reader is not None:
            await asyncio.shield(self._reader)

    async def send_raw(self, message: bytes) -> None:
        """Send a raw protocol message."""
        await self._socket.send(message)

    async def set_presence(self, state: dict[str, Any]) -> None:
        """Publish this client's awareness state (cursor, viewport, ...)."""
        self._clock += 1
        update = encode_awareness([PresenceEntry(self.client_id, self._clock, state)])
        await self._socket.send(create_awareness_message(update))

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
        """Wait until ``condition()`` is true (checked after every incoming message)."""
        deadline = time.monotonic() + timeout_s
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not met in time")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    async def close(self) -> None:
        """Close the socket."""
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

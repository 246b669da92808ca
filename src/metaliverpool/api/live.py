"""The live collaboration endpoint: one WebSocket per user and scenario, speaking the Yjs protocols.

``/api/scenarios/{id}/live`` authenticates with the ``ml_token`` cookie (browsers) or a ``token`` query
parameter (other clients), checks the Origin against the Host (no cross-site sockets), and hands the
connection to the scenario's :class:`~metaliverpool.service.rooms.Room`. The room re-checks the rights on
every update and closes the socket when they are withdrawn. Close codes (the table is in
:mod:`metaliverpool.service.live_access`): 4401 not signed in or signed out, 4403 another site's page,
4404 no such scenario (or private to this user, or deleted), all final; 4508 too far behind, 4509 role
changed while editing, 1012 server restarting, after which clients reconnect; 1003 a text frame (the
protocol is binary), 1009 a message above :data:`~metaliverpool.service.live_limits.MAX_MESSAGE_BYTES`
(uvicorn's ``ws_max_size``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from metaliverpool.api.context import ServerContext
from metaliverpool.api.deps import TOKEN_COOKIE
from metaliverpool.service.accounts import Account
from metaliverpool.service.live_access import CLOSE_BEHIND, CLOSE_NOT_ALLOWED, Revoked, live_role
from metaliverpool.service.live_limits import ReceiveBudget

router = APIRouter(tags=["live"])

SERVED_BY_HEADER = b"x-metaliverpool-process"
"""Handshake response header naming the server process (its room registry's random id)."""

MAX_QUEUED_MESSAGES = 20_000
"""A client with more unsent messages than this is disconnected (it reconnects and resyncs)."""


class SocketConnection:
    """A room connection over a WebSocket: messages queue and one task writes them in order."""

    def __init__(self, socket: WebSocket, account: Account, token: str, role: str) -> None:
        self.connection_id = uuid.uuid4().hex
        self.account = account
        self.token = token
        self.role = role
        self.socket = socket
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(MAX_QUEUED_MESSAGES)
        self.ended = False
        self.last_sent_s = time.monotonic()
        self.closer: asyncio.Future[None] | None = None
        self.writing = False
        self.writer = asyncio.create_task(self._write())

    def send(self, message: bytes) -> None:
        if self.ended:
            return
        self.last_sent_s = time.monotonic()
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.end(CLOSE_BEHIND, "too far behind; reconnect")

    def end(self, code: int, reason: str) -> None:
        """Stop sending (queued messages are dropped) and close the socket with ``code``."""
        if self.ended:
            return
        self.ended = True
        self.writer.cancel()
        self.closer = asyncio.ensure_future(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await self.socket.close(code=code, reason=reason)

    async def deliver(self, message: bytes) -> None:
        """Send at once when nothing is waiting before it (no task switch), else queue it behind."""
        if self.writing or not self.queue.empty() or self.ended:
            self.send(message)
            return
        self.last_sent_s = time.monotonic()
        self.writing = True
        try:
            await self.socket.send_bytes(message)
        finally:
            self.writing = False

    async def _write(self) -> None:
        while True:
            message = await self.queue.get()
            self.writing = True
            try:
                await self.socket.send_bytes(message)
            finally:
                self.writing = False

    async def close(self) -> None:
        self.writer.cancel()
        for task in (self.writer, self.closer):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


async def receive_frame(socket: WebSocket) -> bytes | None:
    """The next binary message, or None for a text message; raises ``WebSocketDisconnect`` on close."""
    message = await socket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    data: bytes | None = message.get("bytes")
    return data


def origin_allowed(socket: WebSocket) -> bool:
    """A browser's Origin must name the host it connects to (non-browser clients send none)."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == socket.headers.get("host")


@router.websocket("/api/scenarios/{scenario_id}/live")
async def live(socket: WebSocket, scenario_id: int) -> None:
    """Join the scenario's room."""
    context: ServerContext = socket.app.state.context
    token = socket.cookies.get(TOKEN_COOKIE) or socket.query_params.get("token") or ""

    def authorise() -> tuple[Account, str]:
        with context.db.session() as session:
            return live_role(session, token, scenario_id)

    # Which server process holds the socket (an opaque id; several processes may serve one address).
    await socket.accept(headers=[(SERVED_BY_HEADER, context.rooms.process_id.encode())])
    if not origin_allowed(socket):
        await socket.close(code=CLOSE_NOT_ALLOWED, reason="cross-origin connection refused")
        return
    try:
        account, role = await run_in_threadpool(authorise)
    except Revoked as revoked:
        await socket.close(code=revoked.code, reason=revoked.reason)
        return
    connection = SocketConnection(socket, account, token, role)
    room = await context.rooms.acquire(scenario_id)
    try:
        await room.join(connection)
        budget = ReceiveBudget()
        while not connection.ended:
            message = await receive_frame(socket)
            if message is None:
                connection.end(1003, "binary frames only")
                break
            # a socket that sends too much waits, unread (TCP pushes back on it), while the others go on
            await asyncio.sleep(budget.spend_message(len(message), time.monotonic()))
            if connection.ended:
                break
            await room.receive(connection, message)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        await connection.close()
        await room.leave(connection)
        await context.rooms.release(scenario_id)

"""The live collaboration endpoint: one WebSocket per user and scenario, speaking the Yjs protocols.

``/api/scenarios/{id}/live`` authenticates with the ``ml_token`` cookie (browsers) or a ``token`` query
parameter (other clients), checks the Origin against the Host (no cross-site sockets), and hands the
connection to the scenario's :class:`~metaliverpool.service.rooms.Room`. Close codes: 4401 not signed in,
4404 no such scenario (or private to others), 4408 the client fell too far behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from metaliverpool.api.context import ServerContext
from metaliverpool.api.deps import TOKEN_COOKIE
from metaliverpool.service.access import AuthRequired, NotFound, require_scenario
from metaliverpool.service.accounts import Account, resolve_token

router = APIRouter(tags=["live"])

SERVED_BY_HEADER = b"x-metaliverpool-process"
"""Handshake response header naming the server process (its room registry's random id)."""

MAX_QUEUED_MESSAGES = 20_000
"""A client with more unsent messages than this is disconnected (it reconnects and resyncs)."""


class SocketConnection:
    """A room connection over a WebSocket: messages queue and one task writes them in order."""

    def __init__(self, socket: WebSocket, account: Account, role: str) -> None:
        self.connection_id = uuid.uuid4().hex
        self.account = account
        self.role = role
        self.socket = socket
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(MAX_QUEUED_MESSAGES)
        self.overflowed = False
        self.closer: asyncio.Future[None] | None = None
        self.writing = False
        self.writer = asyncio.create_task(self._write())

    def send(self, message: bytes) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            self.writer.cancel()
            self.closer = asyncio.ensure_future(self._close_behind())

    async def _close_behind(self) -> None:
        with contextlib.suppress(Exception):
            await self.socket.close(code=4408, reason="too far behind; reconnect")

    async def deliver(self, message: bytes) -> None:
        """Send at once when nothing is waiting before it (no task switch), else queue it behind."""
        if self.writing or not self.queue.empty() or self.overflowed:
            self.send(message)
            return
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
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.writer


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
    token = socket.cookies.get(TOKEN_COOKIE) or socket.query_params.get("token")

    def authorise() -> tuple[Account, str]:
        with context.db.session() as session:
            account = resolve_token(session, token)
            return account, require_scenario(session, scenario_id, account.user_id, "viewer")[1]

    # Which server process holds the socket (an opaque id; several processes may serve one address).
    await socket.accept(headers=[(SERVED_BY_HEADER, context.rooms.process_id.encode())])
    if not origin_allowed(socket):
        await socket.close(code=4403, reason="cross-origin connection refused")
        return
    try:
        account, role = await run_in_threadpool(authorise)
    except AuthRequired as error:
        await socket.close(code=4401, reason=str(error)[:120])
        return
    except NotFound as error:
        await socket.close(code=4404, reason=str(error)[:120])
        return
    connection = SocketConnection(socket, account, role)
    room = await context.rooms.acquire(scenario_id)
    try:
        await room.join(connection)
        while not connection.overflowed:
            message = await socket.receive_bytes()
            await room.receive(connection, message)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        await connection.close()
        await room.leave(connection)
        await context.rooms.release(scenario_id)

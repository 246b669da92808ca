"""Fan-out of room messages between server processes, behind one small interface.

A room publishes every accepted document update and every presence change as an :class:`Envelope` on
the channel of its scenario; each process that has the room open receives it and forwards it to its own
connections. Access changes (a member removed, a scenario made private or deleted, a sign-out) travel as
``access`` envelopes on one channel that every process subscribes to
(:data:`~metaliverpool.service.live_access.ACCESS_CHANNEL`). :class:`InProcessFanout` serves one
process; :class:`RedisFanout` lets several server processes (sharing one PostgreSQL database) share
rooms through Redis pub/sub. The room never knows which one it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

ENVELOPE_KINDS = ("update", "awareness", "access")


@dataclass(frozen=True)
class Envelope:
    """One message for a room: its kind, the sending process and connection, and the Yjs payload."""

    kind: str
    process_id: str
    connection_id: str
    payload: bytes

    def to_bytes(self) -> bytes:
        """Wire form: three length-prefixed UTF-8 strings/bytes (kind, process, connection) + payload."""
        head = b"".join(
            struct.pack("<H", len(part)) + part
            for part in (self.kind.encode(), self.process_id.encode(), self.connection_id.encode())
        )
        return head + self.payload

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        """Parse :meth:`to_bytes` output."""
        parts = []
        offset = 0
        for _ in range(3):
            (length,) = struct.unpack_from("<H", data, offset)
            offset += 2
            parts.append(data[offset : offset + length].decode())
            offset += length
        return cls(parts[0], parts[1], parts[2], data[offset:])


Handler = Callable[[Envelope], Awaitable[None]]


class Subscription(Protocol):
    """A live subscription; ``close`` stops delivery."""

    async def close(self) -> None: ...


class Fanout(Protocol):
    """Publish to a channel; subscribe a handler to a channel. Delivery includes the publisher itself."""

    async def publish(self, channel: str, envelope: Envelope) -> None: ...

    async def subscribe(self, channel: str, handler: Handler) -> Subscription: ...

    async def close(self) -> None: ...


class _LocalSubscription:
    def __init__(self, owner: InProcessFanout, channel: str, handler: Handler) -> None:
        self._owner = owner
        self._channel = channel
        self._handler = handler

    async def close(self) -> None:
        handlers = self._owner.handlers.get(self._channel, [])
        if self._handler in handlers:
            handlers.remove(self._handler)
        if not handlers:
            self._owner.handlers.pop(self._channel, None)


class InProcessFanout:
    """Fan-out inside one process: handlers are called directly, in subscription order."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[Handler]] = {}

    async def publish(self, channel: str, envelope: Envelope) -> None:
        for handler in list(self.handlers.get(channel, [])):
            await handler(envelope)

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        self.handlers.setdefault(channel, []).append(handler)
        return _LocalSubscription(self, channel, handler)

    async def close(self) -> None:
        self.handlers.clear()


class _RedisSubscription:
    def __init__(self, owner: RedisFanout, channel: str, handler: Handler) -> None:
        self._owner = owner
        self._channel = channel
        self._handler = handler

    async def close(self) -> None:
        await self._owner.unsubscribe(self._channel, self._handler)


class RedisFanout:
    """Fan-out through Redis pub/sub (``redis.asyncio``): one Redis channel per room channel.

    ``prefix`` keeps test runs and deployments apart on a shared Redis. One reader task per process
    dispatches incoming messages to the local handlers of their channel, in arrival order.
    """

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "metaliverpool") -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url)
        self._pubsub = self._redis.pubsub()
        self._prefix = prefix
        self._handlers: dict[str, list[Handler]] = {}
        self._reader: asyncio.Task[None] | None = None

    def _key(self, channel: str) -> str:
        return f"{self._prefix}:{channel}"

    async def publish(self, channel: str, envelope: Envelope) -> None:
        await self._redis.publish(self._key(channel), envelope.to_bytes())

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        handlers = self._handlers.setdefault(channel, [])
        handlers.append(handler)
        if len(handlers) == 1:
            await self._pubsub.subscribe(self._key(channel))
        if self._reader is None:
            self._reader = asyncio.create_task(self._read())
        return _RedisSubscription(self, channel, handler)

    async def unsubscribe(self, channel: str, handler: Handler) -> None:
        """Stop delivering ``channel`` to ``handler`` (and leave the Redis channel if none is left)."""
        handlers = self._handlers.get(channel, [])
        if handler in handlers:
            handlers.remove(handler)
        if not handlers and channel in self._handlers:
            del self._handlers[channel]
            await self._pubsub.unsubscribe(self._key(channel))

    async def _read(self) -> None:
        cut = len(self._prefix) + 1
        while True:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"].decode()[cut:]
            envelope = Envelope.from_bytes(message["data"])
            for handler in list(self._handlers.get(channel, [])):
                await handler(envelope)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        await self._redis.aclose()

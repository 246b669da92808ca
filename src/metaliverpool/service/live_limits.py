"""The bounds of what one live-socket message may carry, defined once (``docs/web.md``, "Live limits").

The server (``metaliverpool serve`` and the test servers) gives :data:`MAX_MESSAGE_BYTES` to uvicorn as
its WebSocket maximum message size, and the room checks it again, so a larger message never reaches the
Yjs reader. Everything else is checked by :mod:`metaliverpool.service.yjs_update` (document updates) and
:mod:`metaliverpool.service.presence` (awareness) before pycrdt or ``json`` parse a byte of it.
"""

from __future__ import annotations

from metaliverpool.service.rate_limits import TokenBucket

MAX_MESSAGE_BYTES = 1024 * 1024
"""Largest WebSocket message accepted (bytes): uvicorn's ``ws_max_size`` and the room's own check."""

MAX_UPDATE_CLIENTS = 1_000
"""Most Yjs client ids with structs in one document update."""

MAX_UPDATE_STRUCTS = 10_000
"""Most structs (items and GC ranges) in one document update."""

MAX_DELETE_RANGES = 200_000
"""Most delete-set ranges in one document update (a client's sync step 2 carries the whole delete set)."""

MAX_ANY_DEPTH = 16
"""Deepest nesting of a value (a scalar at the top is depth 0; ``{"a": [1]}`` is depth 2)."""

MAX_ANY_NODES = 100_000
"""Most values (objects, arrays and scalars together) in one document update."""

MAX_CLOCK = 2**32 - 1
"""Largest Yjs clock (the Rust Yjs of pycrdt counts clocks in 32 bits)."""

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest client id or awareness clock (JavaScript's largest exact integer)."""

RELOAD_INTERVAL_S = 1.0
"""Shortest time between two reloads of a room's document from the database (an update with unknown
references waits for its turn), so updates with gaps cannot make a room read its rows in a loop."""

MAX_PRESENCE_IDS = 4
"""Most awareness client ids one connection may use."""

MAX_PRESENCE_ENTRIES = 64
"""Most awareness states in one message (a stock y-websocket client also echoes others' changes)."""

MAX_PRESENCE_STATE_BYTES = 8 * 1024
"""Largest awareness state of one client (bytes of UTF-8 JSON)."""

MAX_PRESENCE_DEPTH = 8
"""Deepest nesting of an awareness state's JSON (``{"cursor": {"lon": 1}}`` is depth 2)."""

RECEIVE_BYTES_PER_S = 2 * 1024 * 1024
"""What one connection may send, sustained (bytes a second): beyond it the server stops reading that
socket for a while (TCP pushes back on the sender), so no socket can keep the checks busy on a core."""

RECEIVE_BURST_BYTES = 4 * MAX_MESSAGE_BYTES
"""What one connection may send at once before :data:`RECEIVE_BYTES_PER_S` applies (bytes): four
largest messages, so a client's first sync is never slowed."""

RECEIVE_MESSAGE_COST_BYTES = 512
"""Bytes each message counts for on top of its length, so floods of tiny messages are paced too."""


class ReceiveBudget(TokenBucket):
    """A token bucket of bytes for one connection: :meth:`spend_message` says how long to wait before
    handling a message so that the connection stays within :data:`RECEIVE_BYTES_PER_S` after a burst of
    :data:`RECEIVE_BURST_BYTES`."""

    def __init__(
        self, rate_bytes_per_s: float = RECEIVE_BYTES_PER_S, burst_bytes: float = RECEIVE_BURST_BYTES
    ) -> None:
        super().__init__(rate_bytes_per_s, burst_bytes)

    def spend_message(self, size_bytes: int, now_s: float) -> float:
        """Take a message of ``size_bytes`` at monotonic time ``now_s``; returns the wait (seconds)."""
        return self.spend(size_bytes + RECEIVE_MESSAGE_COST_BYTES, now_s)

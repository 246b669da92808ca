"""Presence: the Yjs awareness protocol's updates, decoded, stamped with the real user and re-encoded.

An awareness update is ``varuint n`` then, ``n`` times, ``varuint client_id``, ``varuint clock`` and a
``varstring`` JSON state (``null`` when the client left). The client puts its cursor (``cursor``:
``{lon, lat}``), its viewport (``viewport``: ``{lon, lat, zoom, bearing_deg, pitch_deg}``) and what it is
editing in the state; the server overwrites ``user`` with the signed-in account's name, colour and role,
so nobody can wear another user's name.

A client's update is read by :func:`read_client_awareness`, which refuses, before ``json`` parses it,
more than :data:`~metaliverpool.service.live_limits.MAX_PRESENCE_ENTRIES` states, a state larger than
:data:`~metaliverpool.service.live_limits.MAX_PRESENCE_STATE_BYTES` or nested deeper than
:data:`~metaliverpool.service.live_limits.MAX_PRESENCE_DEPTH`, a clock or client id above 2^53 - 1, and
JSON's non-standard ``NaN``/``Infinity`` (which browsers cannot parse).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from metaliverpool.service.live_limits import (
    MAX_PRESENCE_DEPTH,
    MAX_PRESENCE_ENTRIES,
    MAX_PRESENCE_STATE_BYTES,
    MAX_SAFE_INTEGER,
)

JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
JSON_BRACKET = re.compile(rb"[\[\]{}]")


@dataclass(frozen=True)
class PresenceEntry:
    """One client's awareness state at a clock (``state`` None means the client left)."""

    client_id: int
    clock: int
    state: dict[str, Any] | None


def _write_var_uint(out: bytearray, number: int) -> None:
    while number > 127:
        out.append(128 | (number & 127))
        number >>= 7
    out.append(number)


def _read_var_uint(data: bytes, offset: int) -> tuple[int, int]:
    number = 0
    shift = 0
    while True:
        if offset >= len(data):
            raise ValueError("truncated varuint")
        byte = data[offset]
        offset += 1
        number |= (byte & 127) << shift
        shift += 7
        if byte < 128:
            if number > MAX_SAFE_INTEGER:
                raise ValueError(f"a client id or clock above {MAX_SAFE_INTEGER}")
            return number, offset
        if shift > 56:
            raise ValueError("varuint too long")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text[:20]} is beyond a double")
    return number


def json_depth(text: bytes) -> int:
    """How deep the arrays and objects of JSON ``text`` nest (strings skipped; no parsing)."""
    depth = deepest = 0
    for bracket in JSON_BRACKET.findall(JSON_STRING.sub(b"", text)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


def decode_awareness(update: bytes, bounded: bool = False) -> list[PresenceEntry]:
    """Entries of an awareness update; raises ``ValueError`` if it is malformed.

    ``bounded`` (a client's update) refuses, before any state is parsed, more than
    :data:`~metaliverpool.service.live_limits.MAX_PRESENCE_ENTRIES` entries and a state larger than
    :data:`~metaliverpool.service.live_limits.MAX_PRESENCE_STATE_BYTES` or nested deeper than
    :data:`~metaliverpool.service.live_limits.MAX_PRESENCE_DEPTH`.
    """
    count, offset = _read_var_uint(update, 0)
    if bounded and count > MAX_PRESENCE_ENTRIES:
        raise ValueError(f"more than {MAX_PRESENCE_ENTRIES} awareness states in one message")
    entries = []
    for _ in range(count):
        client_id, offset = _read_var_uint(update, offset)
        clock, offset = _read_var_uint(update, offset)
        length, offset = _read_var_uint(update, offset)
        if offset + length > len(update):
            raise ValueError("truncated awareness state")
        raw = update[offset : offset + length]
        offset += length
        if bounded:
            if length > MAX_PRESENCE_STATE_BYTES:
                raise ValueError(f"an awareness state is larger than {MAX_PRESENCE_STATE_BYTES} bytes")
            if json_depth(raw) > MAX_PRESENCE_DEPTH:
                raise ValueError(f"an awareness state is nested deeper than {MAX_PRESENCE_DEPTH} levels")
        state = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant, parse_float=_finite_float)
        if state is not None and not isinstance(state, dict):
            raise ValueError("an awareness state is an object or null")
        entries.append(PresenceEntry(client_id, clock, state))
    if offset != len(update):
        raise ValueError("bytes after the awareness states")
    return entries


def read_client_awareness(update: bytes) -> list[PresenceEntry]:
    """A client's awareness update, within the limits of :mod:`~metaliverpool.service.live_limits`."""
    return decode_awareness(update, bounded=True)


def encode_awareness(entries: list[PresenceEntry]) -> bytes:
    """The awareness update carrying ``entries``."""
    out = bytearray()
    _write_var_uint(out, len(entries))
    for entry in entries:
        _write_var_uint(out, entry.client_id)
        _write_var_uint(out, entry.clock)
        text = json.dumps(entry.state, separators=(",", ":")).encode("utf-8")
        _write_var_uint(out, len(text))
        out += text
    return bytes(out)


def stamp_user(entries: list[PresenceEntry], user: dict[str, Any]) -> list[PresenceEntry]:
    """The entries with ``state["user"]`` replaced by ``user`` (states that left stay None)."""
    stamped = []
    for entry in entries:
        state = None if entry.state is None else {**entry.state, "user": user}
        stamped.append(PresenceEntry(entry.client_id, entry.clock, state))
    return stamped

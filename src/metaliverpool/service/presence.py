"""Presence: the Yjs awareness protocol's updates, decoded, stamped with the real user and re-encoded.

An awareness update is ``varuint n`` then, ``n`` times, ``varuint client_id``, ``varuint clock`` and a
``varstring`` JSON state (``null`` when the client left). The client puts its cursor (``cursor``:
``{lon, lat}``), its viewport (``viewport``: ``{lon, lat, zoom, bearing_deg, pitch_deg}``) and what it is
editing in the state; the server overwrites ``user`` with the signed-in account's name, colour and role,
so nobody can wear another user's name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
            return number, offset


def decode_awareness(update: bytes) -> list[PresenceEntry]:
    """Entries of an awareness update; raises ``ValueError`` if it is malformed."""
    count, offset = _read_var_uint(update, 0)
    entries = []
    for _ in range(count):
        client_id, offset = _read_var_uint(update, offset)
        clock, offset = _read_var_uint(update, offset)
        length, offset = _read_var_uint(update, offset)
        if offset + length > len(update):
            raise ValueError("truncated awareness state")
        text = update[offset : offset + length].decode("utf-8")
        offset += length
        state = json.loads(text)
        if state is not None and not isinstance(state, dict):
            raise ValueError("an awareness state is an object or null")
        entries.append(PresenceEntry(client_id, clock, state))
    return entries


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

"""Hand-built Yjs v1 bytes for the tests: lib0 numbers, strings and values, updates and socket messages.

These write what an attacker could send (deep values, other roots, list items, parents by id, gaps), which
pycrdt itself refuses to produce or would crash on.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any


def var_uint(number: int) -> bytes:
    """lib0 varuint."""
    out = bytearray()
    while number > 127:
        out.append(128 | (number & 127))
        number >>= 7
    out.append(number)
    return bytes(out)


def var_int(number: int) -> bytes:
    """lib0 varint: sign in bit 6 of the first byte, six bits of value, then 7-bit groups."""
    magnitude = abs(number)
    first = (magnitude & 0x3F) | (0x40 if number < 0 else 0) | (0x80 if magnitude > 0x3F else 0)
    return bytes([first]) + (var_uint(magnitude >> 6) if magnitude > 0x3F else b"")


def var_string(text: str) -> bytes:
    """lib0 varstring."""
    data = text.encode("utf-8")
    return var_uint(len(data)) + data


def any_value(value: Any) -> bytes:
    """lib0 writeAny of a JSON-like value (floats as float64, so NaN and infinities can be written)."""
    if value is None:
        return b"\x7e"
    if value is True:
        return b"\x78"
    if value is False:
        return b"\x79"
    if isinstance(value, int) and abs(value) < 2**53:
        return b"\x7d" + var_int(value)
    if isinstance(value, float | int):
        return b"\x7b" + struct.pack(">d", float(value))
    if isinstance(value, str):
        return b"\x77" + var_string(value)
    if isinstance(value, dict):
        return (
            b"\x76" + var_uint(len(value)) + b"".join(var_string(k) + any_value(v) for k, v in value.items())
        )
    if isinstance(value, list):
        return b"\x75" + var_uint(len(value)) + b"".join(any_value(item) for item in value)
    raise TypeError(type(value))


def deep_array(depth: int, leaf: bytes = b"\x7e") -> bytes:
    """An ``Any`` array nested ``depth`` levels around ``leaf`` (built without recursion)."""
    return b"\x75\x01" * depth + leaf


NAN = any_value(math.nan)
INFINITY = any_value(math.inf)


def item(
    value: bytes,
    root: str | None = "edits",
    key: str | None = "k",
    origin: tuple[int, int] | None = None,
    parent_id: tuple[int, int] | None = None,
) -> bytes:
    """One Item struct with ContentAny of one value: under ``root``/``key``, after ``origin``, or under the
    item ``parent_id``; ``key=None`` makes a list item."""
    info = 8 | (0x80 if origin else 0) | (0x20 if key is not None else 0)
    out = bytes([info])
    if origin:
        out += var_uint(origin[0]) + var_uint(origin[1])
    elif parent_id:
        out += b"\x00" + var_uint(parent_id[0]) + var_uint(parent_id[1])
    else:
        out += b"\x01" + var_string(root or "")
    if origin is None and key is not None:
        out += var_string(key)
    return out + b"\x01" + value


def update(
    client: int,
    clock: int,
    structs: list[bytes],
    deletes: Sequence[tuple[int, int, int]] = (),
) -> bytes:
    """A v1 update with ``structs`` of one client from ``clock``, then a delete set."""
    out = var_uint(1) + var_uint(len(structs)) + var_uint(client) + var_uint(clock) + b"".join(structs)
    clients: dict[int, list[tuple[int, int]]] = {}
    for owner, start, length in deletes:
        clients.setdefault(owner, []).append((start, length))
    out += var_uint(len(clients))
    for owner, ranges in clients.items():
        out += (
            var_uint(owner) + var_uint(len(ranges)) + b"".join(var_uint(a) + var_uint(b) for a, b in ranges)
        )
    return out


def sync_update_message(payload: bytes) -> bytes:
    """A y-protocols sync update message (type 0, sub-type 2)."""
    return b"\x00\x02" + var_uint(len(payload)) + payload


def sync_message(kind: int, payload: bytes) -> bytes:
    """A y-protocols sync message of sub-type ``kind`` (0 step 1, 1 step 2, 2 update)."""
    return bytes([0, kind]) + var_uint(len(payload)) + payload


def awareness_update(entries: list[tuple[int, int, bytes]]) -> bytes:
    """An awareness update of ``(client_id, clock, raw JSON state)`` entries."""
    return var_uint(len(entries)) + b"".join(
        var_uint(client) + var_uint(clock) + var_uint(len(state)) + state for client, clock, state in entries
    )


def awareness_message(entries: list[tuple[int, int, bytes]]) -> bytes:
    """An awareness message (type 1) of ``(client_id, clock, raw JSON state)`` entries."""
    body = awareness_update(entries)
    return b"\x01" + var_uint(len(body)) + body

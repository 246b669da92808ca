"""A reader and checker of Yjs v1 updates, in pure Python, run before pycrdt sees a byte of them.

The encoding is lib0's (``varuint``: 7 bits a byte, least significant first; ``varint``: sign in bit 6 of
the first byte; ``varstring``: a varuint byte length then UTF-8; ``Any``: a type byte then its value) in
Yjs's update layout: ``varuint`` number of clients, then per client ``varuint`` struct count, client id
and first clock, then its structs (an info byte: bits 0-4 the content ref, bit 7 an origin id follows,
bit 6 a right-origin id follows, bit 5 a parent key follows; an item with neither origin is followed by
its parent, a root name or an id, and its parent key); then the delete set (``varuint`` clients, per
client its id, a range count and ``clock, length`` pairs).

:func:`read_update` refuses (:class:`UpdateRefused`, with the reason) everything the scenario document
does not use, without looking at the document: GC ranges and items only (no Skip), item content
``ContentAny`` of one JSON value (undefined counts as null; no binary, NaN or infinities) or
``ContentDeleted``, values nested at most :data:`~metaliverpool.service.live_limits.MAX_ANY_DEPTH`
deep, a written parent that is one of the document's root maps *with* a key; and the byte, struct, range
and value counts of :mod:`~metaliverpool.service.live_limits`. :func:`check_references` then checks the
update against the document's state vector: every client's structs continue at or before the document's
clock for it, and every origin, right origin and deleted range lies in the document or in structs read
earlier in the update, so pycrdt applies all of it and nothing stays pending. Together they keep the
recursion of pycrdt's decoder (a stack overflow at about 20,000 levels) and Python's (1,000) out of reach.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from metaliverpool.service.live_limits import (
    MAX_ANY_DEPTH,
    MAX_ANY_NODES,
    MAX_CLOCK,
    MAX_DELETE_RANGES,
    MAX_MESSAGE_BYTES,
    MAX_SAFE_INTEGER,
    MAX_UPDATE_CLIENTS,
    MAX_UPDATE_STRUCTS,
)

CONTENT_GC = 0
CONTENT_DELETED = 1
CONTENT_ANY = 8
CONTENT_SKIP = 10
REFUSED_CONTENT = {
    2: "JSON content",
    3: "binary content",
    4: "string content (Y.Text)",
    5: "embed content",
    6: "format content",
    7: "a nested Y type",
    9: "a sub-document",
    CONTENT_SKIP: "a Skip struct (a gap)",
}
"""Yjs content refs the scenario document never holds, with the name a refusal gives them."""

ORIGIN_BIT = 0x80
RIGHT_ORIGIN_BIT = 0x40
PARENT_SUB_BIT = 0x20
CONTENT_BITS = 0x1F

Id = tuple[int, int]
"""A Yjs struct id: (client, clock)."""


class UpdateRefused(ValueError):
    """An update (or state vector) the room does not apply; ``unknown`` marks references it cannot place."""

    def __init__(self, reason: str, unknown: bool = False) -> None:
        super().__init__(reason)
        self.unknown = unknown


@dataclass(frozen=True, slots=True)
class Struct:
    """One struct of an update: a GC range or an item (``values`` holds a ContentAny item's values)."""

    client: int
    clock: int
    length: int
    content: int
    origin: Id | None = None
    right_origin: Id | None = None
    parent: str | None = None
    parent_sub: str | None = None
    values: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Update:
    """A read update: its structs in wire order and its delete set as ``(client, clock, length)``."""

    structs: tuple[Struct, ...]
    deletes: tuple[tuple[int, int, int], ...]

    def writes(self, state: dict[int, int]) -> bool:
        """Whether any struct lies beyond the document's ``state`` vector (new content or tombstones)."""
        return any(item.clock + item.length > state.get(item.client, 0) for item in self.structs)


class Reader:
    """lib0 v1 decoding of ``data`` from ``pos``, refusing truncated or out-of-range numbers."""

    __slots__ = ("data", "nodes", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.nodes = 0

    def at_end(self) -> bool:
        """Whether every byte has been read."""
        return self.pos >= len(self.data)

    def byte(self) -> int:
        """One unsigned byte."""
        if self.pos >= len(self.data):
            raise UpdateRefused("truncated")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def var_uint(self, limit: int = MAX_SAFE_INTEGER) -> int:
        """A varuint, at most ``limit``."""
        data = self.data
        number = 0
        shift = 0
        while True:
            if self.pos >= len(data):
                raise UpdateRefused("truncated number")
            byte = data[self.pos]
            self.pos += 1
            number |= (byte & 0x7F) << shift
            if byte < 0x80:
                break
            shift += 7
            if shift > 56:
                raise UpdateRefused("number too long")
        if number > limit:
            raise UpdateRefused(f"number {number} above {limit}")
        return number

    def var_int(self) -> int:
        """A lib0 varint (sign in bit 6 of the first byte), within ±2^53."""
        first = self.byte()
        number = first & 0x3F
        negative = bool(first & 0x40)
        if first & 0x80:
            number |= self.var_uint() << 6
            if number > MAX_SAFE_INTEGER:
                raise UpdateRefused("integer out of range")
        return -number if negative else number

    def var_bytes(self) -> bytes:
        """A varuint length, then that many bytes."""
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise UpdateRefused("truncated bytes")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def var_string(self) -> str:
        """A varuint byte length, then UTF-8."""
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise UpdateRefused("a string is not UTF-8") from error

    def fixed(self, size: int) -> bytes:
        """``size`` raw bytes."""
        end = self.pos + size
        if end > len(self.data):
            raise UpdateRefused("truncated number")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def json_value(self, level: int = 0) -> Any:
        """A lib0 ``Any`` that JSON can hold: finite numbers, strings, booleans, null (or undefined), objects,
        arrays."""
        if level > MAX_ANY_DEPTH:
            raise UpdateRefused(f"a value is nested deeper than {MAX_ANY_DEPTH} levels")
        self.nodes += 1
        if self.nodes > MAX_ANY_NODES:
            raise UpdateRefused(f"more than {MAX_ANY_NODES} values")
        kind = self.byte()
        if kind in (126, 127):
            return (
                None  # null, or JavaScript's undefined (a missing optional field), which pycrdt reads as None
            )
        if kind == 125:
            return self.var_int()
        if kind in (124, 123):
            (number,) = struct.unpack(">f" if kind == 124 else ">d", self.fixed(4 if kind == 124 else 8))
            if not math.isfinite(number):
                raise UpdateRefused("a number is NaN or infinite")
            return number
        if kind == 122:
            return struct.unpack(">q", self.fixed(8))[0]
        if kind in (121, 120):
            return kind == 120
        if kind == 119:
            return self.var_string()
        if kind == 118:
            return {self.var_string(): self.json_value(level + 1) for _ in range(self.var_uint())}
        if kind == 117:
            return [self.json_value(level + 1) for _ in range(self.var_uint())]
        if kind == 116:
            raise UpdateRefused("a binary value")
        raise UpdateRefused(f"unknown value type {kind}")

    def struct_id(self) -> Id:
        """A struct id: client, clock."""
        return self.var_uint(), self.var_uint(MAX_CLOCK)


def read_update(data: bytes, roots: Collection[str], max_key_chars: int) -> Update:
    """Read a v1 update and refuse what the scenario document (root maps ``roots``) never holds.

    ``max_key_chars`` bounds a map key. Raises :class:`UpdateRefused` naming the first problem.
    """
    if len(data) > MAX_MESSAGE_BYTES:
        raise UpdateRefused(f"larger than {MAX_MESSAGE_BYTES} bytes")
    reader = Reader(data)
    structs: list[Struct] = []
    seen: set[int] = set()
    for _ in range(reader.var_uint(MAX_UPDATE_CLIENTS)):
        count = reader.var_uint(MAX_UPDATE_STRUCTS - len(structs))
        client = reader.var_uint()
        if client in seen:
            raise UpdateRefused(f"client {client} appears twice")
        seen.add(client)
        clock = reader.var_uint(MAX_CLOCK)
        for _ in range(count):
            item = _read_struct(reader, client, clock, roots, max_key_chars)
            clock += item.length
            if clock > MAX_CLOCK:
                raise UpdateRefused(f"a clock above {MAX_CLOCK}")
            structs.append(item)
    deletes: list[tuple[int, int, int]] = []
    for _ in range(reader.var_uint(MAX_DELETE_RANGES)):
        client = reader.var_uint()
        for _ in range(reader.var_uint(MAX_DELETE_RANGES - len(deletes))):
            clock, length = reader.var_uint(MAX_CLOCK), reader.var_uint(MAX_CLOCK)
            if length == 0 or clock + length > MAX_CLOCK:
                raise UpdateRefused("a delete range is empty or beyond the largest clock")
            deletes.append((client, clock, length))
    if not reader.at_end():
        raise UpdateRefused("bytes after the delete set")
    return Update(tuple(structs), tuple(deletes))


def _read_struct(
    reader: Reader, client: int, clock: int, roots: Collection[str], max_key_chars: int
) -> Struct:
    info = reader.byte()
    content = info & CONTENT_BITS
    if content == CONTENT_GC:
        return Struct(client, clock, _length(reader), CONTENT_GC)
    if content not in (CONTENT_DELETED, CONTENT_ANY):
        raise UpdateRefused(REFUSED_CONTENT.get(content, f"unknown content type {content}"))
    origin = reader.struct_id() if info & ORIGIN_BIT else None
    right_origin = reader.struct_id() if info & RIGHT_ORIGIN_BIT else None
    parent = parent_sub = None
    if origin is None and right_origin is None:
        if reader.var_uint() != 1:
            raise UpdateRefused("an item's parent is given by id, not as a root map")
        parent = reader.var_string()
        if parent not in roots:
            raise UpdateRefused(f"the root {parent[:64]!r} is not one of {sorted(roots)}")
        if not info & PARENT_SUB_BIT:
            raise UpdateRefused(f"a list item in {parent!r} (only keys are allowed)")
        parent_sub = reader.var_string()
        if len(parent_sub) > max_key_chars:
            raise UpdateRefused(f"a key longer than {max_key_chars} characters")
    if content == CONTENT_DELETED:
        return Struct(client, clock, _length(reader), content, origin, right_origin, parent, parent_sub)
    if reader.var_uint() != 1:
        raise UpdateRefused("a map value holds exactly one value")
    values = (reader.json_value(),)
    return Struct(client, clock, 1, content, origin, right_origin, parent, parent_sub, values)


def _length(reader: Reader) -> int:
    length = reader.var_uint(MAX_CLOCK)
    if length == 0:
        raise UpdateRefused("a struct of length 0")
    return length


def read_state_vector(data: bytes) -> dict[int, int]:
    """A state vector (``varuint`` count, then client and clock pairs), each client once."""
    reader = Reader(data)
    state: dict[int, int] = {}
    for _ in range(reader.var_uint(len(data))):
        client = reader.var_uint()
        state[client] = reader.var_uint(MAX_CLOCK)
    if not reader.at_end():
        raise UpdateRefused("bytes after the state vector")
    return state


def check_references(update: Update, state: dict[int, int]) -> None:
    """Refuse (``unknown=True``) an update that would leave anything pending in a document at ``state``.

    Each client's structs must continue at or before the document's clock for it; origins and right origins
    must point into the document or into structs read earlier in the update; delete ranges must lie within
    the document and the update.
    """
    reached: dict[int, int] = {}
    for item in update.structs:
        known = max(state.get(item.client, 0), reached.get(item.client, 0))
        if item.clock > known:
            raise UpdateRefused(
                f"client {item.client} continues at clock {item.clock}, the document is at {known}",
                unknown=True,
            )
        for ref in (item.origin, item.right_origin):
            if ref is not None and not (ref[1] < state.get(ref[0], 0) or ref[1] < reached.get(ref[0], 0)):
                raise UpdateRefused(f"a reference to unknown struct {ref}", unknown=True)
        reached[item.client] = max(reached.get(item.client, 0), item.clock + item.length)
    for client, clock, length in update.deletes:
        if clock + length > max(state.get(client, 0), reached.get(client, 0)):
            raise UpdateRefused(f"a deletion of unknown structs of client {client}", unknown=True)


def deletes_covered(deletes: tuple[tuple[int, int, int], ...], by: tuple[tuple[int, int, int], ...]) -> bool:
    """Whether every range of ``deletes`` lies inside the union of the ranges ``by``."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for client, clock, length in by:
        spans.setdefault(client, []).append((clock, clock + length))
    merged: dict[int, list[tuple[int, int]]] = {}
    for client, ranges in spans.items():
        ranges.sort()
        out: list[tuple[int, int]] = []
        for start, end in ranges:
            if out and start <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
        merged[client] = out
    for client, clock, length in deletes:
        if not any(start <= clock and clock + length <= end for start, end in merged.get(client, ())):
            return False
    return True

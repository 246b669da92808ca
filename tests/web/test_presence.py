"""Reading a client's awareness update: the bounds hold before ``json`` parses anything."""

from __future__ import annotations

import pytest

from metaliverpool.service.live_limits import MAX_PRESENCE_ENTRIES, MAX_PRESENCE_STATE_BYTES, MAX_SAFE_INTEGER
from metaliverpool.service.presence import PresenceEntry, decode_awareness, json_depth, read_client_awareness
from web.yjs_bytes import awareness_update as body

CURSOR = b'{"cursor":{"lon":-2.98,"lat":53.4}}'


@pytest.mark.parametrize(
    ("text", "depth"),
    [(b"null", 0), (CURSOR, 2), (b'{"a":"[[[\\"[","b":[{}]}', 3), (b"[" * 40 + b"]" * 40, 40), (b'"[[["', 0)],
)
def test_json_depth_skips_strings(text: bytes, depth: int) -> None:
    assert json_depth(text) == depth


def test_a_normal_update_is_read() -> None:
    assert read_client_awareness(body([(7, 3, CURSOR), (8, 1, b"null")])) == [
        PresenceEntry(7, 3, {"cursor": {"lon": -2.98, "lat": 53.4}}),
        PresenceEntry(8, 1, None),
    ]


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        ([(n, 1, CURSOR) for n in range(MAX_PRESENCE_ENTRIES + 1)], "more than 64 awareness states"),
        ([(1, 1, b'{"x":"' + b"y" * MAX_PRESENCE_STATE_BYTES + b'"}')], "larger than 8192 bytes"),
        ([(1, 1, b"[" * 9 + b"]" * 9)], "nested deeper than 8"),
        ([(1, 1, b"[" * 4000 + b"]" * 4000)], "nested deeper than 8"),
        ([(1, 1, b'{"x":NaN}')], "NaN is not JSON"),
        ([(1, 1, b'{"x":-Infinity}')], "-Infinity is not JSON"),
        ([(1, 1, b'{"x":1e400}')], "beyond a double"),
        ([(1, MAX_SAFE_INTEGER + 1, CURSOR)], "above 9007199254740991"),
        ([(1, 1, b"[1]")], "an object or null"),
        ([(1, 1, b"\xff")], "utf-8"),
    ],
)
def test_bounds_are_refused_with_the_reason(entries: list[tuple[int, int, bytes]], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_client_awareness(body(entries))


def test_truncated_and_trailing_bytes_are_refused() -> None:
    update = body([(7, 3, CURSOR)])
    for cut in range(len(update)):
        with pytest.raises(ValueError):
            read_client_awareness(update[:cut])
    with pytest.raises(ValueError, match="bytes after"):
        read_client_awareness(update + b"\x00")


def test_the_servers_own_updates_are_not_bounded() -> None:
    """Re-encoded states carry the stamped user, so the room's own fan-out payloads may be larger."""
    big = b'{"x":"' + b"y" * MAX_PRESENCE_STATE_BYTES + b'"}'
    assert decode_awareness(body([(1, 1, big)]))[0].state == {"x": "y" * MAX_PRESENCE_STATE_BYTES}

"""Cost of checking live-socket document updates (``metaliverpool.service.yjs_update``), in this process.

``python bench/yjs_update.py``

Reported: microseconds to read and check a typical edit update (one edit set by pycrdt, as a client sends
it), and milliseconds to refuse messages of about 1 MiB (the largest the socket accepts): one huge string
refused at its last byte, 9,999 items with long keys refused at their last byte (the most structs
allowed), and a value of half a million numbers (refused at the value count); and milliseconds to accept a
sync step 2 holding 2,000 edits (a whole document, as a client that edited offline sends it). Prints one
JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from pycrdt import Map

from metaliverpool.service.documents import MAX_ID_CHARS, ROOTS, new_doc
from metaliverpool.service.live_limits import MAX_MESSAGE_BYTES
from metaliverpool.service.yjs_update import UpdateRefused, check_references, read_state_vector, read_update

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from web.yjs_bytes import any_value, item, update


def typical_update() -> bytes:
    """One edit as the web client writes it."""
    doc = new_doc()
    before = doc.get_state()
    doc.get("edits", type=Map)["e1f2a3b4c5d6e7f8"] = {
        "edit": {"kind": "change_speed", "osm_way_ids": [4001, 4002, 4003], "speed_limit_kph": 30},
        "author": "alice",
        "created_at_s": 1765100000.25,
    }
    return doc.get_update(before)


def whole_document(edits: int) -> bytes:
    """A document of ``edits`` edits, encoded whole."""
    doc = new_doc()
    target = doc.get("edits", type=Map)
    for number in range(edits):
        with doc.transaction():
            target[f"{number:016x}"] = {
                "edit": {"kind": "close_road", "osm_way_ids": [4000 + number]},
                "author": "alice",
                "created_at_s": 1765100000.25 + number,
            }
    return doc.get_update()


def refusal_ms(data: bytes, repeats: int = 5) -> float:
    """Median milliseconds to refuse ``data``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        try:
            read_update(data, ROOTS, MAX_ID_CHARS)
        except UpdateRefused:
            times.append((time.perf_counter() - start) * 1e3)
        else:
            raise AssertionError("not refused")
    return sorted(times)[len(times) // 2]


def main() -> None:
    typical = typical_update()
    state = read_state_vector(new_doc().get_state())
    runs = 20_000
    start = time.perf_counter()
    for _ in range(runs):
        check_references(read_update(typical, ROOTS, MAX_ID_CHARS), state)
    typical_us = (time.perf_counter() - start) / runs * 1e6
    size = MAX_MESSAGE_BYTES - 64
    messages = {
        "huge_string": update(1, 0, [item(any_value("x" * (size - 32)))]) + b"\x00",
        "many_items": update(1, 0, [item(any_value(1), key=f"{n:060d}") for n in range(9_999)]) + b"\x00",
        "many_values": update(1, 0, [item(any_value([1] * (size // 2 - 16)))]),
    }
    figures = {"typical_edit_bytes": len(typical), "typical_edit_us": round(typical_us, 1)}
    for name, data in messages.items():
        figures[f"refuse_{name}_bytes"] = len(data)
        figures[f"refuse_{name}_ms"] = round(refusal_ms(data), 2)
    step2 = whole_document(2_000)
    start = time.perf_counter()
    check_references(read_update(step2, ROOTS, MAX_ID_CHARS), state)
    figures["accept_step2_2000_edits_bytes"] = len(step2)
    figures["accept_step2_2000_edits_ms"] = round((time.perf_counter() - start) * 1e3, 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""The Yjs update reader: known answers from pycrdt itself, hand-built malicious bytes, properties."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from metaliverpool.service.documents import MAX_ID_CHARS, ROOTS, new_doc
from metaliverpool.service.live_limits import MAX_ANY_DEPTH, MAX_MESSAGE_BYTES
from metaliverpool.service.yjs_update import (
    Update,
    UpdateRefused,
    check_references,
    deletes_covered,
    read_state_vector,
    read_update,
)
from web.yjs_bytes import INFINITY, NAN, any_value, deep_array, item, update, var_string, var_uint

CLIENT = 7

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**31), 2**31)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
keys = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=MAX_ID_CHARS)


def read(data: bytes) -> Update:
    return read_update(data, ROOTS, MAX_ID_CHARS)


def state(doc: Doc) -> dict[int, int]:
    return read_state_vector(doc.get_state())


def refusal(data: bytes, at: dict[int, int] | None = None) -> UpdateRefused:
    """The refusal of ``data`` (read, then checked against the state ``at``); fails if it is accepted."""
    with pytest.raises(UpdateRefused) as caught:
        check_references(read(data), at or {})
    return caught.value


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON (pycrdt stores every number as a float; a float32 may be exact where a float is)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same_json, a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return bool(a == b)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ROOTS), keys, json_values | st.none()), min_size=1, max_size=6))
def test_every_update_pycrdt_makes_for_map_sets_and_deletes_is_read_and_placed(
    operations: list[tuple[str, str, Any]],
) -> None:
    """Known answers: each update decodes to the value set (``None`` deletes an existing key), written under
    its root and key or after the key's previous item, with references inside the receiving doc."""
    author, server = new_doc(), new_doc()
    for root, key, value in operations:
        before = author.get_state()
        target = author.get(root, type=Map)
        deleting = value is None and key in target
        with author.transaction():
            if deleting:
                del target[key]
            else:
                target[key] = value
        data = author.get_update(before)
        decoded = read(data)
        check_references(decoded, state(server))
        written = [s for s in decoded.structs if s.values]
        if deleting:
            assert written == [] and decoded.deletes
        else:
            (struct,) = written
            assert (struct.parent, struct.parent_sub) == (root, key) or struct.origin is not None
            assert same_json(struct.values[0], value)
        server.apply_update(data)
    assert read_state_vector(server.get_state()) == read_state_vector(author.get_state())
    assert all(same_json(server.get(r, type=Map).to_py(), author.get(r, type=Map).to_py()) for r in ROOTS)
    whole = read(author.get_update())  # the full state, tombstones (GC'd content) included
    check_references(whole, {})
    assert deletes_covered(whole.deletes, read(server.get_update(server.get_state())).deletes)


def test_undefined_reads_as_null_as_in_pycrdt() -> None:
    """JavaScript writes a missing optional field as undefined; pycrdt and the reader read it as None."""
    (struct,) = read(update(CLIENT, 0, [item(b"\x76\x01\x01a\x7f")])).structs
    assert struct.values == ({"a": None},)


def test_overwrites_and_deletes_carry_origins_and_delete_sets() -> None:
    doc = new_doc()
    edits = doc.get("edits", type=Map)
    edits["a"] = {"x": 1}
    mid = doc.get_state()
    edits["a"] = {"x": 2}
    overwrite = read(doc.get_update(mid))
    (struct,) = overwrite.structs
    assert struct.origin is not None and struct.parent is None and struct.values == ({"x": 2.0},)
    assert overwrite.deletes == ((struct.client, 0, 1),)
    before = doc.get_state()
    del edits["a"]
    deletion = read(doc.get_update(before))
    assert deletion.structs == () and deletion.deletes == ((struct.client, 0, 2),)
    assert not deletion.writes(state(doc)) and overwrite.writes(read_state_vector(mid))


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda doc: doc.get("edits", type=Map).__setitem__("k", Map({"a": 1})), "nested Y type"),
        (lambda doc: doc.get("edits", type=Map).__setitem__("k", Text("hi")), "nested Y type"),
        (lambda doc: doc.get("edits", type=Map).__setitem__("k", b"bytes"), "binary"),
        (lambda doc: doc.get("edits", type=Map).__setitem__("k", {"t": math.nan}), "NaN"),
        (lambda doc: doc.get("edits", type=Map).__setitem__("k", math.inf), "infinite"),
        (lambda doc: doc.__setitem__("other", Map({"k": 1})), "not one of"),
    ],
)
def test_what_pycrdt_can_write_but_the_scenario_never_holds_is_refused(make: Any, reason: str) -> None:
    doc = new_doc()
    before = doc.get_state()
    make(doc)
    assert reason in str(refusal(doc.get_update(before)))


def test_list_items_and_text_under_a_root_are_refused() -> None:
    as_list: Doc = Doc()
    as_list["edits"] = Array([1, 2])
    assert "list item" in str(refusal(as_list.get_update()))
    as_text: Doc = Doc()
    as_text["comments"] = Text("hello")
    assert "string content" in str(refusal(as_text.get_update()))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (update(CLIENT, 0, [item(deep_array(20_000))]), "nested deeper"),
        (update(CLIENT, 0, [item(deep_array(MAX_ANY_DEPTH + 1))]), "nested deeper"),
        (update(CLIENT, 0, [item(b"\x76\x01" + var_string("a") + deep_array(30_000))]), "nested"),
        (update(CLIENT, 0, [item(any_value(1), root="edits", key=None)]), "list item"),
        (update(CLIENT, 0, [item(any_value(1), root="evil")]), "not one of"),
        (update(CLIENT, 0, [item(any_value(1), parent_id=(CLIENT, 0))]), "parent is given by id"),
        (update(CLIENT, 0, [item(any_value(1), key="k" * (MAX_ID_CHARS + 1))]), "key longer"),
        (update(CLIENT, 0, [item(NAN)]), "NaN"),
        (update(CLIENT, 0, [item(INFINITY)]), "infinite"),
        (update(CLIENT, 0, [bytes([10]) + var_uint(5)]), "Skip"),
        (update(CLIENT, 0, [bytes([4]) + b"\x01" + b"\x05edits" + b"\x02hi"]), "string content"),
        (update(CLIENT, 0, [item(any_value(1))]) + b"\x00", "bytes after"),
        (update(CLIENT, 0, [item(any_value(1))])[:-3], "truncated"),
        (var_uint(1) + var_uint(2**40) + var_uint(CLIENT) + b"\x00", "above"),
        (var_uint(2**40), "above"),
        (
            b"\x02"
            + update(CLIENT, 0, [item(any_value(1))])[1:-1]
            + update(CLIENT, 1, [item(any_value(2))])[1:],
            "twice",
        ),
        (update(CLIENT, 2**32 - 1, [item(any_value(1))]), "clock above"),
        (update(CLIENT, 0, [b"\x28\x01\x05edits\x01k\x02" + any_value(1) * 2]), "exactly one value"),
        (b"\x00" * (MAX_MESSAGE_BYTES + 1), "larger than"),
    ],
)
def test_hand_built_malicious_updates_are_refused_with_the_reason(data: bytes, reason: str) -> None:
    assert reason in str(refusal(data))


def test_references_outside_the_document_and_the_update_are_unknown() -> None:
    gap = refusal(update(CLIENT, 5, [item(any_value(1))]), {CLIENT: 4})
    assert gap.unknown and "continues at clock 5, the document is at 4" in str(gap)
    origin = refusal(update(CLIENT, 0, [item(any_value(1), origin=(99, 3))]), {99: 3})
    assert origin.unknown and "unknown struct" in str(origin)
    forward = refusal(update(CLIENT, 0, [item(any_value(1), origin=(CLIENT, 0))]))
    assert forward.unknown  # an item cannot follow itself
    deleted = refusal(update(CLIENT, 0, [], deletes=[(99, 0, 4)]), {99: 3})
    assert deleted.unknown and "deletion of unknown" in str(deleted)
    # the same references are fine once the document (or an earlier struct) holds them
    check_references(read(update(CLIENT, 4, [item(any_value(1))])), {CLIENT: 4})
    check_references(read(update(CLIENT, 0, [item(any_value(1), origin=(99, 2))])), {99: 3})
    chained = update(
        CLIENT, 0, [item(any_value(1)), item(any_value(2), origin=(CLIENT, 0))], [(CLIENT, 0, 2)]
    )
    check_references(read(chained), {})
    shape = refusal(update(CLIENT, 0, [item(any_value(1), root="evil")]), {CLIENT: 0})
    assert not shape.unknown


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_are_read_or_refused_never_anything_else(data: bytes) -> None:
    try:
        result = read(data)
    except UpdateRefused as refused:
        assert str(refused)
    else:
        assert isinstance(result, Update)


@settings(max_examples=300, deadline=None)
@given(json_values, st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_updates_that_pass_the_checks_apply_fully_in_pycrdt(
    value: Any, flips: list[tuple[int, int]]
) -> None:
    """Whatever the reader and the reference check accept, pycrdt applies whole: nothing stays pending."""
    base = new_doc()
    base.get("edits", type=Map)["seed"] = {"x": 1}
    author: Doc = new_doc(base.get_update())
    before = author.get_state()
    author.get("edits", type=Map)["k"] = value
    data = bytearray(author.get_update(before))
    for position, byte in flips:
        data[position % len(data)] = byte
    try:
        decoded = read(bytes(data))
        check_references(decoded, state(base))
    except UpdateRefused:
        return
    base.apply_update(bytes(data))
    after = state(base)
    for struct in decoded.structs:
        assert after.get(struct.client, 0) >= struct.clock + struct.length


YJS_CLIENT_SCRIPT = """
import * as Y from "yjs";
const out = { updates: [] };
const author = new Y.Doc();
const edits = author.getMap("edits"), comments = author.getMap("comments");
author.on("update", (update) => out.updates.push(Buffer.from(update).toString("hex")));
const comment = { text: "hé", author: "amy", created_at_s: 2, lon: -2.98, lat: 53.4, parent: null,
                  resolved: false };
const closed = { kind: "close_road", osm_way_ids: [1001, 1002] };
edits.set("e1", { edit: closed, author: "amy", created_at_s: Date.now() / 1000 });
const lanes = { kind: "change_lanes", osm_way_ids: [1001], lanes: 2, note: undefined };
edits.set("e1", { edit: lanes, author: "amy", created_at_s: 1.5 });
comments.set("c1", comment);
comments.set("c1", { ...comment, resolved: true });
const area = { coordinates: [[[-2.98, 53.4], [-2.97, 53.41], [-2.98, 53.4]]] };
edits.set("e2", { edit: { kind: "speed", area }, author: "amy", created_at_s: 2 ** 40, big: -70000,
                  small: 0.1 });
edits.delete("e1");
author.transact(() => { edits.set("a", 1); edits.set("a", 2); edits.delete("a"); });
const empty = Y.encodeStateVector(new Y.Doc());
out.step2 = Buffer.from(Y.encodeStateAsUpdate(author, empty)).toString("hex");
out.final = author.toJSON();
console.log(JSON.stringify(out));
"""


def test_every_update_of_the_web_clients_yjs_is_read_and_placed() -> None:
    """Known answers from the web client's own yjs (``web/node_modules``, installed by ``make web``): its
    map sets, overwrites and deletes, and a sync step 2 of its whole state, decode and apply fully."""
    web = Path(__file__).resolve().parents[2] / "web"
    node = shutil.which("node")
    if node is None or not (web / "node_modules" / "yjs").is_dir():
        pytest.skip("node or web/node_modules/yjs missing: run `make web`")
    result = subprocess.run(
        [node, "--input-type=module", "-e", YJS_CLIENT_SCRIPT],
        cwd=web,
        capture_output=True,
        check=True,
        timeout=60,
    )
    out = json.loads(result.stdout)
    server = new_doc()
    for text in out["updates"]:
        data = bytes.fromhex(text)
        check_references(read(data), state(server))
        server.apply_update(data)
    final = {root: server.get(root, type=Map).to_py() for root in ROOTS}
    assert same_json(final, out["final"])
    step2 = read(bytes.fromhex(out["step2"]))
    check_references(step2, {})
    check_references(step2, state(server))
    assert not step2.writes(state(server))
    assert deletes_covered(step2.deletes, read(server.get_update(server.get_state())).deletes)
    fresh = new_doc()
    fresh.apply_update(bytes.fromhex(out["step2"]))
    assert same_json({root: fresh.get(root, type=Map).to_py() for root in ROOTS}, out["final"])

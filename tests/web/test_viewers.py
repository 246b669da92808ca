"""Viewers cost little: a newcomer's full-state sync is encoded once per change of the document and shared,
and the empty sync step 2 every viewer sends does no document work (it never waits for the room)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pycrdt import Map, read_message
from pycrdt._sync import create_sync_step1_message, create_sync_step2_message

from metaliverpool.service.documents import new_doc
from metaliverpool.service.fanout import InProcessFanout
from metaliverpool.service.rooms import Room
from metaliverpool.store.db import Database, Scenario, User
from web.protocol import close_road, edit_entry
from web.test_convergence import SimClient

EMPTY_STATE = create_sync_step1_message(b"\x00")


@pytest.fixture
def room(tmp_path: Path) -> Room:
    """A room (opened) of a new scenario owned by user 1, on SQLite."""
    db = Database(f"sqlite:///{tmp_path / 'viewers.db'}")
    db.migrate()
    with db.session() as session:
        session.add(User(user_id=1, name="ann", password_hash="-", colour="#000000", created_at_s=0.0))
        session.flush()
        scenario = Scenario(
            twin_id="t", name="s", description="", owner_id=1, visibility="shared", created_at_s=0.0
        )
        session.add(scenario)
        session.flush()
        scenario_id = scenario.scenario_id
    opened = Room(scenario_id, db, InProcessFanout(), "process")
    asyncio.run(opened.open())
    return opened


def test_newcomers_share_one_encoded_full_state(room: Room) -> None:
    async def scenario() -> tuple[list[bytes], bytes]:
        viewers = [SimClient(index, f"viewer{index}", "viewer") for index in range(3)]
        answers = []
        for viewer in viewers[:2]:
            await room.join(viewer)
            await room.receive(viewer, EMPTY_STATE)
            answers.append(viewer.from_server[-1])
        await room.change(
            lambda doc: doc.get("edits", type=Map).__setitem__("e1", edit_entry(close_road(1001), "ann")), 1
        )
        await room.join(viewers[2])
        await room.receive(viewers[2], EMPTY_STATE)
        answers.append(viewers[2].from_server[-1])
        editor = SimClient(9, "ann", "owner")
        await room.join(editor)
        await room.receive(editor, create_sync_step1_message(room.doc.get_state()))
        return answers, editor.from_server[-1]

    answers, up_to_date = asyncio.run(scenario())
    assert answers[0] is answers[1]  # one encoding for both newcomers of the unchanged room
    assert answers[2] is not answers[0]  # the document changed: a new full state, with the edit
    doc = new_doc()
    doc.apply_update(read_message(answers[2][2:]))
    assert set(doc.get("edits", type=Map).to_py()) == {"e1"}
    assert up_to_date == create_sync_step2_message(b"\x00\x00")  # a client with everything gets nothing


def test_an_empty_sync_step2_does_not_wait_for_the_room(room: Room) -> None:
    async def scenario() -> None:
        viewer = SimClient(0, "vic", "viewer")
        await room.join(viewer)
        async with room.lock:  # an edit being checked and stored
            await asyncio.wait_for(room.receive(viewer, create_sync_step2_message(b"\x00\x00")), 2.0)

    asyncio.run(scenario())


def test_a_deletion_renews_the_shared_full_state(room: Room) -> None:
    """Deleting an edit leaves the state vector as it was: the next newcomer must still get a full state
    without the deleted edit (not the one encoded before the deletion)."""

    async def scenario() -> bytes:
        edits = lambda doc: doc.get("edits", type=Map)  # noqa: E731
        await room.change(lambda doc: edits(doc).__setitem__("e1", edit_entry(close_road(1001), "ann")), 1)
        first = SimClient(0, "viewer0", "viewer")
        await room.join(first)
        await room.receive(first, EMPTY_STATE)
        state = room.doc.get_state()
        await room.change(lambda doc: edits(doc).pop("e1"), 1)
        assert room.doc.get_state() == state
        second = SimClient(1, "viewer1", "viewer")
        await room.join(second)
        await room.receive(second, EMPTY_STATE)
        return second.from_server[-1]

    answer = asyncio.run(scenario())
    doc = new_doc()
    doc.apply_update(read_message(answer[2:]))
    assert doc.get("edits", type=Map).to_py() in ({}, None)

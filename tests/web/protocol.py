"""A synchronous helper speaking the room protocol through Starlette's TestClient WebSocket."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from pycrdt import Doc, Map, YMessageType, YSyncMessageType, create_update_message, read_message
from pycrdt._sync import create_sync_step1_message

from metaliverpool.service.documents import new_doc
from metaliverpool.service.rooms import MESSAGE_NOTICE


def edit_entry(edit: dict[str, Any], author: str, created_at_s: float = 1.0) -> dict[str, Any]:
    """An ``edits`` map value."""
    return {"edit": edit, "author": author, "created_at_s": created_at_s}


def close_road(way: int) -> dict[str, Any]:
    """A close-road edit of one OSM way."""
    return {"kind": "close_road", "osm_way_ids": [way]}


def change_over_socket(
    client: TestClient, scenario_id: int, token: str, change: Callable[[Doc], None]
) -> tuple[Doc, list[dict[str, Any]]]:
    """Connect, sync, apply ``change`` locally and send it; returns the synced doc and the notices.

    After sending, a sync step 1 is sent and its answer awaited, so the server has handled the update
    (and any roll-back it sent has been applied) when this returns.
    """
    doc = new_doc()
    notices: list[dict[str, Any]] = []
    with client.websocket_connect(f"/api/scenarios/{scenario_id}/live?token={token}") as socket:

        def pump_until_step2() -> None:
            while True:
                message = socket.receive_bytes()
                if message[0] == YMessageType.SYNC:
                    payload = read_message(message[2:])
                    if message[1] == YSyncMessageType.SYNC_STEP1:
                        continue
                    doc.apply_update(payload)
                    if message[1] == YSyncMessageType.SYNC_STEP2:
                        return
                elif message[0] == MESSAGE_NOTICE:
                    notices.append(json.loads(read_message(message[1:])))

        socket.send_bytes(create_sync_step1_message(doc.get_state()))
        pump_until_step2()
        state = doc.get_state()
        with doc.transaction():
            change(doc)
        socket.send_bytes(create_update_message(doc.get_update(state)))
        socket.send_bytes(create_sync_step1_message(doc.get_state()))
        pump_until_step2()
    return doc, notices


def set_edit(edit_id: str, entry: dict[str, Any]) -> Callable[[Doc], None]:
    """A change that sets one edit."""

    def change(doc: Doc) -> None:
        doc.get("edits", type=Map)[edit_id] = entry

    return change


def token_of(headers: dict[str, str]) -> str:
    """The bearer token in an Authorization header."""
    return headers["Authorization"].split(" ", 1)[1]

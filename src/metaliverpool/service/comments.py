"""Comments pinned on the map, through the REST API (the web client writes them into the document).

Comments live in the scenario's shared document (``comments`` map, see
:mod:`metaliverpool.service.documents`), so REST and live clients see the same threads. Writing goes
through the scenario's room: checked like a live edit, stored, then fanned out to everyone connected.
"""

from __future__ import annotations

import uuid
from typing import Any

from pycrdt import Doc, Map

from metaliverpool.errors import InputError
from metaliverpool.service.access import AccessDenied, NotFound
from metaliverpool.service.accounts import Account
from metaliverpool.service.documents import check_comment_entry, read_comments
from metaliverpool.service.rooms import RoomRegistry
from metaliverpool.store.db import now_s


def comment_entry(account: Account, body: dict[str, Any]) -> dict[str, Any]:
    """A new comment's entry from a request body ``{text, lon?, lat?, parent?}``."""
    unknown = set(body) - {"text", "lon", "lat", "parent"}
    if unknown:
        raise InputError(
            "comment", "unknown field; expected text, lon, lat, parent", where=f"field '{sorted(unknown)[0]}'"
        )
    return {
        "text": body.get("text"),
        "author": account.name,
        "created_at_s": now_s(),
        "lon": body.get("lon"),
        "lat": body.get("lat"),
        "parent": body.get("parent"),
        "resolved": False,
    }


async def add_comment(
    rooms: RoomRegistry, scenario_id: int, account: Account, body: dict[str, Any]
) -> dict[str, Any]:
    """Add a comment (the caller has checked the editor role); returns it with its id."""
    entry = comment_entry(account, body)
    comment_id = uuid.uuid4().hex[:16]
    problem: list[str] = []

    def mutate(doc: Doc) -> None:
        comments = read_comments(doc)
        reason = check_comment_entry(comment_id, entry, None, account.name, {**comments, comment_id: entry})
        if reason is not None:
            problem.append(reason)
            return
        doc.get("comments", type=Map)[comment_id] = entry

    await rooms.change(scenario_id, mutate, account.user_id)
    if problem:
        raise InputError("comment", problem[0])
    return {"comment_id": comment_id, **entry}


async def resolve_comment(
    rooms: RoomRegistry, scenario_id: int, account: Account, comment_id: str, resolved: bool
) -> dict[str, Any]:
    """Mark a comment resolved or open again (any editor)."""
    if not isinstance(resolved, bool):
        raise InputError("comment", "expected true or false", where="field 'resolved'")
    result: dict[str, Any] = {}

    def mutate(doc: Doc) -> None:
        comments = doc.get("comments", type=Map)
        if comment_id not in comments:
            return
        entry = dict(read_comments(doc)[comment_id])
        entry["resolved"] = resolved
        comments[comment_id] = entry
        result.update(entry)

    await rooms.change(scenario_id, mutate, account.user_id)
    if not result:
        raise NotFound(f"comment {comment_id!r} not found")
    return {"comment_id": comment_id, **result}


async def delete_comment(
    rooms: RoomRegistry, scenario_id: int, account: Account, comment_id: str, is_owner: bool
) -> None:
    """Delete a comment: its author or the scenario's owner. Replies stay (their parent shows as gone)."""
    outcome: list[str] = []

    def mutate(doc: Doc) -> None:
        comments = doc.get("comments", type=Map)
        if comment_id not in comments:
            outcome.append("missing")
            return
        if read_comments(doc)[comment_id].get("author") != account.name and not is_owner:
            outcome.append("denied")
            return
        del comments[comment_id]

    await rooms.change(scenario_id, mutate, account.user_id)
    if "missing" in outcome:
        raise NotFound(f"comment {comment_id!r} not found")
    if "denied" in outcome:
        raise AccessDenied("only its author or the scenario's owner may delete a comment")

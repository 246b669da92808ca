"""The shared scenario document (a pycrdt/Yjs ``Doc``): its layout, its checks and its storage.

Layout (the web client writes the same; ``docs/web.md``)::

    edits     Y.Map  edit_id -> {"edit": <one edit of metaliverpool.edits>, "author": name,
                                 "created_at_s": float}
    comments  Y.Map  comment_id -> {"text": str, "author": name, "created_at_s": float,
                                    "lon": float | null, "lat": float | null,
                                    "parent": comment_id | null, "resolved": bool}

Edits are keyed by an id chosen by their author's client; changing an edit replaces its value (last
writer wins per edit). Each edit is validated with :func:`metaliverpool.edits.validate_edit` (the same
schema as scenario files). Every accepted update is appended to ``doc_updates`` before anyone else sees it;
a document is the merge of its rows (compacted into one row when it has many).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Map
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from metaliverpool.edits import validate_edit
from metaliverpool.errors import InputError
from metaliverpool.store.db import DocUpdate, now_s

ROOTS = ("edits", "comments")
"""The root types of a scenario document."""

MAX_COMMENT_CHARS = 4000
MAX_ID_CHARS = 64
COMPACT_AFTER_ROWS = 500
"""A document stored in more rows than this is merged into one row when it is next loaded."""


def new_doc(state: bytes | None = None) -> Doc:
    """A scenario document with its root maps, optionally starting from an encoded state."""
    doc: Doc = Doc()
    for name in ROOTS:
        doc[name] = Map()
    if state:
        doc.apply_update(state)
    return doc


def read_edits(doc: Doc) -> dict[str, dict[str, Any]]:
    """The document's edits by id (plain data)."""
    edits: dict[str, dict[str, Any]] = doc.get("edits", type=Map).to_py() or {}
    return edits


def read_comments(doc: Doc) -> dict[str, dict[str, Any]]:
    """The document's comments by id (plain data)."""
    comments: dict[str, dict[str, Any]] = doc.get("comments", type=Map).to_py() or {}
    return comments


def ordered_edits(edits: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The edits (the schema part, with ``id`` set to the key) in creation order, ties by id."""
    items = sorted(edits.items(), key=lambda item: (float(item[1].get("created_at_s", 0.0)), item[0]))
    result = []
    for edit_id, entry in items:
        edit = dict(entry.get("edit") or {})
        edit["id"] = edit_id
        result.append(_integral(edit))
    return result


def _integral(value: Any) -> Any:
    """Floats that hold whole numbers become ints (Yjs stores every number as a JS number)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


@dataclass
class ChangeCheck:
    """The outcome of checking what one update changed: which keys to roll back and why."""

    refused: dict[str, dict[str, str]] = field(default_factory=lambda: {"edits": {}, "comments": {}})

    @property
    def ok(self) -> bool:
        """True when nothing was refused."""
        return not any(self.refused.values())

    def messages(self) -> list[str]:
        """One line per refused item."""
        return [
            f"{root} {key}: {reason}" for root, items in self.refused.items() for key, reason in items.items()
        ]


def _finite_number(value: Any) -> bool:
    """Whether ``value`` is an int or a finite float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_edit_entry(key: str, entry: Any, before: Any, author: str) -> str | None:
    """Why an edit entry is refused, or None if it is acceptable."""
    if len(key) > MAX_ID_CHARS:
        return f"edit id longer than {MAX_ID_CHARS} characters"
    if not isinstance(entry, dict) or set(entry) != {"edit", "author", "created_at_s"}:
        return "expected exactly {'edit': ..., 'author': ..., 'created_at_s': ...}"
    allowed = {author}
    if isinstance(before, dict) and isinstance(before.get("author"), str):
        allowed.add(before["author"])  # editing someone else's edit keeps its author
    if entry["author"] not in allowed:
        return f"author must be {author!r}"
    if not _finite_number(entry["created_at_s"]):
        return "created_at_s must be a finite number"
    edit = entry.get("edit")
    if not isinstance(edit, dict):
        return "'edit' must be an object"
    candidate = _integral(dict(edit))
    candidate.setdefault("id", key)
    if candidate.get("id") != key:
        return f"the edit's id {candidate.get('id')!r} differs from its key {key!r}"
    try:
        validate_edit(candidate, source="edit", number=1)
    except InputError as error:
        return error.problem if error.where is None else f"{error.where}: {error.problem}"
    return None


def check_comment_entry(
    key: str, entry: Any, before: Any, author: str, comments: dict[str, Any]
) -> str | None:
    """Why a comment entry is refused, or None if it is acceptable.

    Anyone who may comment may resolve a comment; only its author may change its text or position.
    """
    if len(key) > MAX_ID_CHARS:
        return f"comment id longer than {MAX_ID_CHARS} characters"
    expected = {"text", "author", "created_at_s", "lon", "lat", "parent", "resolved"}
    if not isinstance(entry, dict) or set(entry) != expected:
        return f"expected exactly the fields {sorted(expected)}"
    text = entry["text"]
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_COMMENT_CHARS:
        return f"text must be 1-{MAX_COMMENT_CHARS} characters"
    if isinstance(before, dict):
        changed = {name for name in expected if before.get(name) != entry.get(name)}
        if changed - {"resolved"} and before.get("author") != author:
            return "only its author may change a comment's text or place"
        if entry["author"] != before.get("author"):
            return "a comment's author cannot change"
    elif entry["author"] != author:
        return f"author must be {author!r}"
    if not _finite_number(entry["created_at_s"]):
        return "created_at_s must be a finite number"
    for name, limit in (("lon", 180.0), ("lat", 90.0)):
        value = entry[name]
        if value is not None and (not isinstance(value, int | float) or not abs(value) <= limit):
            return f"{name} must be null or within ±{limit:g} degrees"
    if (entry["lon"] is None) != (entry["lat"] is None):
        return "give both lon and lat, or neither"
    parent = entry["parent"]
    if parent is not None and (parent == key or parent not in comments):
        return f"parent {parent!r} is not another comment of this scenario"
    if not isinstance(entry["resolved"], bool):
        return "resolved must be true or false"
    return None


def check_changes(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], author: str, root: str
) -> dict[str, str]:
    """Refused keys of ``root`` (``edits`` or ``comments``) between two snapshots, with reasons."""
    refused: dict[str, str] = {}
    for key, entry in after.items():
        old = before.get(key)
        if old == entry:
            continue
        if root == "edits":
            reason = check_edit_entry(key, entry, old, author)
        else:
            reason = check_comment_entry(key, entry, old, author, after)
        if reason is not None:
            refused[key] = reason
    return refused


def roll_back(doc: Doc, root: str, keys: dict[str, str], before: dict[str, dict[str, Any]]) -> None:
    """Inside the caller's transaction: put each refused key of ``root`` back as it was."""
    target = doc.get(root, type=Map)
    for key in keys:
        if key in before:
            target[key] = before[key]
        elif key in target:
            del target[key]


def load_updates(session: Session, scenario_id: int) -> list[bytes]:
    """Every stored update of a scenario, oldest first."""
    rows = session.scalars(
        select(DocUpdate.update).where(DocUpdate.scenario_id == scenario_id).order_by(DocUpdate.update_id)
    )
    return list(rows)


def load_doc(session: Session, scenario_id: int) -> Doc:
    """The scenario's document rebuilt from its stored updates."""
    doc = new_doc()
    for update in load_updates(session, scenario_id):
        doc.apply_update(update)
    return doc


def append_update(session: Session, scenario_id: int, update: bytes, user_id: int | None) -> None:
    """Store one accepted update (the caller commits)."""
    session.add(DocUpdate(scenario_id=scenario_id, update=update, user_id=user_id, created_at_s=now_s()))


def compact_updates(session: Session, scenario_id: int) -> bool:
    """Merge a scenario's rows into one when there are more than :data:`COMPACT_AFTER_ROWS`.

    Runs in the caller's transaction, so either the merged row replaces the old ones or nothing changes.
    Returns whether it compacted.
    """
    count = session.scalar(select(func.count()).where(DocUpdate.scenario_id == scenario_id)) or 0
    if count <= COMPACT_AFTER_ROWS:
        return False
    last_id = session.scalar(
        select(func.max(DocUpdate.update_id)).where(DocUpdate.scenario_id == scenario_id)
    )
    doc = load_doc(session, scenario_id)
    session.execute(
        delete(DocUpdate).where(DocUpdate.scenario_id == scenario_id, DocUpdate.update_id <= last_id)
    )
    append_update(session, scenario_id, doc.get_update(), None)
    return True


def edits_to_json(doc: Doc) -> str:
    """The document's edits as canonical JSON (stored with versions)."""
    return json.dumps(read_edits(doc), sort_keys=True)


def is_empty_update(update: bytes) -> bool:
    """Whether an encoded Yjs v1 update carries nothing (no structs, no deletions)."""
    return update == b"\x00\x00"

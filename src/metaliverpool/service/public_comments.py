"""Located comments from the public on a published scenario, and their moderation by its owner.

A visitor's comment is a point (lon/lat degrees) inside the scenario's area and a text; it waits,
hidden, until the owner approves it (``pending`` -> ``approved`` or ``rejected``). The owner may answer
any comment; the public sees approved comments with their answers.
"""

from __future__ import annotations

import math
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metaliverpool.errors import InputError
from metaliverpool.service.access import Conflict, NotFound, require_scenario
from metaliverpool.service.accounts import Account
from metaliverpool.store.db import COMMENT_STATUSES, PublicComment, now_s

MAX_PUBLIC_COMMENT_CHARS = 2000
MAX_ANSWER_CHARS = 4000
MAX_LINKS = 2
"""More web addresses than this in one comment are refused (link spam)."""
MAX_PENDING = 5000
"""Comments waiting for moderation on one scenario; beyond it new ones are refused (409)."""
AREA_MARGIN_DEG = 0.02
"""How far (degrees) outside the twin's bounds a comment may still be placed."""

_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)


def check_comment(text: str, lon: float, lat: float, bounds: list[float]) -> str:
    """The comment's text, trimmed, if it and its point are acceptable; else :class:`InputError`.

    ``bounds``: the scenario's twin, ``[west, south, east, north]`` degrees."""
    text = text.strip()
    if not text or len(text) > MAX_PUBLIC_COMMENT_CHARS:
        raise InputError("comment", f"expected 1-{MAX_PUBLIC_COMMENT_CHARS} characters", where="field 'text'")
    if len(_LINK.findall(text)) > MAX_LINKS:
        raise InputError("comment", f"at most {MAX_LINKS} web addresses", where="field 'text'")
    west, south, east, north = bounds
    for name, value, low, high in (("lon", lon, west, east), ("lat", lat, south, north)):
        if not (math.isfinite(value) and low - AREA_MARGIN_DEG <= value <= high + AREA_MARGIN_DEG):
            raise InputError(
                "comment",
                f"the point is outside the scenario's area ({low:.4f}..{high:.4f} degrees)",
                where=f"field '{name}'",
            )
    return text


def add_comment(
    session: Session, scenario_id: int, visitor: str, text: str, lon: float, lat: float, bounds: list[float]
) -> PublicComment:
    """A visitor's comment on a published scenario (the caller checked that it is), pending moderation."""
    text = check_comment(text, lon, lat, bounds)
    pending = session.scalar(
        select(func.count()).where(
            PublicComment.scenario_id == scenario_id, PublicComment.status == "pending"
        )
    )
    if (pending or 0) >= MAX_PENDING:
        raise Conflict("this consultation has too many comments waiting for moderation; try again later")
    comment = PublicComment(
        scenario_id=scenario_id,
        visitor_key=visitor,
        text=text,
        lon=lon,
        lat=lat,
        status="pending",
        created_at_s=now_s(),
    )
    session.add(comment)
    session.flush()
    return comment


def describe(comment: PublicComment, for_owner: bool = False) -> dict[str, Any]:
    """A comment as the API returns it; the owner also sees its status and the visitor's pseudonym (the
    first 12 hex digits of the stored key: enough to see one visitor's comments together)."""
    public = {
        "comment_id": comment.comment_id,
        "text": comment.text,
        "lon": comment.lon,
        "lat": comment.lat,
        "created_at_s": comment.created_at_s,
        "answer": comment.answer,
        "answered_by": comment.answered_by,
        "answered_at_s": comment.answered_at_s,
    }
    if not for_owner:
        return public
    return {
        **public,
        "status": comment.status,
        "visitor": comment.visitor_key[:12],
        "moderated_at_s": comment.moderated_at_s,
    }


def approved_comments(session: Session, scenario_id: int, limit: int = 500) -> list[PublicComment]:
    """The approved comments of a scenario, oldest first (what the public sees)."""
    return list(
        session.scalars(
            select(PublicComment)
            .where(PublicComment.scenario_id == scenario_id, PublicComment.status == "approved")
            .order_by(PublicComment.comment_id)
            .limit(limit)
        )
    )


def owner_comments(
    session: Session, account: Account, scenario_id: int, status: str | None = None
) -> list[PublicComment]:
    """Every public comment of the scenario (owner), or those with ``status``, oldest first."""
    require_scenario(session, scenario_id, account.user_id, "owner")
    query = select(PublicComment).where(PublicComment.scenario_id == scenario_id)
    if status is not None:
        query = query.where(PublicComment.status == status)
    return list(session.scalars(query.order_by(PublicComment.comment_id)))


def moderate(
    session: Session,
    account: Account,
    scenario_id: int,
    comment_id: int,
    status: str | None,
    answer: str | None,
    set_answer: bool,
) -> PublicComment:
    """Approve, reject or send back to pending (``status``), and/or answer (``set_answer``: ``answer``,
    or None to remove it) a public comment (owner)."""
    require_scenario(session, scenario_id, account.user_id, "owner")
    comment = session.get(PublicComment, comment_id)
    if comment is None or comment.scenario_id != scenario_id:
        raise NotFound(f"public comment {comment_id} of scenario {scenario_id} not found")
    if status is not None:
        if status not in COMMENT_STATUSES:
            raise InputError(
                "moderation", f"expected one of {list(COMMENT_STATUSES)}", where="field 'status'"
            )
        comment.status, comment.moderated_at_s = status, now_s()
    if set_answer:
        answer = None if answer is None else answer.strip() or None
        if answer is not None and len(answer) > MAX_ANSWER_CHARS:
            raise InputError(
                "moderation", f"expected at most {MAX_ANSWER_CHARS} characters", where="field 'answer'"
            )
        comment.answer = answer
        comment.answered_by = None if answer is None else account.name
        comment.answered_at_s = None if answer is None else now_s()
    return comment

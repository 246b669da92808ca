"""Sliding-window counts in the database, shared by the sign-in limits and the public write limits.

A counted event is a row ``(key, at_s)`` of a table (:class:`~metaliverpool.store.db.SigninFailure`,
:class:`~metaliverpool.store.db.PublicWrite`); a key is over its limit while it has ``limit`` rows within
the last ``window_s`` seconds. Every server process on one database (SQLite or PostgreSQL) counts
together, with or without Redis.
"""

from __future__ import annotations

import math

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from metaliverpool.errors import MetaLiverpoolError
from metaliverpool.store.db import PublicWrite, SigninFailure


class TooManyAttempts(MetaLiverpoolError):
    """Too many attempts for this key within the window (HTTP 429 with Retry-After, seconds)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


CountedTable = type[SigninFailure] | type[PublicWrite]
"""A table of counted events: a ``key`` and a time ``at_s`` (UTC seconds)."""


def refuse_if_over(
    session: Session, table: CountedTable, key: str, limit: int, window_s: float, now: float, what: str
) -> None:
    """Raise :class:`TooManyAttempts` (with the seconds until the oldest event leaves the window) if
    ``key`` has ``limit`` or more events in ``table`` within ``window_s`` seconds before ``now``."""
    count, oldest = session.execute(
        select(func.count(), func.min(table.at_s)).where(table.key == key, table.at_s > now - window_s)
    ).one()
    if count >= limit:
        wait_s = max(1, math.ceil(oldest + window_s - now))
        raise TooManyAttempts(f"{what}; try again in {wait_s} s", wait_s)


def forget_before(session: Session, table: CountedTable, before_s: float) -> None:
    """Delete the events older than ``before_s`` (out of every window)."""
    session.execute(delete(table).where(table.at_s < before_s))

"""Limits on what visitors without an account may write: per visitor and per client address, in
sliding windows counted in the database (:mod:`metaliverpool.service.rate_windows`, as the sign-in limits
are), so every server process sharing the database enforces them together.

A visitor is a pseudonym: the SHA-256 of a random cookie the server sets (:func:`visitor_key`); the
cookie itself is never stored. A visitor who drops the cookie becomes a new one, which is why every
write is also counted against the address. Every attempt counts, refused ones included (a wrong
challenge solution, an invalid text), except those refused for being over the limit: a client over its
limit adds no rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from metaliverpool.service.rate_windows import forget_before, refuse_if_over
from metaliverpool.store.db import PublicWrite, now_s

Action = Literal["comment", "reaction", "challenge"]


@dataclass(frozen=True)
class PublicLimits:
    """Attempts allowed per visitor and per address within ``window_s`` seconds, for each public write;
    and the proof-of-work challenge: ``challenge_bits`` leading zero bits of SHA-256 (about
    2^bits hashes for the client; 16 takes a browser well under a second), valid ``challenge_lifetime_s``.
    """

    comments_per_visitor: int = 5
    comments_per_address: int = 30
    reactions_per_visitor: int = 20
    reactions_per_address: int = 200
    challenges_per_address: int = 300
    window_s: float = 3600.0
    challenge_bits: int = 16
    challenge_lifetime_s: float = 600.0

    def allowed(self, action: Action) -> tuple[int | None, int]:
        """(per visitor or None, per address) for ``action``."""
        if action == "comment":
            return self.comments_per_visitor, self.comments_per_address
        if action == "reaction":
            return self.reactions_per_visitor, self.reactions_per_address
        return None, self.challenges_per_address


def visitor_key(cookie: str) -> str:
    """The pseudonym stored for a visitor's cookie (SHA-256, hex)."""
    return hashlib.sha256(cookie.encode()).hexdigest()


def count_attempt(
    session: Session, limits: PublicLimits, action: Action, address: str, visitor: str | None
) -> None:
    """Refuse (:class:`~metaliverpool.service.rate_windows.TooManyAttempts`, 429) if the visitor or the
    address is over its limit for ``action``; otherwise count this attempt against both."""
    now = now_s()
    per_visitor, per_address = limits.allowed(action)
    keys = [(f"{action}:addr:{address[:80]}", per_address, "address")]
    if visitor is not None and per_visitor is not None:
        keys.append((f"{action}:visitor:{visitor}", per_visitor, "visitor"))
    for key, limit, who in keys:
        refuse_if_over(
            session, PublicWrite, key, limit, limits.window_s, now, f"too many {action}s from this {who}"
        )
    forget_before(session, PublicWrite, now - limits.window_s)
    session.add_all(PublicWrite(key=key, at_s=now) for key, _, _ in keys)

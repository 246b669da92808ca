"""Sign-in limits: failed sign-ins counted in a sliding window per account name and per client address,
in the database, so every server process sharing it enforces the same limits.

When a key has ``limit`` failures within the last ``window_s`` seconds, further sign-ins for it are
refused (HTTP 429) until the oldest of them leaves the window: a lockout that lifts by itself. A correct
password clears the account's failures (not the address's).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from metaliverpool.service.rate_windows import TooManyAttempts, forget_before, refuse_if_over
from metaliverpool.store.db import SigninFailure, now_s

__all__ = ["SigninLimits", "TooManyAttempts", "check_allowed", "clear_account", "record_failure"]


@dataclass(frozen=True)
class SigninLimits:
    """Failed sign-ins allowed per account name and per client address within ``window_s`` seconds."""

    per_account: int = 10
    per_address: int = 50
    window_s: float = 900.0


def _keys(name: str, address: str) -> tuple[str, str]:
    return f"name:{name.lower()[:100]}", f"addr:{address[:100]}"


def check_allowed(session: Session, limits: SigninLimits, name: str, address: str) -> None:
    """Raise :class:`TooManyAttempts` if the account or the address is over its limit."""
    now = now_s()
    for key, limit, what in zip(
        _keys(name, address), (limits.per_account, limits.per_address), ("account", "address"), strict=True
    ):
        refuse_if_over(
            session,
            SigninFailure,
            key,
            limit,
            limits.window_s,
            now,
            f"too many failed sign-ins for this {what}",
        )


def record_failure(session: Session, limits: SigninLimits, name: str, address: str) -> None:
    """Count a failed sign-in against the account and the address (and drop failures out of the window)."""
    now = now_s()
    forget_before(session, SigninFailure, now - limits.window_s)
    session.add_all(SigninFailure(key=key, at_s=now) for key in _keys(name, address))


def clear_account(session: Session, name: str) -> None:
    """Forget the account's failures (after a correct password)."""
    session.execute(delete(SigninFailure).where(SigninFailure.key == _keys(name, "")[0]))

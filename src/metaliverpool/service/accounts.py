"""Accounts: sign-up, sign-in and bearer tokens (argon2id password hashes, SHA-256 token digests).

A token is 32 random bytes (URL-safe base64) handed to the client once; the database keeps only its
SHA-256, so a stolen database does not give working sessions. Tokens expire after
:data:`TOKEN_LIFETIME_S` seconds.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from metaliverpool.errors import InputError
from metaliverpool.service.access import AuthRequired, Conflict
from metaliverpool.store.db import AuthToken, User, now_s

TOKEN_LIFETIME_S = 30 * 24 * 3600.0
"""How long a sign-in lasts, in seconds (30 days)."""

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{2,40}$")
MIN_PASSWORD_LENGTH = 8

CURSOR_COLOURS = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#0f9b8e",
    "#f032e6",
    "#9a6324",
    "#800000",
    "#000075",
)
"""Distinct colours given to users in turn (their cursor, avatar and selections)."""


@dataclass(frozen=True)
class Account:
    """A signed-in user as the services see it."""

    user_id: int
    name: str
    colour: str


def make_hasher(memory_kib: int = 65536, time_cost: int = 3) -> PasswordHasher:
    """The argon2id hasher; the defaults are argon2-cffi's (RFC 9106 low-memory profile: 64 MiB, 3 passes)."""
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_credentials(name: object, password: object) -> tuple[str, str]:
    """The name and password if they are well formed; raises :class:`InputError` naming the field."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InputError("sign-up", "expected 2-40 letters, digits, '_', '.' or '-'", where="field 'name'")
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            "sign-up", f"expected at least {MIN_PASSWORD_LENGTH} characters", where="field 'password'"
        )
    return name, password


def sign_up(session: Session, hasher: PasswordHasher, name: str, password: str) -> Account:
    """Create an account; raises :class:`Conflict` if the name is taken (names are case-insensitive)."""
    name, password = check_credentials(name, password)
    taken = session.scalar(select(User.user_id).where(User.name.ilike(name)))
    if taken is not None:
        raise Conflict(f"the name {name!r} is taken")
    count = session.scalar(select(User.user_id).order_by(User.user_id.desc()).limit(1)) or 0
    user = User(
        name=name,
        password_hash=hasher.hash(password),
        colour=CURSOR_COLOURS[count % len(CURSOR_COLOURS)],
        created_at_s=now_s(),
    )
    session.add(user)
    session.flush()
    return Account(user.user_id, user.name, user.colour)


def sign_in(session: Session, hasher: PasswordHasher, name: str, password: str) -> tuple[Account, str]:
    """Check the password and open a session; returns the account and a new bearer token."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        hasher.hash(password)  # same work as a wrong password, so names cannot be probed by timing
        raise AuthRequired("wrong name or password")
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise AuthRequired("wrong name or password") from None
    token = secrets.token_urlsafe(32)
    now = now_s()
    session.add(
        AuthToken(
            token_sha256=_digest(token),
            user_id=user.user_id,
            created_at_s=now,
            expires_at_s=now + TOKEN_LIFETIME_S,
        )
    )
    return Account(user.user_id, user.name, user.colour), token


def resolve_token(session: Session, token: str | None) -> Account:
    """The account a bearer token belongs to; raises :class:`AuthRequired` if missing, unknown or expired."""
    if not token:
        raise AuthRequired("sign in first")
    row = session.get(AuthToken, _digest(token))
    if row is None or row.expires_at_s < now_s():
        raise AuthRequired("your session is unknown or expired; sign in again")
    user = session.get(User, row.user_id)
    if user is None:
        raise AuthRequired("your account no longer exists")
    return Account(user.user_id, user.name, user.colour)


def sign_out(session: Session, token: str) -> None:
    """End the session of ``token`` (nothing happens if it is unknown)."""
    session.execute(delete(AuthToken).where(AuthToken.token_sha256 == _digest(token)))


def find_user(session: Session, name: str) -> Account | None:
    """The account named ``name``, or None."""
    user = session.scalar(select(User).where(User.name == name))
    return None if user is None else Account(user.user_id, user.name, user.colour)

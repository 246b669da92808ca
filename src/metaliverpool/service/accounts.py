"""Accounts: sign-up, sign-in and bearer tokens (argon2id password hashes, SHA-256 token digests).

A token is 32 random bytes (URL-safe base64) handed to the client once; the database keeps only its
SHA-256, so a stolen database does not give working sessions. Tokens expire after
:data:`TOKEN_LIFETIME_S` seconds. Names are unique ignoring case: the database holds each name's lower
case in a unique column (``users.name_key``), so two sign-ups racing for one name give one account.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from metaliverpool.errors import InputError
from metaliverpool.service.access import AuthRequired, Conflict
from metaliverpool.service.passwords import Passwords, check_password
from metaliverpool.service.signin_limits import SigninLimits, check_allowed, clear_account, record_failure
from metaliverpool.store.db import AuthToken, Database, User, now_s

TOKEN_LIFETIME_S = 30 * 24 * 3600.0
"""How long a sign-in lasts, in seconds (30 days)."""

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{2,40}")
"""A user name, matched whole (``fullmatch``: no trailing newline or space)."""

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


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: object) -> str:
    """A well-formed user name; raises :class:`InputError` naming the field."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError("sign-up", "expected 2-40 letters, digits, '_', '.' or '-'", where="field 'name'")
    return name


def check_credentials(name: object, password: object) -> tuple[str, str]:
    """The name and password of a sign-up if the name is well formed and the password meets the policy
    (:func:`metaliverpool.service.passwords.check_password`); raises :class:`InputError` naming the field."""
    name = check_name(name)
    if not isinstance(password, str):
        raise InputError("sign-up", "expected text", where="field 'password'")
    return name, check_password(name, password)


def create_account(session: Session, name: str, password_hash: str) -> Account:
    """Store a new account; raises :class:`Conflict` if the name is taken ignoring case (checked first,
    and enforced by the unique ``name_key`` column when two sign-ups race)."""
    taken = session.scalar(select(User.user_id).where(User.name_key == name.lower()))
    if taken is not None:
        raise Conflict(f"the name {name!r} is taken")
    count = session.scalar(select(User.user_id).order_by(User.user_id.desc()).limit(1)) or 0
    user = User(
        name=name,
        name_key=name.lower(),
        password_hash=password_hash,
        colour=CURSOR_COLOURS[count % len(CURSOR_COLOURS)],
        created_at_s=now_s(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"the name {name!r} is taken") from None
    return Account(user.user_id, user.name, user.colour)


def sign_up(session: Session, passwords: Passwords, name: str, password: str) -> Account:
    """Check, hash and store a new account in ``session`` (see :func:`create_account`)."""
    name, password = check_credentials(name, password)
    return create_account(session, name, passwords.hash(password))


def sign_in(
    db: Database, passwords: Passwords, limits: SigninLimits, name: str, password: str, address: str
) -> tuple[Account, str]:
    """Check the password and open a session; returns the account and a new bearer token.

    Refused with :class:`~metaliverpool.service.signin_limits.TooManyAttempts` while the account name or
    the client ``address`` is over its limit of failures. The password is checked outside any database
    transaction (it may wait for a hashing slot).
    """

    def look_up(session: Session) -> User | None:
        check_allowed(session, limits, name, address)
        return session.scalar(select(User).where(User.name == name))

    user = db.run(look_up)
    if user is None:
        passwords.hash(password)  # same work as a wrong password, so names cannot be probed by timing
        matches = False
    else:
        matches = passwords.verify(user.password_hash, password)
    if user is None or not matches:
        db.run(lambda session: record_failure(session, limits, name, address))
        raise AuthRequired("wrong name or password")
    token = secrets.token_urlsafe(32)

    def open_session(session: Session) -> None:
        clear_account(session, name)
        now = now_s()
        session.add(
            AuthToken(
                token_sha256=_digest(token),
                user_id=user.user_id,
                created_at_s=now,
                expires_at_s=now + TOKEN_LIFETIME_S,
            )
        )

    db.run(open_session)
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

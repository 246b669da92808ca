"""Rights on open live sockets: re-authorisation against the database, access events and close codes.

A live socket is authorised when it opens, and again:

- on every document update it sends, in the database session that stores the update
  (:func:`live_role`), so nothing is stored for a sender whose token was signed out, who was removed,
  or whose scenario was made private or deleted;
- whenever an :class:`AccessChange` arrives on :data:`ACCESS_CHANNEL`. The REST routes that change
  access (members, visibility, deletion, sign-out) publish one after their transaction commits; every
  server process receives it through the fan-out and re-reads the rights of its own connections
  (:func:`current_roles`): a connection that lost access is closed, one whose role changed keeps going
  with the new role (its presence is stamped with it, a viewer's writes are refused).

Close codes (RFC 6455 private range; stock ``y-websocket`` clients treat 4400-4499 as final and
reconnect after any other code):

======  ======================================================================  =========
code    meaning                                                                  client
======  ======================================================================  =========
4401    not signed in, or the token was signed out or expired                   stops
4403    connection from another site's page (Origin), or role too weak           stops
4404    no such scenario, or private to this user (deleted, made private,        stops
        member removed)
4508    too far behind (too many unsent messages); reconnect                     retries
4509    the role changed while an update was in flight; reconnect                retries
1012    server restarting (sent by uvicorn on shutdown)                          retries
======  ======================================================================  =========
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from metaliverpool.service.access import AccessDenied, AuthRequired, NotFound, require_scenario, roles_of
from metaliverpool.service.accounts import Account, resolve_token
from metaliverpool.store.db import Scenario

CLOSE_SIGNED_OUT = 4401
CLOSE_NOT_ALLOWED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_BEHIND = 4508
CLOSE_ROLE_CHANGED = 4509
CLOSE_RESTART = 1012
"""Sent by uvicorn itself to every open socket when the server shuts down (listed for the docs)."""

ACCESS_CHANNEL = "access"
"""The fan-out channel of :class:`AccessChange` events; every server process with a room open listens."""

MAX_REASON_BYTES = 120
"""A WebSocket close reason must fit a control frame (123 bytes)."""


class Revoked(Exception):
    """The connection may not continue: close it with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason.encode("utf-8")[:MAX_REASON_BYTES].decode("utf-8", "ignore")


def live_role(session: Session, token: str | None, scenario_id: int) -> tuple[Account, str]:
    """The account of ``token`` and its role in the scenario; raises :class:`Revoked` with the close code."""
    try:
        account = resolve_token(session, token)
        return account, require_scenario(session, scenario_id, account.user_id, "viewer")[1]
    except AuthRequired as error:
        raise Revoked(CLOSE_SIGNED_OUT, str(error)) from None
    except NotFound as error:
        raise Revoked(CLOSE_NOT_FOUND, str(error)) from None
    except AccessDenied as error:
        raise Revoked(CLOSE_NOT_ALLOWED, str(error)) from None


def current_roles(
    session: Session, scenario_id: int, credentials: Iterable[tuple[int, str]], check_tokens: bool
) -> list[str | Revoked]:
    """The role now of each ``(user_id, token)`` in the scenario, or the :class:`Revoked` that ends it.

    With ``check_tokens`` each token is resolved again (a sign-out; a few queries per connection);
    without, only the scenario and its memberships are read (two queries for the whole room: a change of
    members, visibility or a deletion leaves tokens as they were).
    """
    credentials = list(credentials)
    if check_tokens:
        verdicts: list[str | Revoked] = []
        for _, token in credentials:
            try:
                verdicts.append(live_role(session, token, scenario_id)[1])
            except Revoked as revoked:
                verdicts.append(revoked)
        return verdicts
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        return [Revoked(CLOSE_NOT_FOUND, f"scenario {scenario_id} was deleted")] * len(credentials)
    roles = roles_of(session, scenario, {user_id for user_id, _ in credentials})
    gone = Revoked(CLOSE_NOT_FOUND, f"scenario {scenario_id} not found")
    return [roles[user_id] or gone for user_id, _ in credentials]


@dataclass(frozen=True)
class AccessChange:
    """Who to re-authorise: the connections to ``scenario_id`` (if given) of ``user_id`` (if given).

    ``scenario_id`` alone: its members, visibility or existence changed. ``user_id`` alone: one of the
    user's sessions ended (tokens are checked again).
    """

    scenario_id: int | None = None
    user_id: int | None = None

    def to_bytes(self) -> bytes:
        """JSON ``{"scenario_id": ..., "user_id": ...}``."""
        return json.dumps({"scenario_id": self.scenario_id, "user_id": self.user_id}).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> AccessChange:
        """Parse :meth:`to_bytes` output."""
        fields = json.loads(data)
        return cls(fields.get("scenario_id"), fields.get("user_id"))

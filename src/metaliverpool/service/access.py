"""Who may do what: per-scenario roles, visibility, and the errors that refuse a request.

Roles, strongest first: ``owner`` (everything, including members, visibility and deletion), ``editor``
(edit the shared document, comment, save versions, start runs), ``viewer`` (read, follow others, no
writes). A ``shared`` scenario may be read by any signed-in user who is not a member (as a viewer); a
``private`` one by members only, and to everybody else it does not exist (404, so its name does not leak).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from metaliverpool.errors import MetaLiverpoolError
from metaliverpool.store.db import Membership, Scenario

ROLE_RANK = {"viewer": 1, "editor": 2, "owner": 3}
"""Strength of each role; a request needing ``editor`` is allowed to ``editor`` and ``owner``."""


class AuthRequired(MetaLiverpoolError):
    """No valid sign-in (HTTP 401)."""


class AccessDenied(MetaLiverpoolError):
    """Signed in, but the role is too weak for this action (HTTP 403)."""


class NotFound(MetaLiverpoolError):
    """The thing does not exist, or the user may not know that it does (HTTP 404)."""


class Conflict(MetaLiverpoolError):
    """The request clashes with the current state, such as a name already taken (HTTP 409)."""


def role_of(session: Session, scenario: Scenario, user_id: int) -> str | None:
    """The user's effective role in ``scenario``: a membership role, ``viewer`` if shared, else None."""
    return roles_of(session, scenario, {user_id})[user_id]


def roles_of(session: Session, scenario: Scenario, user_ids: Iterable[int]) -> dict[int, str | None]:
    """The effective role (as :func:`role_of`) of each of ``user_ids``, in one query."""
    user_ids = set(user_ids)
    rows = session.execute(
        select(Membership.user_id, Membership.role).where(
            Membership.scenario_id == scenario.scenario_id, Membership.user_id.in_(user_ids)
        )
    )
    members = {user_id: role for user_id, role in rows}
    others = "viewer" if scenario.visibility == "shared" else None
    return {user_id: members.get(user_id, others) for user_id in user_ids}


def require_scenario(session: Session, scenario_id: int, user_id: int, needed: str) -> tuple[Scenario, str]:
    """The scenario and the user's role, if the role is at least ``needed``.

    Raises :class:`NotFound` if the scenario does not exist or is private to others, and
    :class:`AccessDenied` if the user may see it but the role is weaker than ``needed``.
    """
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"scenario {scenario_id} not found")
    role = role_of(session, scenario, user_id)
    if role is None:
        raise NotFound(f"scenario {scenario_id} not found")
    if ROLE_RANK[role] < ROLE_RANK[needed]:
        raise AccessDenied(f"scenario {scenario_id}: your role is {role}; this needs {needed} or above")
    return scenario, role

"""Scenario use cases: create, list, read, change settings, members and roles.

Each function takes an open session (the caller commits) and the acting account, and enforces the role
it needs through :func:`metaliverpool.service.access.require_scenario`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from metaliverpool.errors import InputError
from metaliverpool.service.access import AccessDenied, NotFound, require_scenario, role_of
from metaliverpool.service.accounts import Account
from metaliverpool.store.db import ROLES, VISIBILITIES, Membership, Scenario, User, now_s

MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 10_000


def check_name(name: object, source: str = "scenario") -> str:
    """A scenario or version name: 1-200 characters after trimming."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_CHARS:
        raise InputError(source, f"expected 1-{MAX_NAME_CHARS} characters", where="field 'name'")
    return name.strip()


def check_description(description: object) -> str:
    """A scenario description: text of at most :data:`MAX_DESCRIPTION_CHARS` characters."""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_CHARS:
        raise InputError(
            "scenario",
            f"expected text of at most {MAX_DESCRIPTION_CHARS} characters",
            where="field 'description'",
        )
    return description


def check_visibility(visibility: object) -> str:
    """``private`` or ``shared``."""
    if visibility not in VISIBILITIES:
        raise InputError("scenario", f"expected one of {list(VISIBILITIES)}", where="field 'visibility'")
    return str(visibility)


def describe(session: Session, scenario: Scenario, user_id: int) -> dict[str, Any]:
    """A scenario as the API returns it, with the caller's role and the members."""
    members = session.execute(
        select(User.name, User.colour, Membership.role)
        .join(Membership, Membership.user_id == User.user_id)
        .where(Membership.scenario_id == scenario.scenario_id)
        .order_by(User.name)
    ).all()
    owner = session.get(User, scenario.owner_id)
    return {
        "scenario_id": scenario.scenario_id,
        "twin_id": scenario.twin_id,
        "name": scenario.name,
        "description": scenario.description,
        "owner": owner.name if owner else None,
        "visibility": scenario.visibility,
        "forked_from_version_id": scenario.forked_from_version_id,
        "created_at_s": scenario.created_at_s,
        "published_at_s": scenario.published_at_s,
        "role": role_of(session, scenario, user_id),
        "members": [{"name": name, "colour": colour, "role": role} for name, colour, role in members],
    }


def create_scenario(
    session: Session,
    account: Account,
    twin_id: str,
    name: str,
    description: str = "",
    visibility: str = "private",
) -> Scenario:
    """A new scenario owned by ``account`` (the caller checks that ``twin_id`` exists)."""
    description = check_description(description)
    scenario = Scenario(
        twin_id=twin_id,
        name=check_name(name),
        description=description,
        owner_id=account.user_id,
        visibility=check_visibility(visibility),
        created_at_s=now_s(),
    )
    session.add(scenario)
    session.flush()
    session.add(Membership(scenario_id=scenario.scenario_id, user_id=account.user_id, role="owner"))
    session.flush()
    return scenario


def list_scenarios(session: Session, account: Account, limit: int = 100, offset: int = 0) -> list[Scenario]:
    """Scenarios the user is a member of, and shared ones, newest first: ``limit`` of them from ``offset``."""
    member_of = select(Membership.scenario_id).where(Membership.user_id == account.user_id)
    rows = session.scalars(
        select(Scenario)
        .where((Scenario.scenario_id.in_(member_of)) | (Scenario.visibility == "shared"))
        .order_by(Scenario.scenario_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows)


def update_scenario(
    session: Session, account: Account, scenario_id: int, changes: dict[str, Any]
) -> Scenario:
    """Change name/description (editor) or visibility (owner)."""
    unknown = set(changes) - {"name", "description", "visibility"}
    if unknown:
        raise InputError(
            "scenario",
            "unknown field; expected name, description or visibility",
            where=f"field '{sorted(unknown)[0]}'",
        )
    needed = "owner" if "visibility" in changes else "editor"
    scenario, _ = require_scenario(session, scenario_id, account.user_id, needed)
    if "name" in changes:
        scenario.name = check_name(changes["name"])
    if "description" in changes:
        scenario.description = check_description(changes["description"])
    if "visibility" in changes:
        scenario.visibility = check_visibility(changes["visibility"])
    return scenario


def set_member(session: Session, account: Account, scenario_id: int, name: str, role: str | None) -> None:
    """Give user ``name`` a role in the scenario (owner only); ``role=None`` removes the member.

    The owner's own role cannot be changed or removed.
    """
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "owner")
    if role is not None and role not in ROLES[1:]:
        raise InputError("member", f"expected one of {list(ROLES[1:])}", where="field 'role'")
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"user {name!r} not found")
    if user.user_id == scenario.owner_id:
        raise AccessDenied("the owner's role cannot be changed")
    membership = session.get(Membership, (scenario_id, user.user_id))
    if role is None:
        if membership is not None:
            session.delete(membership)
        return
    if membership is None:
        session.add(Membership(scenario_id=scenario_id, user_id=user.user_id, role=role))
    else:
        membership.role = role


def delete_scenario(session: Session, account: Account, scenario_id: int) -> None:
    """Delete a scenario with its document, versions and runs (owner only)."""
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "owner")
    session.delete(scenario)

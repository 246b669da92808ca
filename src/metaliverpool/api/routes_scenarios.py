"""Scenarios: create, list, read, settings, members, their edits and their scenario document."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query

from metaliverpool.api.deps import AccountDep, ContextDep, SessionDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import MAX_ID, MemberRole, PathName, ScenarioCreate, ScenarioId, ScenarioPatch
from metaliverpool.edits import SCHEMA_VERSION
from metaliverpool.service import scenarios
from metaliverpool.service.access import require_scenario
from metaliverpool.service.documents import load_doc, ordered_edits, read_edits
from metaliverpool.service.live_access import AccessChange

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])


@router.post("", status_code=201, responses=errors(401, 404, 413))
def create(
    body: ScenarioCreate, context: ContextDep, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """A new scenario on a twin, owned by the caller."""
    context.twins.get(body.twin_id)
    scenario = scenarios.create_scenario(
        session, account, body.twin_id, body.name, body.description, body.visibility
    )
    return scenarios.describe(session, scenario, account.user_id)


@router.get("", responses=errors(401))
def list_all(
    session: SessionDep,
    account: AccountDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[dict[str, Any]]:
    """Scenarios the caller is a member of, and shared ones, newest first (``limit`` from ``offset``)."""
    found = scenarios.list_scenarios(session, account, limit, offset)
    return [scenarios.describe(session, s, account.user_id) for s in found]


@router.get("/{scenario_id}", responses=errors(401, 404))
def get_one(scenario_id: ScenarioId, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """One scenario (404 if it does not exist or is private to others)."""
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "viewer")
    return scenarios.describe(session, scenario, account.user_id)


@router.patch("/{scenario_id}", responses=errors(401, 403, 404, 413))
def patch(
    scenario_id: ScenarioId,
    body: ScenarioPatch,
    context: ContextDep,
    session: SessionDep,
    account: AccountDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """Rename, describe (editor) or change visibility (owner: open sockets are re-authorised)."""
    changes = body.model_dump(exclude_unset=True)
    scenario = scenarios.update_scenario(session, account, scenario_id, changes)
    background.add_task(context.rooms.announce, AccessChange(scenario_id=scenario_id))
    return scenarios.describe(session, scenario, account.user_id)


@router.delete("/{scenario_id}", status_code=204, responses=errors(401, 403, 404))
def delete(
    scenario_id: ScenarioId,
    context: ContextDep,
    session: SessionDep,
    account: AccountDep,
    background: BackgroundTasks,
) -> None:
    """Delete a scenario and everything in it (owner); its open sockets are closed."""
    scenarios.delete_scenario(session, account, scenario_id)
    background.add_task(context.rooms.announce, AccessChange(scenario_id=scenario_id))


@router.put("/{scenario_id}/members/{name}", responses=errors(401, 403, 404, 413))
def put_member(
    scenario_id: ScenarioId,
    name: PathName,
    body: MemberRole,
    context: ContextDep,
    session: SessionDep,
    account: AccountDep,
    background: BackgroundTasks,
) -> dict[str, Any]:
    """Give a user a role (owner); their open sockets take it at once."""
    scenarios.set_member(session, account, scenario_id, name, body.role)
    background.add_task(context.rooms.announce, AccessChange(scenario_id=scenario_id))
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "owner")
    return scenarios.describe(session, scenario, account.user_id)


@router.delete("/{scenario_id}/members/{name}", status_code=204, responses=errors(401, 403, 404))
def delete_member(
    scenario_id: ScenarioId,
    name: PathName,
    context: ContextDep,
    session: SessionDep,
    account: AccountDep,
    background: BackgroundTasks,
) -> None:
    """Remove a member (owner); their open sockets are closed or become read-only."""
    scenarios.set_member(session, account, scenario_id, name, None)
    background.add_task(context.rooms.announce, AccessChange(scenario_id=scenario_id))


@router.get("/{scenario_id}/edits", responses=errors(401, 404))
def get_edits(scenario_id: ScenarioId, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """The scenario's current edits: as stored in the document (with authors) and in schema order."""
    require_scenario(session, scenario_id, account.user_id, "viewer")
    doc = load_doc(session, scenario_id)
    return {"entries": read_edits(doc), "edits": ordered_edits(read_edits(doc))}


@router.get("/{scenario_id}/document", responses=errors(401, 404))
def get_document(
    scenario_id: ScenarioId, context: ContextDep, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """The scenario as a scenario file (schema of :mod:`metaliverpool.edits`), ready to save and run."""
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "viewer")
    doc = load_doc(session, scenario_id)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": scenario.name,
        "description": scenario.description,
        "base_twin": str(context.twins.get(scenario.twin_id).path),
        "edits": ordered_edits(read_edits(doc)),
    }

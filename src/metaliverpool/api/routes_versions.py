"""Versions: save, history, read, fork, diff and restore."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from metaliverpool.api.deps import AccountDep, ContextDep, SessionDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import ForkCreate, QueryId, ScenarioId, VersionCreate, VersionId
from metaliverpool.service import scenarios, versions

router = APIRouter(prefix="/api", tags=["versions"])


@router.post("/scenarios/{scenario_id}/versions", status_code=201, responses=errors(401, 403, 404, 409, 413))
def save(
    scenario_id: ScenarioId, body: VersionCreate, context: ContextDep, account: AccountDep
) -> dict[str, Any]:
    """Save the current document as a named version (editor); numbered 1, 2, ... per scenario even when
    saves race (409 only if it keeps losing)."""

    def save_and_describe(session: Session) -> dict[str, Any]:
        version = versions.save_version(session, account, scenario_id, body.name)
        return versions.describe_version(session, version)

    return context.db.run(save_and_describe)


@router.get("/scenarios/{scenario_id}/versions", responses=errors(401, 404))
def history(
    scenario_id: ScenarioId,
    session: SessionDep,
    account: AccountDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[dict[str, Any]]:
    """The scenario's versions with author and time, newest first (``limit`` of them from ``offset``)."""
    found = versions.list_versions(session, account, scenario_id, limit, offset)
    return [versions.describe_version(session, v) for v in found]


@router.get("/versions/diff", responses=errors(401, 404))
def diff(a: QueryId, b: QueryId, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """Edits added, removed and changed from version ``a`` to ``b``; KPI difference if both ran."""
    return versions.diff_versions(session, account, a, b)


@router.get("/versions/{version_id}", responses=errors(401, 404))
def get_one(version_id: VersionId, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """One version with its edits."""
    version = versions.get_version(session, account, version_id)
    return {**versions.describe_version(session, version), "edits": json.loads(version.edits_json)}


@router.post("/versions/{version_id}/fork", status_code=201, responses=errors(401, 404, 413))
def fork(version_id: VersionId, body: ForkCreate, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """A new private scenario, owned by the caller, starting from this version."""
    scenario = versions.fork_version(session, account, version_id, body.name)
    return scenarios.describe(session, scenario, account.user_id)


@router.post("/versions/{version_id}/restore", responses=errors(401, 403, 404, 409))
async def restore(version_id: VersionId, context: ContextDep, account: AccountDep) -> dict[str, Any]:
    """Make the scenario's live document hold this version's edits again (editor), as one new change that
    everyone connected sees at once. The edits as they were just before are saved first as a version
    "before restoring vN" (``before``; null when nothing changed), so the restore can be restored away.
    Answers the counts of edits added, removed and changed. Comments are not touched."""
    return await versions.restore_version(context.db, context.rooms, account, version_id)

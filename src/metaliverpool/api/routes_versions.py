"""Versions: save, history, read, fork and diff."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter

from metaliverpool.api.deps import AccountDep, SessionDep
from metaliverpool.api.models import ForkCreate, VersionCreate
from metaliverpool.service import scenarios, versions

router = APIRouter(prefix="/api", tags=["versions"])


@router.post("/scenarios/{scenario_id}/versions", status_code=201)
def save(scenario_id: int, body: VersionCreate, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """Save the current document as a named version (editor)."""
    version = versions.save_version(session, account, scenario_id, body.name)
    return versions.describe_version(session, version)


@router.get("/scenarios/{scenario_id}/versions")
def history(scenario_id: int, session: SessionDep, account: AccountDep) -> list[dict[str, Any]]:
    """The scenario's versions with author and time, newest first."""
    return [
        versions.describe_version(session, v) for v in versions.list_versions(session, account, scenario_id)
    ]


@router.get("/versions/diff")
def diff(a: int, b: int, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """Edits added, removed and changed from version ``a`` to ``b``; KPI difference if both ran."""
    return versions.diff_versions(session, account, a, b)


@router.get("/versions/{version_id}")
def get_one(version_id: int, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """One version with its edits."""
    version = versions.get_version(session, account, version_id)
    return {**versions.describe_version(session, version), "edits": json.loads(version.edits_json)}


@router.post("/versions/{version_id}/fork", status_code=201)
def fork(version_id: int, body: ForkCreate, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """A new private scenario, owned by the caller, starting from this version."""
    scenario = versions.fork_version(session, account, version_id, body.name)
    return scenarios.describe(session, scenario, account.user_id)

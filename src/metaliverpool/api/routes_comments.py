"""Comments pinned on the map (they live in the scenario's shared document)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from metaliverpool.api.context import ServerContext
from metaliverpool.api.deps import AccountDep, ContextDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import CommentCreate, CommentPatch, PathName, ScenarioId
from metaliverpool.service import comments
from metaliverpool.service.access import require_scenario
from metaliverpool.service.accounts import Account
from metaliverpool.service.documents import load_doc, read_comments

router = APIRouter(prefix="/api/scenarios/{scenario_id}/comments", tags=["comments"])


async def _role(context: ServerContext, scenario_id: int, account: Account, needed: str) -> str:
    def check() -> str:
        with context.db.session() as session:
            return require_scenario(session, scenario_id, account.user_id, needed)[1]

    return await run_in_threadpool(check)


@router.get("", responses=errors(401, 404))
async def list_comments(
    scenario_id: ScenarioId, context: ContextDep, account: AccountDep
) -> list[dict[str, Any]]:
    """Every comment, oldest first (threads via ``parent``)."""
    await _role(context, scenario_id, account, "viewer")

    def read() -> dict[str, Any]:
        with context.db.session() as session:
            return read_comments(load_doc(session, scenario_id))

    found = await run_in_threadpool(read)
    items = [{"comment_id": key, **value} for key, value in found.items()]
    return sorted(items, key=lambda item: (item["created_at_s"], item["comment_id"]))


@router.post("", status_code=201, responses=errors(401, 403, 404, 413))
async def add(
    scenario_id: ScenarioId, body: CommentCreate, context: ContextDep, account: AccountDep
) -> dict[str, Any]:
    """Add a comment (editor); it reaches everyone in the room at once."""
    await _role(context, scenario_id, account, "editor")
    return await comments.add_comment(context.rooms, scenario_id, account, body.model_dump())


@router.patch("/{comment_id}", responses=errors(401, 403, 404, 413))
async def patch(
    scenario_id: ScenarioId,
    comment_id: PathName,
    body: CommentPatch,
    context: ContextDep,
    account: AccountDep,
) -> dict[str, Any]:
    """Resolve or reopen a comment (editor)."""
    await _role(context, scenario_id, account, "editor")
    return await comments.resolve_comment(context.rooms, scenario_id, account, comment_id, body.resolved)


@router.delete("/{comment_id}", status_code=204, responses=errors(401, 403, 404))
async def delete(
    scenario_id: ScenarioId, comment_id: PathName, context: ContextDep, account: AccountDep
) -> None:
    """Delete a comment (its author, or the owner)."""
    role = await _role(context, scenario_id, account, "editor")
    await comments.delete_comment(context.rooms, scenario_id, account, comment_id, role == "owner")

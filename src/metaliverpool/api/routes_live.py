"""The live twin on the map: the newest network state, pushed as it refreshes (server-sent events), and
the signal proposals with a person's decision (:mod:`metaliverpool.service.live_view`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from metaliverpool.api.deps import AccountDep, ContextDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import PathName
from metaliverpool.service.access import NotFound
from metaliverpool.service.live_view import NOTE_MAX_CHARS, LiveView

router = APIRouter(prefix="/api/twins", tags=["live"])

STREAM_POLL_S = 1.0
"""Seconds between the stream's looks at the live database."""


class Decision(BaseModel):
    """A person's decision on a signal proposal."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    note: str = Field("", max_length=NOTE_MAX_CHARS)


def _view(context: Any, twin_id: str) -> LiveView:
    context.twins.get(twin_id)  # 404 for an unknown twin
    view: LiveView | None = context.live
    if view is None:
        raise NotFound("this server has no live database (serve --live-db)")
    return view


@router.get("/{twin_id}/live/state", responses=errors(401, 404))
async def live_state(twin_id: PathName, context: ContextDep, account: AccountDep) -> dict[str, Any]:
    """The newest network state: per link the congestion level (percent) now and 5 to 60 minutes ahead,
    which links a detector saw, and each horizon's method and recent error."""
    view = _view(context, twin_id)
    state = await run_in_threadpool(view.state, twin_id)
    if state is None:
        raise NotFound(f"no live state of twin {twin_id!r} yet")
    return state


@router.get(
    "/{twin_id}/live/stream",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"},
        **errors(401, 404),
    },
)
async def live_stream(
    twin_id: PathName, request: Request, context: ContextDep, account: AccountDep
) -> StreamingResponse:
    """Server-sent events: ``state`` (the state, as ``live/state``) each time it refreshes and
    ``proposals`` (as ``signals/proposals``) each time they change."""
    view = _view(context, twin_id)

    async def events() -> AsyncIterator[bytes]:
        last_state: float | None = None
        last_proposals = ""
        while not await request.is_disconnected():
            state = await run_in_threadpool(view.state, twin_id, last_state)
            if state is not None:
                last_state = float(state["refreshed_unix_s"])
                yield b"event: state\ndata: " + json.dumps(state).encode() + b"\n\n"
            proposals = json.dumps(await run_in_threadpool(view.proposals, twin_id))
            if proposals != last_proposals:
                last_proposals = proposals
                yield b"event: proposals\ndata: " + proposals.encode() + b"\n\n"
            await asyncio.sleep(STREAM_POLL_S)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


@router.get("/{twin_id}/signals/proposals", responses=errors(401, 404))
async def signal_proposals(
    twin_id: PathName, context: ContextDep, account: AccountDep
) -> list[dict[str, Any]]:
    """The newest signal proposals, newest first: the junction by its streets, the current and proposed
    plans, the simulated effect with and without, the status, who decided and when, and the audit trail."""
    view = _view(context, twin_id)
    return await run_in_threadpool(view.proposals, twin_id)


@router.post("/{twin_id}/signals/proposals/{proposal_id}/decision", responses=errors(401, 403, 404, 409))
async def decide(
    twin_id: PathName, proposal_id: int, body: Decision, context: ContextDep, account: AccountDep
) -> dict[str, Any]:
    """Approve (the plan is written as a plan file and published over MQTT) or reject a waiting proposal;
    signal operators only."""
    view = _view(context, twin_id)
    if not 0 < proposal_id < 2**62:
        raise NotFound(f"twin {twin_id!r} has no signal proposal {proposal_id}")
    return await run_in_threadpool(
        view.decide, twin_id, proposal_id, account.name, body.decision == "approve", body.note
    )

"""Twins, their map layers (binary ``MLL1`` columns, see :mod:`metaliverpool.service.layers`) and their
congestion forecasts (:mod:`metaliverpool.service.forecasts`)."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from metaliverpool.api.deps import AccountDep, ContextDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import PathName

router = APIRouter(prefix="/api/twins", tags=["twins"])


@router.get("", responses=errors(401))
def list_twins(context: ContextDep, account: AccountDep) -> list[dict[str, Any]]:
    """The twins this server offers."""
    return [context.twins.summary(twin_id) for twin_id in context.twins.entries]


@router.get("/{twin_id}", responses=errors(401, 404))
def get_twin(twin_id: PathName, context: ContextDep, account: AccountDep) -> dict[str, Any]:
    """One twin: region, counts, bounds and layer names."""
    return context.twins.summary(twin_id)


@router.get(
    "/{twin_id}/layers/{layer}",
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "an MLL1 layer"},
        304: {"description": "Not modified (If-None-Match)"},
        **errors(401, 404),
    },
)
async def get_layer(
    twin_id: PathName, layer: PathName, request: Request, context: ContextDep, account: AccountDep
) -> Response:
    """A map layer as ``MLL1`` binary columns (links, zones, services, junctions, bus_stops)."""
    data = await run_in_threadpool(context.twins.layer, twin_id, layer)
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"ETag": etag, "Cache-Control": "private, max-age=3600"},
    )


@router.get("/{twin_id}/forecasts", responses=errors(401, 404))
async def list_forecasts(twin_id: PathName, context: ContextDep, account: AccountDep) -> list[dict[str, Any]]:
    """The twin's trained forecasting models: what each is, its validation scores and the moments
    (origins) its feed offers."""
    return await run_in_threadpool(context.forecasts.summaries, twin_id)


@router.get("/{twin_id}/forecasts/{name}/snapshot", responses=errors(401, 404, 409))
async def forecast_snapshot(
    twin_id: PathName,
    name: PathName,
    context: ContextDep,
    account: AccountDep,
    row: int = Query(
        ..., ge=0, le=2**31 - 1, description="Origin row of the feed ('now'), one of the model's origins."
    ),
    horizon_min: float = Query(
        30.0, ge=0, le=100_000, description="Minutes ahead: one of the model's horizons."
    ),
) -> dict[str, Any]:
    """Every sensor link's forecast from ``row``, ``horizon_min`` ahead, with its congestion level and,
    when the feed holds it, what was observed then."""
    return await run_in_threadpool(context.forecasts.snapshot, twin_id, name, row, horizon_min)

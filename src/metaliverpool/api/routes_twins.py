"""Twins and their map layers (binary ``MLL1`` columns, see :mod:`metaliverpool.service.layers`)."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from metaliverpool.api.deps import AccountDep, ContextDep

router = APIRouter(prefix="/api/twins", tags=["twins"])


@router.get("")
def list_twins(context: ContextDep, account: AccountDep) -> list[dict[str, Any]]:
    """The twins this server offers."""
    return [context.twins.summary(twin_id) for twin_id in context.twins.entries]


@router.get("/{twin_id}")
def get_twin(twin_id: str, context: ContextDep, account: AccountDep) -> dict[str, Any]:
    """One twin: region, counts, bounds and layer names."""
    return context.twins.summary(twin_id)


@router.get(
    "/{twin_id}/layers/{layer}",
    responses={200: {"content": {"application/octet-stream": {}}, "description": "an MLL1 layer"}},
)
async def get_layer(
    twin_id: str, layer: str, request: Request, context: ContextDep, account: AccountDep
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

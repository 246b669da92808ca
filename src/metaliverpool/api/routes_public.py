"""The public map's read-only endpoints: no account, cacheable. The region layers are gzipped GeoJSON
built once per server from its data folder (:mod:`metaliverpool.service.public_map`). Requests are limited
per client address (``ServerConfig.public_read_limits``; 429 with Retry-After beyond them)."""

from __future__ import annotations

import gzip
import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from metaliverpool.api.deps import ContextDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import clean_text
from metaliverpool.service.access import NotFound
from metaliverpool.service.public_map import PublicMap


async def limit_requests(request: Request, context: ContextDep) -> None:
    """Count the request against its client address (429 with Retry-After when over the limit)."""
    address = request.client.host if request.client else ""
    context.public_limiter.check(address, time.monotonic())


router = APIRouter(
    prefix="/api/public", tags=["public"], dependencies=[Depends(limit_requests)], responses=errors(429)
)
LayerName = Literal["districts", "wards", "lsoas", "services", "stations", "bus_stops", "roads"]
CACHE_CONTROL = "public, max-age=3600"


def public_map(context: ContextDep) -> PublicMap:
    """The server's region layers (404 when it was started without a data folder)."""
    if context.public_map is None:
        raise NotFound("this server has no region data folder (serve --data)")
    return context.public_map


@router.get("/region", responses=errors(404))
async def region(context: ContextDep) -> dict[str, Any]:
    """The region's bounds (west, south, east, north degrees), its layers with their feature counts and
    sizes (bytes), and the data's attribution."""
    return await run_in_threadpool(public_map(context).summary)


@router.get(
    "/layers/{layer}",
    responses={
        200: {"content": {"application/geo+json": {}}, "description": "a GeoJSON FeatureCollection"},
        304: {"description": "Not modified (If-None-Match)"},
        **errors(404),
    },
)
async def get_layer(layer: LayerName, request: Request, context: ContextDep) -> Response:
    """One region layer as GeoJSON (gzip-encoded when the client accepts it), with an ETag."""
    data = await run_in_threadpool(public_map(context).layer, layer)
    headers = {"ETag": data.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == data.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            data.gzip_bytes,
            media_type="application/geo+json",
            headers={**headers, "Content-Encoding": "gzip"},
        )
    return Response(gzip.decompress(data.gzip_bytes), media_type="application/geo+json", headers=headers)


@router.get("/search", responses=errors(404))
async def search(
    context: ContextDep,
    q: Annotated[
        str,
        Query(min_length=2, max_length=80, description="Part of a name (case-insensitive)."),
        AfterValidator(clean_text),
    ],
    limit: int = Query(10, ge=1, le=50, description="Most results returned."),
) -> list[dict[str, Any]]:
    """Districts, wards, LSOAs, stations, ferry terminals, bus stops, services and streets whose name contains
    ``q``: each with its ``kind``, ``name``, a ``detail`` line and a point (``lon``, ``lat`` degrees)."""
    return await run_in_threadpool(public_map(context).search, q, limit)

"""What the editor selects on a twin: a street grown junction by junction, a junction with all its signal
nodes, and what a drawn low-traffic neighbourhood would do (:mod:`metaliverpool.service.streets`,
:mod:`metaliverpool.edits.ltn_cells`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from metaliverpool.api.deps import AccountDep, ContextDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import LtnPreview, PathName
from metaliverpool.edits.ltn_cells import ltn_preview
from metaliverpool.edits.schema import LowTrafficNeighbourhood
from metaliverpool.service.streets import StreetIndex

router = APIRouter(prefix="/api/twins", tags=["twins"])

MAX_SEGMENTS = 50
"""The most junctions a street selection grows by at either end."""


def _index(context: Any, twin_id: str) -> StreetIndex:
    """The twin's street index, built on first use from its map tables (already read for the map)."""
    return context.streets.get(twin_id, context.twins.twin(twin_id))


@router.get("/{twin_id}/street", responses=errors(401, 404))
async def street(
    twin_id: PathName,
    context: ContextDep,
    account: AccountDep,
    link_id: int = Query(..., ge=0, le=2**31 - 1, description="A link of the street (the one clicked)."),
    before: int = Query(0, ge=0, le=MAX_SEGMENTS, description="Junctions to grow by behind the link."),
    after: int = Query(0, ge=0, le=MAX_SEGMENTS, description="Junctions to grow by ahead of the link."),
) -> dict[str, Any]:
    """The street through ``link_id``: its run of one name between two junctions, grown by ``before`` and
    ``after`` junctions; its OSM ways (what an edit names), the links they hold, its ends named by their
    streets, current lanes / limit (mph) / class, and the values an edit may set (``choices``)."""
    return await run_in_threadpool(lambda: _index(context, twin_id).street(link_id, before, after))


@router.get("/{twin_id}/junction", responses=errors(401, 404))
async def junction(
    twin_id: PathName,
    context: ContextDep,
    account: AccountDep,
    osm_node_id: int = Query(..., ge=-(2**62), le=2**62, description="An OSM node of the junction."),
) -> dict[str, Any]:
    """The junction holding ``osm_node_id``: its name by its streets, all its OSM nodes and signal nodes,
    its control and its signal plan now (cycle in s, green ratio per approach)."""
    return await run_in_threadpool(lambda: _index(context, twin_id).junction(osm_node_id))


@router.post("/{twin_id}/ltn", responses=errors(401, 404, 413))
async def ltn(
    twin_id: PathName, body: LtnPreview, context: ContextDep, account: AccountDep
) -> dict[str, Any]:
    """What a low-traffic neighbourhood drawn as ``area`` would do: its modal filters, its cells, the
    rat-runs between its boundary roads before and after, and, when it changes nothing, why."""
    edit = LowTrafficNeighbourhood(kind="low_traffic_neighbourhood", area=body.area)
    if body.minor_highways is not None:
        edit = edit.model_copy(update={"minor_highways": body.minor_highways})
    return await run_in_threadpool(lambda: ltn_preview(context.twins.full_twin(twin_id), edit))

"""Runs: start (baseline and scenario, same seeds), progress, KPIs, report and output files."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from metaliverpool.api.deps import AccountDep, ContextDep, SessionDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import PathName, RunCreate, RunId, ScenarioId
from metaliverpool.service import runs
from metaliverpool.service.access import NotFound, require_scenario
from metaliverpool.service.layers import encode_link_change

router = APIRouter(prefix="/api", tags=["runs"])


@router.post("/scenarios/{scenario_id}/runs", status_code=202, responses=errors(401, 403, 404, 409, 413))
def start(
    scenario_id: ScenarioId, body: RunCreate, context: ContextDep, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """Queue a run of the current edits (or of ``version_id``); 422 if an edit is invalid or refused by
    the checks against the twin and the engine (the message names each refused edit by number and label,
    as ``POST /api/scenarios/{id}/check`` does), 409 if the user already has as many runs queued as the
    server allows."""
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "editor")
    base_twin = context.twins.get(scenario.twin_id).path
    settings = body.model_dump(exclude_none=True, include={"seeds", "engine", "decompose"})
    run = runs.start_run(
        session,
        account,
        scenario_id,
        base_twin,
        body.version_id,
        settings,
        context.executor.limits,
        twin=context.twins.full_twin(scenario.twin_id),
        base_digest=lambda demand: context.twins.run_digest(scenario.twin_id, demand),
    )
    session.commit()
    context.executor.wake()
    return runs.describe_run(run)


@router.post("/runs/{run_id}/cancel", responses=errors(401, 403, 404, 409))
def cancel(run_id: RunId, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """Cancel a queued or running run (editor); 409 if it has already ended."""
    return runs.describe_run(runs.cancel_run(session, account, run_id))


@router.get("/scenarios/{scenario_id}/runs", responses=errors(401, 404))
def list_all(scenario_id: ScenarioId, session: SessionDep, account: AccountDep) -> list[dict[str, Any]]:
    """The scenario's runs, newest first."""
    return [runs.describe_run(run) for run in runs.list_runs(session, account, scenario_id)]


@router.get("/runs/{run_id}", responses=errors(401, 404))
def get_one(run_id: RunId, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """A run's status and progress (0..1), its KPIs once done."""
    return runs.describe_run(runs.get_run(session, account, run_id))


@router.get("/runs/{run_id}/kpis", responses=errors(401, 404))
def kpis(run_id: RunId, session: SessionDep, account: AccountDep) -> dict[str, Any]:
    """The run's ``kpis.json`` (404 until the run is done)."""
    run = runs.get_run(session, account, run_id)
    if run.status != "done":
        raise NotFound(f"run {run_id} is {run.status}; KPIs come when it is done")
    result: dict[str, Any] = runs.describe_run(run)["kpis"]
    return result


@router.get("/runs/{run_id}/report", response_class=HTMLResponse, responses=errors(401, 404))
def report(run_id: RunId, context: ContextDep, session: SessionDep, account: AccountDep) -> HTMLResponse:
    """The run's self-contained HTML report."""
    run = runs.get_run(session, account, run_id)
    return HTMLResponse(context.runs.get_bytes(runs.output_digest(run, "report.html")))


@router.get(
    "/runs/{run_id}/layers/link_change",
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "an MLL1 layer"},
        **errors(401, 404),
    },
)
def link_change(run_id: RunId, context: ContextDep, session: SessionDep, account: AccountDep) -> Response:
    """The run's link flow change (baseline, scenario, change in veh/h) as an ``MLL1`` layer."""
    run = runs.get_run(session, account, run_id)
    frame = context.runs.get_frame(runs.output_digest(run, "links.parquet"))
    return Response(encode_link_change(frame), media_type="application/octet-stream")


@router.get(
    "/runs/{run_id}/layers/vehicles",
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "an MLL1 layer"},
        **errors(401, 404),
    },
)
def vehicles(run_id: RunId, context: ContextDep, session: SessionDep, account: AccountDep) -> Response:
    """Animated vehicles of the run's scenario (paths with a time at each vertex) as an ``MLL1`` layer."""
    run = runs.get_run(session, account, run_id)
    data = context.runs.get_bytes(runs.output_digest(run, "vehicles.mll"))
    return Response(data, media_type="application/octet-stream")


@router.get("/runs/{run_id}/outputs/{name:path}", responses=errors(401, 404))
def output(
    run_id: RunId, name: PathName, context: ContextDep, session: SessionDep, account: AccountDep
) -> Response:
    """One output file of the run (Parquet tables, JSON), by its name in the run's output folder."""
    run = runs.get_run(session, account, run_id)
    data = context.runs.get_bytes(runs.output_digest(run, name))
    media = "application/json" if name.endswith(".json") else "application/octet-stream"
    return Response(data, media_type=media)

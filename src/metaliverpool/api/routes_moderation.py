"""The owner's side of a public consultation: publish or withdraw a scenario, the public's comments
(every status), their moderation and answers, and their export as CSV or GeoJSON."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response

from metaliverpool.api.deps import AccountDep, SessionDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import MAX_ID, Moderation, Publication, ScenarioId
from metaliverpool.service import consultations, public_comments
from metaliverpool.service.comment_export import comments_csv, comments_geojson
from metaliverpool.store.db import Scenario

router = APIRouter(prefix="/api/scenarios/{scenario_id}", tags=["consultations"])
Status = Literal["pending", "approved", "rejected"]


@router.put("/publication", responses=errors(401, 403, 404, 413))
def publish(
    scenario_id: ScenarioId, body: Publication, session: SessionDep, account: AccountDep
) -> dict[str, Any]:
    """Publish the scenario for public consultation or withdraw it (owner): anyone may then see it, its
    latest results and report, and comment and react."""
    scenario = consultations.set_published(session, account, scenario_id, body.published)
    return {"scenario_id": scenario_id, "published_at_s": scenario.published_at_s}


@router.get("/public-comments", responses=errors(401, 403, 404))
def list_comments(
    scenario_id: ScenarioId,
    session: SessionDep,
    account: AccountDep,
    status: Status | None = None,
) -> list[dict[str, Any]]:
    """The public's comments on the scenario (owner), oldest first, with their status (the moderation
    queue is ``status=pending``) and the visitor's pseudonym."""
    found = public_comments.owner_comments(session, account, scenario_id, status)
    return [public_comments.describe(comment, for_owner=True) for comment in found]


@router.patch("/public-comments/{comment_id}", responses=errors(401, 403, 404, 413))
def moderate(
    scenario_id: ScenarioId,
    comment_id: Annotated[int, Path(ge=1, le=MAX_ID, description="A public comment's id.")],
    body: Moderation,
    session: SessionDep,
    account: AccountDep,
) -> dict[str, Any]:
    """Approve, reject (hide) or send back a public comment, and/or answer it (owner); the answer is shown
    publicly under an approved comment."""
    comment = public_comments.moderate(
        session, account, scenario_id, comment_id, body.status, body.answer, "answer" in body.model_fields_set
    )
    return public_comments.describe(comment, for_owner=True)


@router.get(
    "/public-export",
    responses={
        200: {
            "content": {"text/csv": {}, "application/geo+json": {}},
            "description": "the comments as CSV or as a GeoJSON FeatureCollection",
        },
        **errors(401, 403, 404),
    },
)
def export(
    scenario_id: ScenarioId,
    session: SessionDep,
    account: AccountDep,
    format: Literal["csv", "geojson"] = "csv",
    status: Status | None = None,
) -> Response:
    """The public's comments (every status, or ``status``) for a consultation report (owner)."""
    found = public_comments.owner_comments(session, account, scenario_id, status)
    name = f"scenario-{scenario_id}-public-comments"
    if format == "csv":
        body, media = comments_csv(found), "text/csv; charset=utf-8"
    else:
        scenario = session.get(Scenario, scenario_id)
        assert scenario is not None  # owner_comments found it
        body, media = (
            json.dumps(comments_geojson(found, scenario.name), ensure_ascii=False),
            "application/geo+json",
        )
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'}
    )

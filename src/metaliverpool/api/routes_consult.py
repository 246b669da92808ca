"""Public consultations for visitors without an account: the published scenarios, their latest results
and report, the approved comments with their answers; and the visitors' writes (a located comment, a
support/opposition reaction), each behind the per-visitor and per-address limits and a proof-of-work
challenge (:mod:`metaliverpool.service.challenges`).

A visitor is known by a random cookie (``ml_visitor``, HttpOnly) the first write sets; only its SHA-256
is stored.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from metaliverpool.api.context import ServerContext
from metaliverpool.api.deps import ContextDep, SessionDep
from metaliverpool.api.errors import errors
from metaliverpool.api.models import MAX_ID, PublicCommentCreate, ReactionPut, ScenarioId
from metaliverpool.service import consultations, public_comments
from metaliverpool.service.access import NotFound
from metaliverpool.service.challenges import admit_write, issue_challenge
from metaliverpool.service.public_limits import count_attempt, visitor_key
from metaliverpool.service.runs import output_digest
from metaliverpool.store.db import Run

router = APIRouter(prefix="/api/public", tags=["consultations"])
VISITOR_COOKIE = "ml_visitor"
VISITOR_LIFETIME_S = 365 * 86400
_VISITOR = re.compile(r"^[0-9a-f]{32}$")


def client_address(request: Request) -> str:
    """The client's address (the peer, or ``X-Forwarded-For`` from a trusted proxy through uvicorn)."""
    return request.client.host if request.client else "unknown"


def known_visitor(request: Request) -> str | None:
    """The pseudonym of the request's visitor cookie, if it has a well-formed one."""
    cookie = request.cookies.get(VISITOR_COOKIE, "")
    return visitor_key(cookie) if _VISITOR.match(cookie) else None


def visitor(request: Request, response: Response, secure: bool) -> str:
    """The request's visitor pseudonym; a visitor without a cookie gets a new one (set on ``response``)."""
    known = known_visitor(request)
    if known is not None:
        return known
    cookie = secrets.token_hex(16)
    response.set_cookie(
        VISITOR_COOKIE,
        cookie,
        max_age=VISITOR_LIFETIME_S,
        httponly=True,
        samesite="strict",
        secure=secure or request.url.scheme == "https",
    )
    return visitor_key(cookie)


@router.get("/challenge", responses=errors(429))
def challenge(request: Request, context: ContextDep) -> dict[str, Any]:
    """A proof-of-work challenge for one public write: ``{challenge, bits, expires_in_s}``. Find a text
    ``solution`` (letters and digits, at most 32) such that SHA-256 of ``"<challenge>:<solution>"`` starts
    with ``bits`` zero bits, and send both with the write. Limited per address (429 with Retry-After)."""
    limits, address = context.config.public_limits, client_address(request)

    def issue(session: Session) -> dict[str, Any]:
        count_attempt(session, limits, "challenge", address, None)
        return issue_challenge(session, limits)

    return context.db.run(issue)


@router.get("/consultations", responses=errors())
def list_consultations(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[dict[str, Any]]:
    """Published scenarios, most recently published first: name, description, owner, reactions
    (``support``, ``oppose``) and the number of approved comments."""
    return consultations.list_consultations(session, limit, offset)


def _consultation(
    context: ServerContext, session: Session, scenario_id: int, who: str | None
) -> dict[str, Any]:
    scenario = consultations.published_scenario(session, scenario_id)
    return {
        "scenario_id": scenario.scenario_id,
        "twin_id": scenario.twin_id,
        "name": scenario.name,
        "description": scenario.description,
        "published_at_s": scenario.published_at_s,
        "bounds": context.twins.summary(scenario.twin_id)["bounds"],
        "reactions": consultations.reaction_counts(session, [scenario_id])[scenario_id],
        "your_stance": consultations.visitor_stance(session, scenario_id, who),
        "results": consultations.latest_results(session, scenario_id),
        "comments": [
            public_comments.describe(c) for c in public_comments.approved_comments(session, scenario_id)
        ],
    }


@router.get("/consultations/{scenario_id}", responses=errors(404))
def get_consultation(
    scenario_id: ScenarioId, request: Request, context: ContextDep, session: SessionDep
) -> dict[str, Any]:
    """A published scenario: its twin's bounds (west, south, east, north degrees), reactions and this
    visitor's own, the latest finished run's results (``kpi_table``; ``report``: whether it has one) and
    the approved comments with the owner's answers (at most 500, oldest first)."""
    return _consultation(context, session, scenario_id, known_visitor(request))


@router.get("/consultations/{scenario_id}/report", response_class=HTMLResponse, responses=errors(404))
def report(scenario_id: ScenarioId, context: ContextDep, session: SessionDep) -> HTMLResponse:
    """The self-contained HTML report of the published scenario's latest finished run."""
    consultations.published_scenario(session, scenario_id)
    results = consultations.latest_results(session, scenario_id)
    if results is None:
        raise NotFound(f"consultation {scenario_id} has no finished run yet")
    run = session.get(Run, results["run_id"])
    assert run is not None
    return HTMLResponse(context.runs.get_bytes(output_digest(run, "report.html")))


@router.post("/consultations/{scenario_id}/comments", status_code=202, responses=errors(404, 409, 413, 429))
def add_comment(
    scenario_id: ScenarioId,
    body: PublicCommentCreate,
    request: Request,
    response: Response,
    context: ContextDep,
) -> dict[str, Any]:
    """Leave a comment at a point: it waits, hidden, until the owner approves it (``status`` pending).
    422 for a failed challenge or a bad text or point (outside the scenario's area, more than two web
    addresses), 429 over the visitor's or the address's limit, 409 when the moderation queue is full."""
    who = visitor(request, response, context.config.secure_cookies)
    admit_write(
        context.db,
        context.config.public_limits,
        "comment",
        client_address(request),
        who,
        body.challenge,
        body.solution,
    )

    def write(session: Session) -> dict[str, Any]:
        scenario = consultations.published_scenario(session, scenario_id)
        bounds = context.twins.summary(scenario.twin_id)["bounds"]
        comment = public_comments.add_comment(
            session, scenario_id, who, body.text, body.lon, body.lat, bounds
        )
        return {**public_comments.describe(comment), "status": comment.status}

    return context.db.run(write)


@router.put("/consultations/{scenario_id}/reaction", responses=errors(404, 409, 413, 429))
def react(
    scenario_id: ScenarioId,
    body: ReactionPut,
    request: Request,
    response: Response,
    context: ContextDep,
) -> dict[str, Any]:
    """Support or oppose the scenario (``null`` withdraws): one reaction per visitor, counted at once.
    Answers the scenario's reactions and this visitor's stance; 422 for a failed challenge, 429 over a
    limit."""
    who = visitor(request, response, context.config.secure_cookies)
    admit_write(
        context.db,
        context.config.public_limits,
        "reaction",
        client_address(request),
        who,
        body.challenge,
        body.solution,
    )

    def write(session: Session) -> dict[str, Any]:
        consultations.set_reaction(session, scenario_id, who, body.stance)
        session.flush()
        counts = consultations.reaction_counts(session, [scenario_id])[scenario_id]
        return {"reactions": counts, "your_stance": body.stance}

    return context.db.run(write)

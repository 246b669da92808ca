"""Public consultations: a scenario its owner has published, seen by anyone without an account (its
description, its latest results and report, the approved public comments with the owner's answers) and
the visitors' support or opposition, one reaction per visitor per scenario.

A scenario that is not published does not exist for the public (404), whatever its visibility among
signed-in users.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from metaliverpool.service.access import NotFound, require_scenario
from metaliverpool.service.accounts import Account
from metaliverpool.service.runs import describe_run
from metaliverpool.store.db import PublicComment, PublicReaction, Retry, Run, Scenario, User, now_s


def set_published(session: Session, account: Account, scenario_id: int, published: bool) -> Scenario:
    """Publish the scenario for public consultation, or withdraw it (owner). Publishing again keeps the
    first publication time; comments and reactions stay while it is withdrawn."""
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "owner")
    if not published:
        scenario.published_at_s = None
    elif scenario.published_at_s is None:
        scenario.published_at_s = now_s()
    return scenario


def published_scenario(session: Session, scenario_id: int) -> Scenario:
    """A published scenario; :class:`NotFound` for any other."""
    scenario = session.get(Scenario, scenario_id)
    if scenario is None or scenario.published_at_s is None:
        raise NotFound(f"consultation {scenario_id} not found")
    return scenario


def reaction_counts(session: Session, scenario_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{scenario_id: {"support": n, "oppose": n}}`` for each of ``scenario_ids``."""
    counts = {scenario_id: {"support": 0, "oppose": 0} for scenario_id in scenario_ids}
    rows = session.execute(
        select(PublicReaction.scenario_id, PublicReaction.stance, func.count())
        .where(PublicReaction.scenario_id.in_(scenario_ids))
        .group_by(PublicReaction.scenario_id, PublicReaction.stance)
    )
    for scenario_id, stance, count in rows:
        counts[scenario_id][stance] = int(count)
    return counts


def _approved_counts(session: Session, scenario_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(PublicComment.scenario_id, func.count())
        .where(PublicComment.scenario_id.in_(scenario_ids), PublicComment.status == "approved")
        .group_by(PublicComment.scenario_id)
    )
    return {scenario_id: int(count) for scenario_id, count in rows}


def list_consultations(session: Session, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Published scenarios, most recently published first, with their reactions and approved comments."""
    rows = session.execute(
        select(Scenario, User.name)
        .join(User, User.user_id == Scenario.owner_id)
        .where(Scenario.published_at_s.is_not(None))
        .order_by(Scenario.published_at_s.desc(), Scenario.scenario_id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    ids = [scenario.scenario_id for scenario, _ in rows]
    reactions, comments = reaction_counts(session, ids), _approved_counts(session, ids)
    return [
        {
            "scenario_id": scenario.scenario_id,
            "twin_id": scenario.twin_id,
            "name": scenario.name,
            "description": scenario.description,
            "owner": owner,
            "published_at_s": scenario.published_at_s,
            "reactions": reactions[scenario.scenario_id],
            "comments": comments.get(scenario.scenario_id, 0),
        }
        for scenario, owner in rows
    ]


def latest_results(session: Session, scenario_id: int) -> dict[str, Any] | None:
    """The scenario's latest finished run as the public sees it (KPI table, whether it has a report)."""
    run = session.scalars(
        select(Run)
        .where(Run.scenario_id == scenario_id, Run.status == "done")
        .order_by(Run.finished_at_s.desc(), Run.run_id.desc())
        .limit(1)
    ).first()
    if run is None:
        return None
    described = describe_run(run)
    return {
        "run_id": run.run_id,
        "finished_at_s": run.finished_at_s,
        "engine": described["config"].get("run", {}).get("engine"),
        "kpi_table": described["kpi_table"],
        "report": "report.html" in described["outputs"],
    }


def visitor_stance(session: Session, scenario_id: int, visitor: str | None) -> str | None:
    """The visitor's reaction to the scenario, if any."""
    if visitor is None:
        return None
    reaction = session.get(PublicReaction, (scenario_id, visitor))
    return None if reaction is None else reaction.stance


def set_reaction(session: Session, scenario_id: int, visitor: str, stance: str | None) -> None:
    """The visitor's one reaction to a published scenario: ``support``, ``oppose``, or None to withdraw
    it. Two requests of one visitor at once leave one row (the loser of the race retries)."""
    published_scenario(session, scenario_id)
    reaction = session.get(PublicReaction, (scenario_id, visitor))
    if stance is None:
        if reaction is not None:
            session.delete(reaction)
        return
    if reaction is not None:
        reaction.stance, reaction.at_s = stance, now_s()
        return
    session.add(PublicReaction(scenario_id=scenario_id, visitor_key=visitor, stance=stance, at_s=now_s()))
    try:
        session.flush()
    except IntegrityError as error:
        raise Retry() from error

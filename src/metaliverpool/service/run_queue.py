"""The run queue in the database: per-user limits, fair claims, leases, preemption.

Runs stay rows of ``runs``: ``queued`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled``; a running
run goes back to ``queued`` when it is preempted, when its worker died and it has attempts left, or when
the server process holding it stopped renewing its lease. A run is a pure function of its inputs, so
running it again is safe.

Fairness: the next run is the oldest queued run of the user with the fewest running runs (ties: the user
whose oldest queued run is oldest), skipping users at their running cap. Several server processes may share
one database: a claim is one conditional ``UPDATE ... WHERE status = 'queued'`` whose row count tells who
won, with the user's running count checked in the same statement; on PostgreSQL the user's row is locked
first (``SELECT ... FOR UPDATE``) so that two processes cannot both pass the cap, and SQLite runs one writer
at a time. Every change a holder makes to its run is conditional on still holding it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from metaliverpool.service.access import Conflict
from metaliverpool.store.db import Database, Run, User, now_s


@dataclass(frozen=True)
class QueueLimits:
    """How a server process shares runs out.

    ``slots``: runs this process keeps on workers at once. ``running_per_user``: running runs one user may
    have (across every process on the database); keep it below ``slots`` so a newcomer finds room.
    ``queued_per_user``: runs one user may have waiting. ``attempts``: starts before a run whose worker died
    is failed instead of retried. ``lease_s``: how long a claim stays valid without renewal (seconds).
    """

    slots: int = 4
    running_per_user: int = 2
    queued_per_user: int = 20
    attempts: int = 2
    lease_s: float = 20.0


@dataclass(frozen=True)
class Claim:
    """A run this process now holds: its id, owner, scenario document and attempt number (1 = first)."""

    run_id: int
    user_id: int
    document: dict[str, Any]
    attempt: int


def new_holder_id() -> str:
    """A name for this server process in ``runs.holder``: host, pid and a random part."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def _lock_user(session: Session, user_id: int) -> None:
    """Lock the user's row until the transaction ends (PostgreSQL; SQLite has one writer anyway)."""
    session.execute(select(User.user_id).where(User.user_id == user_id).with_for_update())


def check_queue_room(session: Session, user_id: int, limits: QueueLimits) -> None:
    """Call after adding a queued run in ``session``: raise :class:`Conflict` (nothing is stored) if the
    user now has more queued runs than ``limits.queued_per_user``. The user's row is locked first, so
    concurrent requests cannot both slip under the limit."""
    _lock_user(session, user_id)
    session.flush()
    queued = session.scalar(
        select(func.count()).select_from(Run).where(Run.created_by == user_id, Run.status == "queued")
    )
    if queued is not None and queued > limits.queued_per_user:
        raise Conflict(
            f"run queue full: you have {queued - 1} runs queued and the limit is {limits.queued_per_user} "
            "per user; wait for one to start or cancel one"
        )


def _running_by_user(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Run.created_by, func.count()).where(Run.status == "running").group_by(Run.created_by)
    )
    return {int(user): int(count) for user, count in rows}


def _oldest_queued_by_user(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Run.created_by, func.min(Run.run_id)).where(Run.status == "queued").group_by(Run.created_by)
    )
    return {int(user): int(run_id) for user, run_id in rows}


def fair_order(running: dict[int, int], oldest: dict[int, int], cap: int) -> list[tuple[int, int]]:
    """(user, run_id) candidates, best first: fewest running runs, then oldest queued run; users at
    ``cap`` running runs are left out."""
    order = sorted((running.get(user, 0), run_id, user) for user, run_id in oldest.items())
    return [(user, run_id) for count, run_id, user in order if count < cap]


def claim_next(db: Database, holder: str, limits: QueueLimits) -> Claim | None:
    """Claim the fairest queued run for ``holder`` (None if nothing may start now)."""
    with db.session() as session:
        candidates = fair_order(
            _running_by_user(session), _oldest_queued_by_user(session), limits.running_per_user
        )
    for user_id, run_id in candidates:
        claim = _claim(db, holder, limits, user_id, run_id)
        if claim is not None:
            return claim
    return None


def _claim(db: Database, holder: str, limits: QueueLimits, user_id: int, run_id: int) -> Claim | None:
    """Move ``run_id`` from queued to running for ``holder`` if it is still queued and its user is still
    under the running cap; None if another process was first."""
    others = aliased(Run)
    running = (
        select(func.count())
        .select_from(others)
        .where(others.created_by == user_id, others.status == "running")
        .scalar_subquery()
    )
    with db.session() as session:
        _lock_user(session, user_id)
        result = session.execute(
            update(Run)
            .where(Run.run_id == run_id, Run.status == "queued", running < limits.running_per_user)
            .values(
                status="running",
                holder=holder,
                lease_until_s=now_s() + limits.lease_s,
                attempts=Run.attempts + 1,
                started_at_s=None,
                executor=None,
                progress=0.0,
                message="waiting for a worker",
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        config_json, attempts = session.execute(
            select(Run.config_json, Run.attempts).where(Run.run_id == run_id)
        ).one()
    return Claim(run_id, user_id, json.loads(config_json), int(attempts))


def update_held(db: Database, held_by: str, run_id: int, **values: Any) -> bool:
    """Set ``values`` on ``run_id`` if ``held_by`` still holds it (running); False if it does not."""
    with db.session() as session:
        result = session.execute(
            update(Run)
            .where(Run.run_id == run_id, Run.holder == held_by, Run.status == "running")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def renew_leases(db: Database, holder: str, run_ids: list[int], limits: QueueLimits) -> set[int]:
    """Extend the leases of ``run_ids``; returns those ``holder`` still holds (the others were cancelled,
    or queued again by another process after a lapse)."""
    if not run_ids:
        return set()
    with db.session() as session:
        session.execute(
            update(Run)
            .where(Run.run_id.in_(run_ids), Run.holder == holder, Run.status == "running")
            .values(lease_until_s=now_s() + limits.lease_s)
            .execution_options(synchronize_session=False)
        )
        held = session.scalars(
            select(Run.run_id).where(Run.run_id.in_(run_ids), Run.holder == holder, Run.status == "running")
        )
        return set(held)


def _requeue_values(message: str, count_attempt: bool) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": "queued",
        "holder": None,
        "lease_until_s": None,
        "started_at_s": None,
        "executor": None,
        "progress": 0.0,
        "message": message,
    }
    if not count_attempt:
        values["attempts"] = Run.attempts - 1
    return values


def requeue_lapsed(db: Database) -> int:
    """Queue again every running run whose lease passed (its server process stopped); returns how many."""
    with db.session() as session:
        result = session.execute(
            update(Run)
            .where(
                Run.status == "running",
                (Run.lease_until_s.is_(None)) | (Run.lease_until_s < now_s()),
            )
            .values(**_requeue_values("its server stopped; queued again", count_attempt=False))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def requeue_held(db: Database, holder: str, run_id: int, message: str, count_attempt: bool) -> bool:
    """Give ``run_id`` back to the queue (preempted: ``count_attempt`` False; worker died: True)."""
    return update_held(db, holder, run_id, **_requeue_values(message, count_attempt))


def preemption_victim(db: Database, held: dict[int, int], limits: QueueLimits) -> int | None:
    """Which of this process's runs (``held``: run_id -> user_id) to give back so that a waiting user gets
    a start: a run of the user with the most running runs, if that is at least two more than a waiting
    user below the cap has (so preemption evens out and never ping-pongs); the newest such run, else None."""
    with db.session() as session:
        running = _running_by_user(session)
        waiting = _oldest_queued_by_user(session)
    counts = [running.get(user, 0) for user in waiting if running.get(user, 0) < limits.running_per_user]
    if not counts or not held:
        return None
    fewest = min(counts)
    run_id, user = max(held.items(), key=lambda item: (running.get(item[1], 0), item[0]))
    return run_id if running.get(user, 0) >= fewest + 2 else None

"""The run scheduler of one server process: claims queued runs fairly and runs them on Ray workers.

A background thread (never the event loop) wakes when a run is queued (:meth:`RunScheduler.wake`) or every
``tick_s``. Each pass it renews the leases of the runs it holds (and drops those it no longer holds:
cancelled, or queued again after a lapse), queues again the runs of server processes that stopped, reads
what its workers streamed (start, progress, result), fills its free slots with fair claims, and, when every
slot is busy and a user with fewer running runs is waiting, preempts the newest run of the user with the
most (which goes back to the queue at its old place). Outputs reach the run store only when a run is
complete; a worker that dies mid-run gives a retry, or a failed run with the reason once the attempts are
spent. A run is ``done`` as soon as its results are; its worker then makes the vehicle animation, which
joins the run's outputs (``vehicles.mll``) when ready.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from metaliverpool.scenario.ray_cluster import RayCluster
from metaliverpool.service.run_queue import (
    Claim,
    QueueLimits,
    claim_next,
    new_holder_id,
    preemption_victim,
    renew_leases,
    requeue_held,
    requeue_lapsed,
    update_held,
)
from metaliverpool.service.run_worker import run_in_worker
from metaliverpool.service.runs import RunResult, store_outputs
from metaliverpool.store.db import Database, Run, now_s
from metaliverpool.store.runstore import RunStore

log = logging.getLogger(__name__)

MAINTENANCE_S = 2.0
"""Seconds between lease renewals and the search for runs of stopped server processes."""

WORKER_DEATHS = frozenset(
    {
        "WorkerCrashedError",
        "NodeDiedError",
        "OutOfMemoryError",
        "ObjectLostError",
        "OwnerDiedError",
        "LocalRayletDiedError",
    }
)
"""Ray errors meaning the worker (or its node) went away: the run is retried, not judged."""


@dataclass
class _Held:
    """A run this process holds: its claim, the stream of its Ray task, the last progress not yet saved."""

    claim: Claim
    stream: Any
    progress: tuple[float, str] | None = field(default=None)


class RunScheduler:
    """Runs the queue of one database on Ray for one server process (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        store: RunStore,
        cluster: RayCluster,
        limits: QueueLimits,
        cache_dir: Path,
        tick_s: float = 0.2,
    ) -> None:
        self.db = db
        self.store = store
        self.cluster = cluster
        self.limits = limits
        self.cache_dir = cache_dir
        self.tick_s = tick_s
        self.holder = new_holder_id()
        self._held: dict[int, _Held] = {}
        self._trailing: dict[int, Any] = {}
        """Streams of done runs whose worker still makes the vehicle animation, by run id."""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._task: Any = None
        self._last_maintenance = 0.0

    def start(self) -> None:
        """Start the scheduling thread."""
        self._thread = threading.Thread(target=self._loop, name="ml-run-scheduler", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the queue now (a run was queued); returns at once."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop scheduling, stop this process's workers and give their runs back to the queue at once
        (another process, or the next start, takes them), then close Ray."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        for run_id in list(self._held):
            self._give_back(run_id, "its server stopped; queued again", count_attempt=False)
        for stream in self._trailing.values():
            self.cluster.connect().cancel(stream, force=True)
        self._trailing.clear()
        self.cluster.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.tick_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._tick()
            except Exception:
                log.exception("run scheduler pass failed; trying again")
                self._stop.wait(1.0)

    def _tick(self) -> None:
        if time.monotonic() - self._last_maintenance >= MAINTENANCE_S:
            self._last_maintenance = time.monotonic()
            requeue_lapsed(self.db)
            still = renew_leases(self.db, self.holder, list(self._held), self.limits)
            for run_id in set(self._held) - still:
                self._cancel_task(self._held.pop(run_id))
        for run_id in list(self._held):
            self._poll(run_id)
        for run_id in list(self._trailing):
            self._poll_animation(run_id)
        if not self._anything_queued():
            return
        self._fill()
        if len(self._held) >= self.limits.slots:
            held_users = {run_id: held.claim.user_id for run_id, held in self._held.items()}
            victim = preemption_victim(self.db, held_users, self.limits)
            if victim is not None:
                self._give_back(victim, "paused to give another user a start; queued again", False)
                self._fill()

    def _anything_queued(self) -> bool:
        with self.db.session() as session:
            return session.scalar(select(Run.run_id).where(Run.status == "queued").limit(1)) is not None

    def _fill(self) -> None:
        while len(self._held) < self.limits.slots:
            ray = self.cluster.connect()  # a local instance starts here, on the first run
            claim = claim_next(self.db, self.holder, self.limits)
            if claim is None:
                return
            if self._task is None:
                self._task = ray.remote(run_in_worker).options(num_cpus=1, max_retries=0)
            stream = self._task.remote(claim.document, str(self.cache_dir))
            self._held[claim.run_id] = _Held(claim, stream)

    def _poll(self, run_id: int) -> None:
        """Read everything the run's worker has streamed so far, and act on it."""
        held = self._held[run_id]
        ray = self.cluster.connect()
        try:
            while True:
                ready, _ = ray.wait([held.stream], timeout=0)
                if not ready:
                    break
                try:
                    kind, value = ray.get(next(held.stream))
                except StopIteration:  # cannot happen: a worker's last item is its result or failure
                    kind, value = "failed", "the worker ended without a result"
                if not self._handle(held, kind, value):
                    return
        except ray.exceptions.TaskCancelledError:
            self._held.pop(run_id, None)
            return
        except ray.exceptions.RayError as error:
            self._held.pop(run_id, None)
            self._task_error(held.claim, error)
            return
        if held.progress is not None:
            fraction, message = held.progress
            held.progress = None
            update_held(self.db, self.holder, run_id, progress=fraction, message=message)

    def _handle(self, held: _Held, kind: str, value: Any) -> bool:
        """Act on one streamed item; False once the run has ended."""
        run_id = held.claim.run_id
        if kind == "started":
            update_held(self.db, self.holder, run_id, started_at_s=now_s(), executor=value, message="running")
        elif kind == "progress":
            fraction, message = value
            held.progress = (max(0.0, min(1.0, float(fraction))), str(message))
        else:
            self._held.pop(run_id, None)
            if kind == "result":
                self._finish(held.claim, value)
                self._trailing[run_id] = held.stream
            else:
                update_held(
                    self.db, self.holder, run_id, status="failed", message=value, finished_at_s=now_s()
                )
            return False
        return True

    def _finish(self, claim: Claim, result: RunResult) -> None:
        """Outputs into the run store, then the run's row: done with its KPIs and digests."""
        outputs = store_outputs(self.store, result["outputs"])
        update_held(
            self.db,
            self.holder,
            claim.run_id,
            status="done",
            progress=1.0,
            message=result["note"],
            kpis_json=json.dumps(result["kpis"]),
            outputs_json=json.dumps(outputs),
            finished_at_s=now_s(),
            lease_until_s=None,
        )

    def _poll_animation(self, run_id: int) -> None:
        """Add the vehicle animation to a done run's outputs once its worker has made it (or note why
        there is none in the run's message)."""
        stream = self._trailing[run_id]
        ray = self.cluster.connect()
        try:
            ready, _ = ray.wait([stream], timeout=0)
            if not ready:
                return
            _, (data, note) = ray.get(next(stream))
        except (StopIteration, ray.exceptions.RayError) as error:
            log.warning("run %s: no vehicle animation (%s)", run_id, type(error).__name__)
            self._trailing.pop(run_id, None)
            return
        self._trailing.pop(run_id, None)
        with self.db.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                return
            if data is not None:
                outputs = json.loads(run.outputs_json)
                outputs["vehicles.mll"] = self.store.put_bytes(data)
                run.outputs_json = json.dumps(outputs)
            if note:
                run.message = note
            session.commit()

    def _task_error(self, claim: Claim, error: Exception) -> None:
        """A run whose Ray task failed: retried if its worker died and attempts remain, else failed."""
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if type(error).__name__ in WORKER_DEATHS:
            message = f"worker died on attempt {claim.attempt} of {self.limits.attempts} ({reason})"
            if claim.attempt < self.limits.attempts:
                requeue_held(self.db, self.holder, claim.run_id, f"{message}; retrying", count_attempt=True)
                self.wake()
                return
        else:
            message = f"{type(error).__name__}: {reason}"
        update_held(
            self.db, self.holder, claim.run_id, status="failed", message=message, finished_at_s=now_s()
        )

    def _give_back(self, run_id: int, message: str, count_attempt: bool) -> None:
        """Stop the run's worker and queue the run again (at its old place)."""
        held = self._held.pop(run_id)
        requeue_held(self.db, self.holder, run_id, message, count_attempt)
        self._cancel_task(held)

    def _cancel_task(self, held: _Held) -> None:
        """Stop a run's worker (the process is killed: the pipeline runs in a thread of it)."""
        self.cluster.connect().cancel(held.stream, force=True)

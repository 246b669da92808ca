"""Runs of scenarios from the web: queue, execute in a worker thread, store outputs, report progress.

A run freezes the scenario's edits (the current document, or a saved version) into a scenario document of
:mod:`metaliverpool.edits` and hands it to the scenario pipeline (:mod:`metaliverpool.scenario`), which
runs baseline and scenario with the same seeds. Its outputs (``kpis.json``, ``report.html``, Parquet
tables) go into the content-addressed :class:`~metaliverpool.store.runstore.RunStore`; the run's row keeps
their digests, its KPIs, its status and its progress (0..1). Runs left queued or running by a server that
was killed are queued again when the next server starts (a run is a pure function of its inputs).
"""

from __future__ import annotations

import json
import logging
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from metaliverpool.edits import SCHEMA_VERSION, parse_scenario
from metaliverpool.errors import InputError, MetaLiverpoolError
from metaliverpool.service.access import NotFound, require_scenario
from metaliverpool.service.accounts import Account
from metaliverpool.service.documents import load_doc, ordered_edits, read_edits
from metaliverpool.store.db import Database, Run, Scenario, Version, now_s
from metaliverpool.store.runstore import RunStore

log = logging.getLogger(__name__)


class RunContext(Protocol):
    """What a run needs from the server: the database, the run store and the twins' folders."""

    db: Database
    runs: RunStore

    @property
    def twins(self) -> Any: ...


def describe_run(run: Run) -> dict[str, Any]:
    """A run as the API returns it."""
    return {
        "run_id": run.run_id,
        "scenario_id": run.scenario_id,
        "version_id": run.version_id,
        "status": run.status,
        "progress": run.progress,
        "message": run.message,
        "config": json.loads(run.config_json),
        "kpis": json.loads(run.kpis_json),
        "outputs": sorted(json.loads(run.outputs_json)),
        "created_at_s": run.created_at_s,
        "finished_at_s": run.finished_at_s,
    }


def scenario_document(
    session: Session, scenario: Scenario, version_id: int | None, base_twin: Path
) -> dict[str, Any]:
    """The scenario file (plain data) a run executes: the version's edits, or the current ones."""
    if version_id is None:
        edits = read_edits(load_doc(session, scenario.scenario_id))
    else:
        version = session.get(Version, version_id)
        if version is None or version.scenario_id != scenario.scenario_id:
            raise NotFound(f"version {version_id} of scenario {scenario.scenario_id} not found")
        edits = json.loads(version.edits_json)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": scenario.name,
        "description": scenario.description,
        "base_twin": str(base_twin),
        "edits": ordered_edits(edits),
    }


def start_run(
    session: Session,
    account: Account,
    scenario_id: int,
    base_twin: Path,
    version_id: int | None,
    settings: dict[str, Any] | None = None,
) -> Run:
    """Queue a run (editor) with run ``settings`` (fields of the scenario format's ``run``: ``seeds``,
    ``engine``, ...); the scenario document is checked now, so a bad edit fails the request."""
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "editor")
    document = scenario_document(session, scenario, version_id, base_twin)
    if settings:
        document["run"] = dict(settings)
    parse_scenario(document, source=f"scenario {scenario_id}")
    run = Run(
        scenario_id=scenario_id,
        version_id=version_id,
        status="queued",
        progress=0.0,
        message="",
        config_json=json.dumps(document, sort_keys=True),
        kpis_json="{}",
        outputs_json="{}",
        created_by=account.user_id,
        created_at_s=now_s(),
    )
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, account: Account, run_id: int) -> Run:
    """A run the user may read; raises :class:`NotFound`."""
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"run {run_id} not found")
    require_scenario(session, run.scenario_id, account.user_id, "viewer")
    return run


def list_runs(session: Session, account: Account, scenario_id: int) -> list[Run]:
    """The scenario's runs, newest first."""
    require_scenario(session, scenario_id, account.user_id, "viewer")
    return list(
        session.scalars(select(Run).where(Run.scenario_id == scenario_id).order_by(Run.run_id.desc()))
    )


def output_digest(run: Run, name: str) -> str:
    """The run-store digest of output ``name`` of a run; raises :class:`NotFound`."""
    outputs: dict[str, str] = json.loads(run.outputs_json)
    if name not in outputs:
        raise NotFound(
            f"run {run.run_id} has no output {name!r} (outputs: {', '.join(sorted(outputs)) or 'none'})"
        )
    return outputs[name]


def _set(db: Database, run_id: int, **values: Any) -> None:
    with db.session() as session:
        run = session.get(Run, run_id)
        if run is not None:
            for key, value in values.items():
                setattr(run, key, value)


def store_outputs(store: RunStore, folder: Path) -> dict[str, str]:
    """Every file of ``folder`` (recursively) put into the run store: relative name -> digest."""
    outputs = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            outputs[path.relative_to(folder).as_posix()] = store.put_bytes(path.read_bytes())
    return outputs


def add_vehicles(scenario: Any, twin_path: Path, folder: Path) -> str:
    """Write ``vehicles.mll`` (the animation of one recorded simulation) into ``folder``.

    Returns a note for the run's message: empty when it worked; the animation is optional, so a failure is
    reported there and does not fail the run.
    """
    from metaliverpool.scenario.pipeline import read_scenario_twin
    from metaliverpool.service.vehicles import simulate_vehicles

    try:
        data = simulate_vehicles(
            scenario, read_scenario_twin(scenario, twin_path), seed=scenario.run.seeds[0]
        )
    except Exception as error:
        log.exception("vehicle animation failed")
        return f"no vehicle animation ({type(error).__name__}: {error})"
    (folder / "vehicles.mll").write_bytes(data)
    return ""


def execute_run(context: RunContext, run_id: int) -> None:
    """Run ``run_id`` to the end: pipeline, outputs into the store, KPIs and status into the database."""
    with context.db.session() as session:
        run = session.get(Run, run_id)
        if run is None or run.status not in ("queued", "running"):
            return
        document = json.loads(run.config_json)
        run.status = "running"
        run.progress = 0.0
    try:
        from metaliverpool.scenario.pipeline import run_for_web  # heavy (engines): loaded on first run

        with tempfile.TemporaryDirectory(prefix="ml-run-") as folder:
            scenario = parse_scenario(document, source=f"run {run_id}")

            def progress(fraction: float, message: str = "") -> None:
                _set(context.db, run_id, progress=max(0.0, min(1.0, float(fraction))), message=message)

            run_for_web(
                scenario,
                Path(document["base_twin"]),
                Path(folder),
                progress,
                cache_dir=context.runs.root.parent / "runcache",
            )
            vehicles_note = add_vehicles(scenario, Path(document["base_twin"]), Path(folder))
            outputs = store_outputs(context.runs, Path(folder))
            kpis_path = Path(folder) / "kpis.json"
            kpis = json.loads(kpis_path.read_text()) if kpis_path.is_file() else {}
        _set(
            context.db,
            run_id,
            status="done",
            progress=1.0,
            message=vehicles_note,
            kpis_json=json.dumps(kpis),
            outputs_json=json.dumps(outputs),
            finished_at_s=now_s(),
        )
    except MetaLiverpoolError as error:
        message = str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
        _set(context.db, run_id, status="failed", message=message, finished_at_s=now_s())
    except Exception as error:
        log.exception("run %s failed", run_id)
        _set(
            context.db,
            run_id,
            status="failed",
            message=f"{type(error).__name__}: {error}",
            finished_at_s=now_s(),
        )


class RunExecutor:
    """Runs queued runs one at a time in a worker thread (the machine's cores go to the engines)."""

    def __init__(self, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ml-run")

    def submit(self, context: RunContext, run_id: int) -> None:
        """Queue ``run_id``."""
        self._pool.submit(execute_run, context, run_id)

    def resume(self, context: RunContext) -> None:
        """Queue again every run a previous server left queued or running."""
        with context.db.session() as session:
            pending = session.scalars(select(Run.run_id).where(Run.status.in_(("queued", "running")))).all()
        for run_id in pending:
            self.submit(context, run_id)

    def shutdown(self) -> None:
        """Stop taking runs; a running one finishes in the background thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)

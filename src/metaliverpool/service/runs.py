"""Runs of scenarios from the web: queue them, execute them on workers, store outputs, report progress.

A run freezes the scenario's edits (the current document, or a saved version) into a scenario document of
:mod:`metaliverpool.edits` and waits in the run queue (:mod:`metaliverpool.service.run_queue`, per-user
limits and fair order); a scheduler (:mod:`metaliverpool.service.run_scheduler`) hands it to a Ray worker
(:mod:`metaliverpool.service.run_worker`), which runs the scenario pipeline (:mod:`metaliverpool.scenario`:
baseline and scenario with the same seeds) through :func:`execute_document`. Its outputs (``kpis.json``,
``report.html``, Parquet tables) go into the content-addressed :class:`~metaliverpool.store.runstore.RunStore`
once the run is complete; the run's row keeps their digests, its KPIs, its status and its progress (0..1).
A run is a pure function of its inputs, so a run whose worker or server died is simply run again.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from metaliverpool.edits import SCHEMA_VERSION, parse_scenario
from metaliverpool.edits.schema import DemandSettings, RunSettings
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.kpi_labels import decomposition_table, kpi_table
from metaliverpool.service.access import Conflict, NotFound, require_scenario
from metaliverpool.service.accounts import Account
from metaliverpool.service.documents import load_doc, ordered_edits, read_edits
from metaliverpool.service.edit_checks import require_runnable
from metaliverpool.service.run_queue import QueueLimits, check_queue_room
from metaliverpool.store.db import Run, Scenario, Version, now_s
from metaliverpool.store.runstore import RunStore

log = logging.getLogger(__name__)


def describe_run(run: Run) -> dict[str, Any]:
    """A run as the API returns it; ``kpi_table``: its KPIs as people read them (labels, units, rounded
    values, intervals only where seeds vary: :func:`metaliverpool.scenario.kpi_labels.kpi_table`, the
    same rows as the report's key measures); ``decomposition_table``: with ``decompose``, the package
    without the AI loop and what the loop adds, as the report shows them (empty otherwise)."""
    kpis = json.loads(run.kpis_json)
    return {
        "run_id": run.run_id,
        "scenario_id": run.scenario_id,
        "version_id": run.version_id,
        "status": run.status,
        "progress": run.progress,
        "message": run.message,
        "config": json.loads(run.config_json),
        "kpis": kpis,
        "kpi_table": kpi_table(kpis) if kpis else [],
        "decomposition_table": decomposition_table(kpis) if kpis else [],
        "outputs": sorted(json.loads(run.outputs_json)),
        "attempts": run.attempts,
        "created_at_s": run.created_at_s,
        "started_at_s": run.started_at_s,
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
    limits: QueueLimits | None = None,
    twin: Twin | None = None,
    base_digest: Callable[[DemandSettings], str] | None = None,
) -> Run:
    """Queue a run (editor) with run ``settings`` (fields of the scenario format's ``run``: ``seeds``,
    ``engine``, ``decompose``, ...); the scenario document is checked now, so a bad edit fails the
    request; with the base ``twin``, every edit is also checked against it and the engine
    (:mod:`metaliverpool.service.edit_checks`: an :class:`InputError` naming each refused edit by number
    and label). With ``limits``, a user whose queue is full gets :class:`Conflict` (409) and nothing is
    stored. With ``base_digest`` (the digest of the base twin with a demand variant, as
    :func:`metaliverpool.scenario.cache.twin_digest` gives it), a run that repeats a finished one (see
    :func:`finished_same_run`) is done at once with its results, without a worker."""
    scenario, _ = require_scenario(session, scenario_id, account.user_id, "editor")
    document = scenario_document(session, scenario, version_id, base_twin)
    if settings:
        document["run"] = dict(settings)
    parsed = parse_scenario(document, source=f"scenario {scenario_id}")
    if twin is not None:
        require_runnable(twin, base_twin, document["edits"], parsed.run.engine, f"scenario {scenario_id}")
    config_json = json.dumps(document, sort_keys=True)
    same = None
    if base_digest is not None:
        key = baseline_run_key(parsed.run, base_digest(parsed.demand))
        same = finished_same_run(session, scenario_id, config_json, key)
    run = Run(
        scenario_id=scenario_id,
        version_id=version_id,
        status="queued",
        progress=0.0,
        message="",
        config_json=config_json,
        kpis_json="{}",
        outputs_json="{}",
        created_by=account.user_id,
        created_at_s=now_s(),
    )
    if same is not None:
        run.status, run.progress, run.finished_at_s = "done", 1.0, run.created_at_s
        run.started_at_s = run.created_at_s
        run.kpis_json, run.outputs_json = same.kpis_json, same.outputs_json
        run.message = f"the results of run {same.run_id}, which had the same inputs" + (
            f"; {same.message}" if same.message else ""
        )
    session.add(run)
    session.flush()
    if limits is not None and same is None:
        check_queue_room(session, account.user_id, limits)
    return run


def baseline_run_key(settings: RunSettings, base_digest: str) -> str:
    """The run-cache key of the first baseline engine run of a pair with ``settings`` on a base twin of
    digest ``base_digest`` (:func:`metaliverpool.scenario.cache.run_key`: it also covers the engines' code
    and the package version)."""
    from metaliverpool.scenario.cache import run_key  # the engines' code digest: loaded on first use

    seed = settings.seeds[0]
    return run_key(base_digest, settings, seed, base_digest)


def finished_same_run(session: Session, scenario_id: int, config_json: str, baseline_key: str) -> Run | None:
    """The newest done run of scenario ``scenario_id`` with the same frozen scenario document
    (``config_json``: edits, name, run settings, base twin path) whose first baseline engine run had
    ``baseline_key`` (so the same base twin content, engine code and settings: a run is a pure function
    of these), or None. A dynamic run qualifies only once its vehicle animation has joined its outputs,
    so the copy lacks nothing."""
    candidates = session.scalars(
        select(Run)
        .where(Run.scenario_id == scenario_id, Run.status == "done", Run.config_json == config_json)
        .order_by(Run.run_id.desc())
        .limit(5)
    )
    for candidate in candidates:
        kpis = json.loads(candidate.kpis_json)
        records = [r for r in kpis.get("runs", []) if r.get("side") == "baseline"]
        if not records or records[0].get("key") != baseline_key:
            continue
        dynamic = kpis.get("run", {}).get("engine") == "dynamic"
        if dynamic and "vehicles.mll" not in json.loads(candidate.outputs_json):
            continue
        return candidate
    return None


def cancel_run(session: Session, account: Account, run_id: int) -> Run:
    """Cancel a queued or running run (editor of its scenario); a worker running it is stopped by the
    server process holding it. 409 if the run has already ended."""
    run = get_run(session, account, run_id)
    require_scenario(session, run.scenario_id, account.user_id, "editor")
    if run.status not in ("queued", "running"):
        raise Conflict(f"run {run_id} is {run.status}; only a queued or running run can be cancelled")
    run.status = "cancelled"
    run.message = f"cancelled by {account.name}"
    run.finished_at_s = now_s()
    run.holder = None
    run.lease_until_s = None
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


def store_outputs(store: RunStore, outputs: dict[str, bytes]) -> dict[str, str]:
    """Put a run's output files (relative name -> bytes) into the run store: name -> digest."""
    return {name: store.put_bytes(data) for name, data in sorted(outputs.items())}


def vehicles_layer(document: dict[str, Any], cache_dir: Path | None = None) -> tuple[bytes | None, str]:
    """The ``vehicles.mll`` animation of a frozen run ``document`` (one recorded simulation of its
    scenario), made after the run's result is ready; ``(None, note)`` for the static engine (no vehicles
    move in an equilibrium assignment) or when it fails (the animation is optional: the note says why).
    """
    from metaliverpool.scenario.pipeline import read_scenario_twin
    from metaliverpool.service.vehicles import simulate_vehicles

    scenario = parse_scenario(document, source="run")
    if scenario.run.engine != "dynamic":
        return None, "no vehicle animation: the static engine moves no vehicles"
    twin_path = Path(document["base_twin"])
    try:
        data = simulate_vehicles(
            scenario, read_scenario_twin(scenario, twin_path), seed=scenario.run.seeds[0], cache_dir=cache_dir
        )
    except Exception as error:
        log.exception("vehicle animation failed")
        return None, f"no vehicle animation ({type(error).__name__}: {error})"
    return data, ""


def in_ray_worker() -> bool:
    """Whether this code runs inside a Ray worker (connected to the cluster that started it)."""
    import sys

    if "ray" not in sys.modules:
        return False
    import ray

    return bool(ray.is_initialized())


RunResult = dict[str, Any]
"""What a worker hands back for a finished run: ``outputs`` (relative name -> bytes), ``kpis`` (the
``kpis.json`` document) and ``note`` (for the run's message; empty when all went well). The vehicle
animation comes after it (:func:`vehicles_layer`), so a run is done as soon as its results are."""


def execute_document(
    document: dict[str, Any], cache_dir: Path, progress: Callable[[float, str], None]
) -> RunResult:
    """Run a frozen scenario ``document`` to the end in a temporary folder and return its outputs.

    Raises :class:`~metaliverpool.errors.MetaLiverpoolError` for a run that cannot be done (bad input).
    """
    from metaliverpool.scenario.pipeline import run_for_web  # heavy (engines): loaded on first run
    from metaliverpool.scenario.ray_cluster import RayCluster, RaySettings

    with tempfile.TemporaryDirectory(prefix="ml-run-") as name:
        folder = Path(name)
        scenario = parse_scenario(document, source="run")
        # a dynamic pair's engine runs as Ray tasks of the cluster this worker belongs to (one per side
        # and seed, at once); a static pair is two quick runs, cheaper here than shipped to other workers
        ray = RayCluster(RaySettings()) if scenario.run.engine == "dynamic" and in_ray_worker() else None
        run_for_web(scenario, Path(document["base_twin"]), folder, progress, cache_dir=cache_dir, ray=ray)
        outputs = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
    kpis = json.loads(outputs["kpis.json"]) if "kpis.json" in outputs else {}
    return {"outputs": outputs, "kpis": kpis, "note": ""}

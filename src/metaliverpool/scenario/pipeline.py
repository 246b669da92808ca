"""The scenario pipeline: load, apply edits, run baseline and scenario with the same seeds, compare, report.

:func:`run_scenario` is what ``metaliverpool scenario run`` calls. Every input check (scenario file, twin
bundle, every edit against the twin) happens before any run starts and before anything is written; the
output folder is written atomically (``kpis.json``, ``report.html``, ``links.parquet``, ``zones.parquet``,
``scenario.yaml``), so a failed run leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metaliverpool.atomic import atomic_directory
from metaliverpool.control.closed_loop import pool_risk_scores
from metaliverpool.edits.apply import apply_demand_settings, apply_edits, check_edits
from metaliverpool.edits.check import EditCheck, refusal_summary
from metaliverpool.edits.describe import junction_name
from metaliverpool.edits.io import dump_scenario, load_scenario, resolve_base_twin
from metaliverpool.edits.schema import RunSettings, Scenario
from metaliverpool.errors import InputError
from metaliverpool.metrics.emissions import load_emission_curves
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.cache import RunCache, run_key, turn_flows_key, twin_digest
from metaliverpool.scenario.engines import RunOutputs, run_engine
from metaliverpool.scenario.impacts import Impacts, compute_impacts
from metaliverpool.scenario.ray_cluster import RayCluster
from metaliverpool.scenario.report import render_report
from metaliverpool.scenario.risk_profile import (
    PROFILE_PATH,
    attach_risk_profile,
    load_risk_profile,
    needs_risk_profile,
    train_missing_profile,
)
from metaliverpool.store.bundle import read_twin

KPIS_SCHEMA = "metaliverpool.kpis/1"
"""Identifier of the ``kpis.json`` layout documented in ``docs/scenarios.md``."""


@dataclass
class RunRecord:
    """One engine run: which side (``baseline``, ``scenario``, or ``package`` for the scenario without
    its AI loop edits), seed, whether the cache answered, seconds."""

    side: str
    seed: int
    key: str
    cached: bool
    seconds: float


@dataclass
class Decomposition:
    """With ``run.decompose``: the package without the AI loop against the base twin, and what the loop
    adds (the whole scenario against the package without it)."""

    package: Impacts
    loop_adds: Impacts


@dataclass
class PairResult:
    """The outcome of :func:`run_pair`: impacts, the twins, and how each run went."""

    scenario: Scenario
    base_twin: Twin
    scenario_twin: Twin
    impacts: Impacts
    records: list[RunRecord] = field(default_factory=list)
    seconds: float = 0.0
    ai_loop: list[dict[str, Any]] = field(default_factory=list)
    """Per scenario seed, what the AI signal loop did (``ai_loop`` of the run summaries); empty without."""
    checks: list[EditCheck] = field(default_factory=list)
    """The verdict on every edit; refused edits (only with ``skip_refused``) are not in the run."""
    decomposition: Decomposition | None = None
    base_digest: str = ""
    """:func:`~metaliverpool.scenario.cache.twin_digest` of ``base_twin``."""


@dataclass
class PreparedTwins:
    """What a run compares: the base twin as it is (with the demand variant), the scenario twin, and for a
    decomposed run the scenario without its AI loop edits (``package``); the check of every edit."""

    base: Twin
    scenario: Twin
    package: Twin | None
    checks: list[EditCheck]


def _has_loop(scenario: Scenario) -> bool:
    return any(edit.kind == "ai_signal_control" and edit.enabled for edit in scenario.edits)


def prepare_twins(scenario: Scenario, twin: Twin, *, skip_refused: bool = False) -> PreparedTwins:
    """The twins of a run (see :class:`PreparedTwins`), every edit checked first (engine included).

    The baseline is always the base twin as it is (do nothing); an ``ai_signal_control`` edit is an edit
    like any other. A refused edit raises :class:`InputError` naming every refused edit by number and
    label, unless ``skip_refused``: then the run goes ahead without them and the report says so first.
    """
    base = apply_demand_settings(twin, scenario.demand)
    edited, checks = check_edits(base, scenario, engine=scenario.run.engine)
    if not skip_refused and any(check.status == "refused" for check in checks):
        raise InputError(scenario.source, refusal_summary(checks))
    package = None
    refused = {check.number for check in checks if check.status == "refused"}
    loop_runs = any(
        edit.kind == "ai_signal_control" and edit.enabled and number not in refused
        for number, edit in enumerate(scenario.edits, start=1)
    )
    if scenario.run.decompose and loop_runs:
        without_loop = [
            edit
            for number, edit in enumerate(scenario.edits, start=1)
            if number not in refused and edit.kind != "ai_signal_control"
        ]
        package = apply_edits(base, without_loop, source=scenario.source)
    return PreparedTwins(base, edited, package, checks)


@dataclass
class _Job:
    """One engine run of the pair: which side and seed, its twin and cache key."""

    side: str
    seed: int
    twin: Twin
    key: str


def _execute(
    twin: Twin, settings: RunSettings, seed: int, flows: dict[tuple[int, int], float] | None
) -> tuple[RunOutputs, float]:
    """Run one job and time it (module level so a process pool can call it)."""
    started = time.perf_counter()
    outputs = run_engine(twin, settings, seed, flows)
    return outputs, time.perf_counter() - started


def cached_turn_flows(base_twin: Twin, base_hash: str, cache: RunCache) -> dict[tuple[int, int], float]:
    """The dynamic engine's baseline turn flows of ``base_twin`` (digest ``base_hash``), from ``cache``
    when there (computed once per base twin and engine code, not once per run)."""
    from metaliverpool.scenario.dynamic import baseline_turn_flows

    key = turn_flows_key(base_hash)
    flows = cache.get_turn_flows(key)
    if flows is None:
        flows = baseline_turn_flows(base_twin)
        cache.put_turn_flows(key, flows)
    return flows


def _run_all(
    jobs: list[_Job],
    settings: RunSettings,
    base_twin: Twin,
    base_hash: str,
    cache: RunCache,
    workers: int,
    progress: Callable[[float, str], None] | None,
    ray: RayCluster | None = None,
) -> tuple[dict[str, RunOutputs], list[RunRecord]]:
    """Fetch cached runs, compute the others (on ``ray`` as one task each; else with ``workers`` > 1 in a
    local process pool), store them.

    Jobs with the same key (the static engine's seeds) are computed once. Returns the outputs by key and one
    record per job, in job order.
    """
    outputs: dict[str, RunOutputs] = {}
    fetch_s: dict[str, float] = {}
    cached: set[str] = set()
    for job in jobs:
        if job.key in outputs:
            continue
        started = time.perf_counter()
        found = cache.get(job.key)
        if found is not None:
            outputs[job.key] = found
            cached.add(job.key)
            fetch_s[job.key] = time.perf_counter() - started
    todo: dict[str, _Job] = {}
    for job in jobs:
        if job.key not in outputs and job.key not in todo:
            todo[job.key] = job
    flows = None
    if todo and settings.engine == "dynamic":
        flows = cached_turn_flows(base_twin, base_hash, cache)
    run_s: dict[str, float] = {}

    def finished(key: str, result: RunOutputs, seconds: float) -> None:
        cache.put(key, result)
        outputs[key] = result
        run_s[key] = seconds
        if progress is not None:
            progress(0.05 + 0.85 * len(run_s) / len(todo), f"{todo[key].side} seed {todo[key].seed} done")

    if ray is not None and todo:
        module = ray.connect()
        task = module.remote(_execute).options(num_cpus=1, max_retries=1)
        # each twin and the flows go to the object store once, not once per seed
        shared = {id(job.twin): job.twin for job in todo.values()}
        refs = {ident: module.put(twin) for ident, twin in shared.items()}
        flows_ref = module.put(flows)
        keys = {
            task.remote(refs[id(job.twin)], settings, job.seed, flows_ref): key for key, job in todo.items()
        }
        pending = list(keys)
        while pending:
            ready, pending = module.wait(pending, num_returns=1)
            finished(keys[ready[0]], *module.get(ready[0]))
    elif workers > 1 and len(todo) > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=context) as pool:
            futures = {
                pool.submit(_execute, job.twin, settings, job.seed, flows): key for key, job in todo.items()
            }
            for future in as_completed(futures):
                finished(futures[future], *future.result())
    else:
        for key, job in todo.items():
            finished(key, *_execute(job.twin, settings, job.seed, flows))
    records = []
    seen: set[str] = set()
    for job in jobs:
        first = job.key not in seen
        seen.add(job.key)
        was_cached = job.key in cached or not first
        seconds = fetch_s.get(job.key, 0.0) if job.key in cached else (run_s[job.key] if first else 0.0)
        records.append(RunRecord(job.side, job.seed, job.key, was_cached, seconds))
    return outputs, records


def run_pair(
    scenario: Scenario,
    twin: Twin,
    *,
    seeds: list[int] | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[float, str], None] | None = None,
    workers: int = 1,
    ray: RayCluster | None = None,
    skip_refused: bool = False,
) -> PairResult:
    """Apply the scenario to ``twin``, run baseline and scenario for every seed (cached), compute impacts.

    The static engine is deterministic: it runs once (the first seed), whatever the seed list. With
    ``run.decompose`` and an AI loop, the package without the loop runs as a third side. ``progress(
    fraction, message)`` is called as the work advances (0..1). The engine runs that are not cached run as
    one Ray task each on ``ray`` (a local instance or a cluster), else with ``workers`` > 1 in that many
    local processes (each run is single-threaded). ``skip_refused``: see :func:`prepare_twins`.
    """
    started = time.perf_counter()
    if seeds is not None:
        scenario = scenario.model_copy(
            update={"run": scenario.run.model_copy(update={"seeds": seeds})}
        ).with_source(scenario.source)
    twins = prepare_twins(scenario, twin, skip_refused=skip_refused)
    base, edited = twins.base, twins.scenario
    if progress is not None:
        progress(0.05, "edits applied")
    settings = scenario.run
    run_seeds = engine_seeds(settings)
    sides = [("baseline", base), ("scenario", edited)]
    if twins.package is not None:
        sides.append(("package", twins.package))
    digests = {side: twin_digest(side_twin) for side, side_twin in sides}
    base_hash = digests["baseline"]
    jobs = [
        _Job(side, seed, side_twin, run_key(digests[side], settings, seed, base_hash))
        for side, side_twin in sides
        for seed in run_seeds
    ]
    outputs, records = _run_all(jobs, settings, base, base_hash, RunCache(cache_dir), workers, progress, ray)
    runs = {side: [outputs[job.key] for job in jobs if job.side == side] for side, _ in sides}
    curves = load_emission_curves()
    impacts = compute_impacts(base, edited, runs["baseline"], runs["scenario"], curves)
    decomposition = None
    if twins.package is not None:
        decomposition = Decomposition(
            compute_impacts(base, twins.package, runs["baseline"], runs["package"], curves),
            compute_impacts(twins.package, edited, runs["package"], runs["scenario"], curves),
        )
    if progress is not None:
        progress(0.95, "impacts computed")
    loops = [run.summary["ai_loop"] for run in runs["scenario"] if "ai_loop" in run.summary]
    seconds = time.perf_counter() - started
    return PairResult(
        scenario, base, edited, impacts, records, seconds, loops, twins.checks, decomposition, base_hash
    )


def engine_seeds(settings: RunSettings) -> list[int]:
    """The seeds the engine runs: all of them for the dynamic engine, the first only for the static
    engine (deterministic: every seed would give the same run)."""
    return settings.seeds if settings.engine == "dynamic" else settings.seeds[:1]


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def engine_notes(scenario: Scenario) -> list[str]:
    """What the run does not represent of this scenario's edits (shown in the report)."""
    kinds = {edit.kind for edit in scenario.edits}
    notes = []
    if scenario.run.decompose and not _has_loop(scenario):
        notes.append("Nothing to decompose: the scenario has no AI signal loop.")
    if "bus_lane" in kinds or any(getattr(e, "vehicles", "") == "general" for e in scenario.edits):
        notes.append(
            "Buses are not simulated: bus lanes and bus gates act only by taking road space from cars."
        )
    return notes


def _risk_forecast_block(loops: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Pooled over the scenario's seeds: how well each forecast and persistence foresaw the blocking risk
    ``horizon_s`` later (``control.closed_loop.pool_risk_scores``)."""
    scores = [loop["risk_forecast"] for loop in loops if "risk_forecast" in loop]
    if not scores:
        return None
    return {
        "source": "the scenario's runs (the loop steering: a junction it takes over changes its own risk)",
        **pool_risk_scores(scores),
    }


def ai_loop_block(loops: list[dict[str, Any]], twin: Twin) -> dict[str, Any]:
    """The ``ai_loop`` block of ``kpis.json``: the loop's settings, how well its forecast foresaw the risk
    in the scenario's runs (``risk_forecast``) and, per junction it took over, in how many seeds, when
    first (s after 07:00), and the largest risk forecast that triggered it."""
    nodes = twin.nodes.set_index("osm_node_id")
    junctions: dict[int, dict[str, Any]] = {}
    for loop in loops:
        for flag in loop["flagged"]:
            osm = int(flag["osm_node_id"])
            entry = junctions.setdefault(
                osm,
                {
                    "osm_node_id": osm,
                    "name": junction_name(twin.links, twin.nodes, osm),
                    "lon": float(nodes["lon"].get(osm, np.nan)),
                    "lat": float(nodes["lat"].get(osm, np.nan)),
                    "seeds_flagged": 0,
                    "first_flag_s": float(flag["time_s"]),
                    "max_forecast": 0.0,
                },
            )
            entry["seeds_flagged"] += 1
            entry["first_flag_s"] = min(entry["first_flag_s"], float(flag["time_s"]))
            entry["max_forecast"] = max(entry["max_forecast"], float(flag["forecast"]))
    first = loops[0]
    return {
        "seeds": len(loops),
        "eligible_signals": first["eligible_signals"],
        "horizon_s": first["horizon_s"],
        "risk_threshold": first["risk_threshold"],
        "forecast": first.get("forecast", "trend"),
        "risk_forecast": _risk_forecast_block(loops),
        "junctions": sorted(junctions.values(), key=lambda j: (j["first_flag_s"], j["osm_node_id"])),
    }


DECOMPOSED_GROUPS = ("network", "emissions", "journeys")
"""The KPI groups a decomposed run reports for each part."""


def _decomposition_block(decomposition: Decomposition) -> dict[str, Any]:
    return {
        "package_without_loop": {
            "compared": "the scenario without its AI loop against the base twin as it is",
            **{group: decomposition.package.kpis[group] for group in DECOMPOSED_GROUPS},
        },
        "loop_adds": {
            "compared": "the whole scenario against the scenario without its AI loop",
            **{group: decomposition.loop_adds.kpis[group] for group in DECOMPOSED_GROUPS},
        },
    }


def kpis_document(result: PairResult, twin_path: Path | None) -> dict[str, Any]:
    """The ``kpis.json`` document (layout: ``docs/scenarios.md``). ``refused_edits`` comes first: the edits
    this run left out (only with ``skip_refused``), each named by number and label with the reason."""
    scenario = result.scenario
    deterministic = scenario.run.engine == "static"
    return _clean(
        {
            "schema": KPIS_SCHEMA,
            "refused_edits": [check.as_dict() for check in result.checks if check.status == "refused"],
            "comparison": "the scenario against the base twin as it is (do nothing)",
            "deterministic": deterministic,
            "scenario": {
                "name": scenario.name,
                "description": scenario.description,
                "file": scenario.source,
                "edits": result.scenario_twin.manifest.get("edits_applied", []),
                "checks": [check.as_dict() for check in result.checks],
            },
            "twin": {
                "path": str(twin_path) if twin_path else None,
                "digest": result.base_digest or twin_digest(result.base_twin),
            },
            "run": scenario.run.model_dump(mode="json"),
            "engine_seeds": engine_seeds(scenario.run),
            "notes": engine_notes(scenario),
            **result.impacts.kpis,
            **(
                {"decomposition": _decomposition_block(result.decomposition)}
                if result.decomposition is not None
                else {}
            ),
            **({"ai_loop": ai_loop_block(result.ai_loop, result.base_twin)} if result.ai_loop else {}),
            "runs": [record.__dict__ for record in result.records],
            "seconds_total": result.seconds,
        }
    )


def write_outputs(result: PairResult, out_dir: Path, twin_path: Path | None) -> dict[str, Any]:
    """Write ``kpis.json``, ``report.html``, ``links.parquet``, ``zones.parquet`` and ``scenario.yaml``."""
    document = kpis_document(result, twin_path)
    html = render_report(document, result.base_twin, result.impacts)
    with atomic_directory(Path(out_dir)) as staging:
        (staging / "kpis.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        (staging / "report.html").write_text(html, encoding="utf-8")
        result.impacts.links.to_parquet(staging / "links.parquet", index=False)
        result.impacts.zones.to_parquet(staging / "zones.parquet", index=False)
        (staging / "scenario.yaml").write_text(dump_scenario(result.scenario), encoding="utf-8")
    return document


def run_scenario_file(
    path: Path,
    out_dir: Path,
    *,
    twin_dir: Path | None = None,
    seeds: list[int] | None = None,
    cache_dir: Path | None = None,
    workers: int = 1,
    ray: RayCluster | None = None,
    decompose: bool = False,
    skip_refused: bool = False,
    on_training: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Load a scenario file, run it against its base twin (or ``twin_dir``) and write the outputs
    (``decompose``: as ``run.decompose: true``; ``skip_refused``: see :func:`prepare_twins`). A
    junction-risk history the scenario needs and the twin lacks is trained first
    (:func:`~metaliverpool.scenario.risk_profile.train_missing_profile`; ``on_training(done, total)``
    mornings)."""
    scenario = load_scenario(path)
    if decompose:
        scenario = scenario.model_copy(
            update={"run": scenario.run.model_copy(update={"decompose": True})}
        ).with_source(scenario.source)
    twin_path = resolve_base_twin(scenario, twin_dir)
    if needs_risk_profile(scenario):
        train_missing_profile(read_twin(twin_path), twin_path, scenario, on_training)
    twin = read_scenario_twin(scenario, twin_path)
    result = run_pair(
        scenario,
        twin,
        seeds=seeds,
        cache_dir=cache_dir,
        workers=workers,
        ray=ray,
        skip_refused=skip_refused,
    )
    return write_outputs(result, out_dir, twin_path)


def read_scenario_twin(scenario: Scenario, twin_path: Path) -> Twin:
    """The base twin of a run, with the junction-risk history attached when the scenario's AI loop
    forecasts from it (``scenario.risk_profile``)."""
    twin = read_twin(twin_path)
    if not needs_risk_profile(scenario):
        return twin
    profile_path = Path(twin_path) / PROFILE_PATH
    return attach_risk_profile(twin, load_risk_profile(profile_path), scenario, profile_path)


def run_for_web(
    scenario: Scenario,
    twin_path: Path,
    out_dir: Path,
    progress: Callable[[float, str], None] | None = None,
    cache_dir: Path | None = None,
    ray: RayCluster | None = None,
) -> dict[str, Any]:
    """The web server's entry (``metaliverpool.service.runs``): run a parsed scenario on the twin at
    ``twin_path`` and write the outputs into ``out_dir``; returns the ``kpis.json`` document. ``ray``:
    run the uncached engine runs as Ray tasks (the web worker passes the cluster it runs on for the
    dynamic engine, whose seeds then run at once)."""
    twin = read_scenario_twin(scenario, twin_path)
    result = run_pair(scenario, twin, cache_dir=cache_dir, progress=progress, ray=ray)
    document = write_outputs(result, out_dir, twin_path)
    if progress is not None:
        progress(1.0, "report written")
    return document

"""The scenario pipeline: load, apply edits, run baseline and scenario with the same seeds, compare, report.

:func:`run_scenario` is what ``metaliverpool scenario run`` calls. Every input check (scenario file, twin
bundle, every edit against the twin) happens before any run starts and before anything is written; the
output folder is written atomically (``kpis.json``, ``report.html``, ``links.parquet``, ``zones.parquet``,
``scenario.yaml``), so a failed run leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metaliverpool.atomic import atomic_directory
from metaliverpool.edits.apply import apply_demand_settings, apply_edits
from metaliverpool.edits.io import dump_scenario, load_scenario, resolve_base_twin
from metaliverpool.edits.schema import RunSettings, Scenario
from metaliverpool.metrics.emissions import load_emission_curves
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.cache import RunCache, run_key, twin_digest
from metaliverpool.scenario.engines import RunOutputs, run_engine
from metaliverpool.scenario.impacts import Impacts, compute_impacts
from metaliverpool.scenario.report import render_report
from metaliverpool.store.bundle import read_twin

KPIS_SCHEMA = "metaliverpool.kpis/1"
"""Identifier of the ``kpis.json`` layout documented in ``docs/scenarios.md``."""


@dataclass
class RunRecord:
    """One engine run of the pair: which side, seed, whether the cache answered, seconds."""

    side: str
    seed: int
    key: str
    cached: bool
    seconds: float


@dataclass
class PairResult:
    """The outcome of :func:`run_pair`: impacts, the twins, and how each run went."""

    scenario: Scenario
    base_twin: Twin
    scenario_twin: Twin
    impacts: Impacts
    records: list[RunRecord] = field(default_factory=list)
    seconds: float = 0.0


def prepare_twins(scenario: Scenario, twin: Twin) -> tuple[Twin, Twin]:
    """(baseline twin, scenario twin): the demand variant applied to both, the edits to the second."""
    base = apply_demand_settings(twin, scenario.demand)
    return base, apply_edits(base, scenario)


@dataclass
class _Context:
    """What both sides of a pair share: the cache, the runs done so far, the baseline's turn flows."""

    base_twin: Twin
    base_hash: str
    cache: RunCache
    memo: dict[str, RunOutputs] = field(default_factory=dict)
    records: list[RunRecord] = field(default_factory=list)
    base_flows: dict[tuple[int, int], float] | None = None
    progress: Callable[[float, str], None] | None = None
    total_runs: int = 1

    def flows(self, settings: RunSettings) -> dict[tuple[int, int], float] | None:
        if settings.engine != "dynamic":
            return None
        if self.base_flows is None:
            from metaliverpool.scenario.dynamic import baseline_turn_flows

            self.base_flows = baseline_turn_flows(self.base_twin)
        return self.base_flows


def _run_side(twin: Twin, settings: RunSettings, side: str, context: _Context) -> list[RunOutputs]:
    """Run (or fetch) every seed of one side; identical runs within the pair are computed once."""
    digest = twin_digest(twin)
    outputs = []
    for seed in settings.seeds:
        key = run_key(digest, settings, seed, context.base_hash)
        started = time.perf_counter()
        found = context.memo.get(key) or context.cache.get(key)
        cached = found is not None
        if found is None:
            found = run_engine(twin, settings, seed, context.flows(settings))
            context.cache.put(key, found)
        context.memo[key] = found
        context.records.append(RunRecord(side, seed, key, cached, time.perf_counter() - started))
        outputs.append(found)
        if context.progress is not None:
            done = len(context.records) / max(context.total_runs, 1)
            context.progress(0.05 + 0.85 * done, f"{side} seed {seed} done")
    return outputs


def run_pair(
    scenario: Scenario,
    twin: Twin,
    *,
    seeds: list[int] | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> PairResult:
    """Apply the scenario to ``twin``, run baseline and scenario for every seed (cached), compute impacts.

    ``progress(fraction, message)`` is called as the work advances (0..1).
    """
    started = time.perf_counter()
    if seeds is not None:
        scenario = scenario.model_copy(
            update={"run": scenario.run.model_copy(update={"seeds": seeds})}
        ).with_source(scenario.source)
    base, edited = prepare_twins(scenario, twin)
    context = _Context(base, twin_digest(base), RunCache(cache_dir), progress=progress)
    context.total_runs = 2 * len(scenario.run.seeds)
    if progress is not None:
        progress(0.05, "edits applied")
    baseline = _run_side(base, scenario.run, "baseline", context)
    scenario_runs = _run_side(edited, scenario.run, "scenario", context)
    impacts = compute_impacts(base, edited, baseline, scenario_runs, load_emission_curves())
    if progress is not None:
        progress(0.95, "impacts computed")
    return PairResult(scenario, base, edited, impacts, context.records, time.perf_counter() - started)


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
    """What the chosen engine does not represent of this scenario's edits (shown in the report)."""
    kinds = {edit.kind for edit in scenario.edits}
    notes = []
    if "turn_ban" in kinds:
        notes.append("Turn bans are recorded in the twin but neither engine models turn restrictions yet.")
    if scenario.run.engine == "dynamic" and "cordon_charge" in kinds:
        notes.append(
            "The dynamic engine's route choice ignores charges: run charging schemes with the static engine."
        )
    if scenario.run.engine == "static" and "signal_plan" in kinds:
        notes.append("The static engine has no signals: run signal retiming with the dynamic engine.")
    if "bus_lane" in kinds or any(getattr(e, "vehicles", "") == "general" for e in scenario.edits):
        notes.append(
            "Buses are not simulated: bus lanes and bus gates act only by taking road space from cars."
        )
    return notes


def kpis_document(result: PairResult, twin_path: Path | None) -> dict[str, Any]:
    """The ``kpis.json`` document (layout: ``docs/scenarios.md``)."""
    scenario = result.scenario
    return _clean(
        {
            "schema": KPIS_SCHEMA,
            "scenario": {
                "name": scenario.name,
                "description": scenario.description,
                "file": scenario.source,
                "edits": result.scenario_twin.manifest.get("edits_applied", []),
            },
            "twin": {"path": str(twin_path) if twin_path else None, "digest": twin_digest(result.base_twin)},
            "run": scenario.run.model_dump(mode="json"),
            "notes": engine_notes(scenario),
            **result.impacts.kpis,
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
) -> dict[str, Any]:
    """Load a scenario file, run it against its base twin (or ``twin_dir``) and write the outputs."""
    scenario = load_scenario(path)
    twin_path = resolve_base_twin(scenario, twin_dir)
    twin = read_twin(twin_path)
    result = run_pair(scenario, twin, seeds=seeds, cache_dir=cache_dir)
    return write_outputs(result, out_dir, twin_path)


def run_for_web(
    scenario: Scenario,
    twin_path: Path,
    out_dir: Path,
    progress: Callable[[float, str], None] | None = None,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """The web server's entry (``metaliverpool.service.runs``): run a parsed scenario on the twin at
    ``twin_path`` and write the outputs into ``out_dir``; returns the ``kpis.json`` document."""
    result = run_pair(scenario, read_twin(twin_path), cache_dir=cache_dir, progress=progress)
    document = write_outputs(result, out_dir, twin_path)
    if progress is not None:
        progress(1.0, "report written")
    return document

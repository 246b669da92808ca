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


def _run_side(
    twin: Twin,
    settings: RunSettings,
    side: str,
    cache: RunCache,
    memo: dict[str, RunOutputs],
    records: list[RunRecord],
) -> list[RunOutputs]:
    """Run (or fetch) every seed of one side; ``memo`` shares identical runs within this pair."""
    digest = twin_digest(twin)
    outputs = []
    for seed in settings.seeds:
        key = run_key(digest, settings, seed)
        started = time.perf_counter()
        found = memo.get(key) or cache.get(key)
        cached = found is not None
        if found is None:
            found = run_engine(twin, settings, seed)
            cache.put(key, found)
        memo[key] = found
        records.append(RunRecord(side, seed, key, cached, time.perf_counter() - started))
        outputs.append(found)
    return outputs


def run_pair(
    scenario: Scenario, twin: Twin, *, seeds: list[int] | None = None, cache_dir: Path | None = None
) -> PairResult:
    """Apply the scenario to ``twin``, run baseline and scenario for every seed (cached), compute impacts."""
    started = time.perf_counter()
    if seeds is not None:
        scenario = scenario.model_copy(
            update={"run": scenario.run.model_copy(update={"seeds": seeds})}
        ).with_source(scenario.source)
    base, edited = prepare_twins(scenario, twin)
    cache = RunCache(cache_dir)
    records: list[RunRecord] = []
    memo: dict[str, RunOutputs] = {}
    baseline = _run_side(base, scenario.run, "baseline", cache, memo, records)
    scenario_runs = _run_side(edited, scenario.run, "scenario", cache, memo, records)
    impacts = compute_impacts(base, edited, baseline, scenario_runs, load_emission_curves())
    return PairResult(scenario, base, edited, impacts, records, time.perf_counter() - started)


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

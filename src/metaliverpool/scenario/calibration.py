"""Calibrate a twin to observations: free-flow speeds, then the demand (matrix estimation, a dynamic check,
new trips).

:func:`calibrate_twin` is the one entry point (``metaliverpool calibrate`` and ``metaliverpool build`` call
it). Steps (``docs/calibration.md``):

0. Network: when the observations hold a ``calibration`` free-flow area speed, the free-flow speeds of the
   links inside its area are scaled by one factor to meet it (:mod:`metaliverpool.scenario.free_flow`),
   the network coded again; the demand is then estimated on that network. Recorded as ``network``.
1. The ``calibration`` count targets of the observations (matched counts and screenlines) are put on the
   static engine's graph (:func:`metaliverpool.scenario.engines.static_problem`); a target none of whose
   links is a car link is left out and listed.
2. Matrix estimation (:func:`metaliverpool.assign.odme.estimate_matrix`) of the twin's car matrix.
3. Dynamic check: the calibrated trips are simulated (:func:`metaliverpool.scenario.dynamic.run_dynamic`,
   one run per seed, on Ray when given, averaged) and the GEH of every target is measured in the
   simulator. With ``dynamic_corrections`` > 0, the simulator's flows on the targets replace the static
   ones as the current flows for a few more gradient steps
   (:func:`metaliverpool.assign.odme.adjust_to_measured`), the result is simulated again, and the
   corrected matrix is kept only if it brings the simulated flows closer to the counts.
4. The matrix becomes trips again: trips over the period, integers by largest remainders, departure times
   from the demand profile with the twin's demand seed (``docs/demand.md``); trip ends at the access nodes
   the prior's trips of each zone used (the zone's node if it had none).

It returns the calibrated twin and the manifest's ``calibration`` record; :func:`write_calibrated_twin`
writes both, with the prior matrix as the optional ``od_prior`` table.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from metaliverpool.assign.odme import (
    CountTargets,
    OdmeConfig,
    OdmeIteration,
    OdmeResult,
    adjust_to_measured,
    estimate_matrix,
    geh,
)
from metaliverpool.demand.profile import PERIOD_S
from metaliverpool.edits.schema import RunSettings
from metaliverpool.errors import InputError
from metaliverpool.network.twin import Twin
from metaliverpool.observed.model import AreaSpeed, CountTarget, ObservationSet
from metaliverpool.observed.summary import NOT_CALIBRATED as NOT_CALIBRATED_LINE
from metaliverpool.scenario.calibration_trips import car_trips, od_prior_table, twin_with_matrix
from metaliverpool.scenario.engines import RunOutputs, StaticProblem, period_hours, static_problem
from metaliverpool.scenario.free_flow import FreeFlowConfig, calibrate_free_flow
from metaliverpool.scenario.ray_cluster import RayCluster
from metaliverpool.store.bundle import OD_PRIOR_TABLE, write_twin

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[str], None]

NOT_CALIBRATED = {"calibrated": False, "summary": NOT_CALIBRATED_LINE}
"""The ``calibration`` record of a twin whose demand is the prior."""

GEH_TARGET = 5.0
"""The usual acceptance threshold of a count: GEH below 5 (DfT TAG unit M3.1)."""


@dataclass(frozen=True)
class CalibrationConfig:
    """How :func:`calibrate_twin` runs.

    Attributes
    ----------
    odme:
        Matrix estimation parameters (cell bound, trip-end and total bands, iterations).
    candidate_cell_changes:
        Cell bounds to try, in increasing order (each an estimate; as Ray tasks with ``ray``): the smallest
        with every target at GEH < 5 is kept, else the one nearest the counts. Empty: ``odme``'s bound.
    free_external_trip_ends:
        Leave the trip ends of external (cordon) zones free (their cells keep the cell bound): their prior
        totals are split by road capacity (``docs/demand.md``), a guess that counts should correct.
    value_of_time_gbp_per_h:
        Weighs tolls in route choice (as the scenario engines do).
    dynamic_check:
        Simulate the calibrated demand and measure the targets in the dynamic engine.
    dynamic_corrections:
        Rounds of correction with the simulator's flows (0: check only).
    correction_steps:
        Gradient steps per correction round.
    dta_iterations, seeds, gridlock_timeout_s:
        Settings of the dynamic runs; flows are averaged over the seeds.
    ray:
        Run the dynamic simulations as Ray tasks (one per seed) on this cluster; ``None``: in process.
    free_flow:
        How the network's free-flow speeds are calibrated when the observations hold a ``calibration``
        free-flow area speed (:mod:`metaliverpool.scenario.free_flow`); ``None``: never.
    """

    odme: OdmeConfig = field(default_factory=OdmeConfig)
    candidate_cell_changes: tuple[float, ...] = ()
    free_external_trip_ends: bool = True
    value_of_time_gbp_per_h: float = 10.0
    dynamic_check: bool = True
    dynamic_corrections: int = 1
    correction_steps: int = 3
    dta_iterations: int = 3
    seeds: tuple[int, ...] = (1,)
    gridlock_timeout_s: float = 300.0
    ray: RayCluster | None = None
    free_flow: FreeFlowConfig | None = field(default_factory=FreeFlowConfig)


BUILD_CELL_CHANGES = (1.0, 2.0, 3.0)
"""Candidate cell bounds of the calibration ``metaliverpool build`` runs (the smallest that meets every
count wins): the region's counts are the Mersey tunnels, whose prior flows come from a capacity split of the
cordon traffic (a guess), and reaching them needs cells moved by up to x3.4 (``docs/calibration.md``); the
record lists the candidates and the cell factors."""


@dataclass(frozen=True, eq=False)
class _Targets:
    """The count targets that reach the car network: the observations' and the graph's."""

    used: list[CountTarget]
    skipped: list[str]
    graph_targets: CountTargets


def _graph_targets(targets: Sequence[CountTarget], static: StaticProblem) -> _Targets:
    graph = static.graph
    position = pd.Series(np.arange(graph.link_count), index=graph.link_external_id)
    position = position[position.index >= 0]
    used: list[CountTarget] = []
    skipped: list[str] = []
    groups: list[list[int]] = []
    for target in targets:
        links = position.reindex(list(target.link_ids)).dropna().astype(np.int64).tolist()
        if not links:
            skipped.append(target.target_id)
            continue
        used.append(target)
        groups.append(links)
    if not used:
        raise InputError(
            "observations", "no calibration count matches a car link of the twin (nothing to calibrate to)"
        )
    flows = [t.flow_vph for t in used]
    weights = [t.weight for t in used]
    return _Targets(used, skipped, CountTargets.from_lists(groups, flows, weights))


def _target_flows(targets: list[CountTarget], link_flow_vph: pd.Series) -> FloatArray:
    """Summed flow of each target's twin links (``link_flow_vph`` indexed by twin ``link_id``)."""
    return np.array([float(link_flow_vph.reindex(list(t.link_ids)).fillna(0.0).sum()) for t in targets])


def dynamic_settings(config: CalibrationConfig) -> RunSettings:
    """The settings of the dynamic check's runs (Webster plans, as every dynamic run)."""
    return RunSettings(
        engine="dynamic",
        seeds=list(config.seeds),
        dta_iterations=config.dta_iterations,
        value_of_time_gbp_per_h=config.value_of_time_gbp_per_h,
        gridlock_timeout_s=config.gridlock_timeout_s,
        signals="webster",
    )


def _simulate(twin: Twin, config: CalibrationConfig) -> tuple[pd.Series, dict[int, RunOutputs]]:
    """Mean simulated flow (veh/h over the demand period) per twin link over ``config.seeds``, and the
    runs by seed."""
    from metaliverpool.scenario.dynamic import run_dynamic

    settings = dynamic_settings(config)
    runs: list[RunOutputs]
    if config.ray is not None:
        module = config.ray.connect()
        task = module.remote(run_dynamic).options(num_cpus=1, max_retries=1)
        runs = module.get([task.remote(twin, settings, seed) for seed in config.seeds])
    else:
        runs = [run_dynamic(twin, settings, seed) for seed in config.seeds]
    hours = period_hours(twin.trips)
    flows = [r.link_loads.set_index("link_id")["flow_veh"] / hours for r in runs]
    return pd.concat(flows, axis=1).mean(axis=1), dict(zip(config.seeds, runs, strict=True))


def _target_rows(
    targets: _Targets, prior: FloatArray, static: FloatArray, dynamic: FloatArray | None
) -> list[dict[str, Any]]:
    observed = np.array([t.flow_vph for t in targets.used])
    rows = []
    for i, target in enumerate(targets.used):
        row: dict[str, Any] = {
            "id": target.target_id,
            "observed_vph": round(float(observed[i]), 1),
            "prior_vph": round(float(prior[i]), 1),
            "prior_geh": round(float(geh(prior[i], observed[i])), 2),
            "static_vph": round(float(static[i]), 1),
            "static_geh": round(float(geh(static[i], observed[i])), 2),
        }
        if dynamic is not None:
            row["dynamic_vph"] = round(float(dynamic[i]), 1)
            row["dynamic_geh"] = round(float(geh(dynamic[i], observed[i])), 2)
        rows.append(row)
    return rows


def _observation_entries(observations: ObservationSet, used: set[str]) -> list[dict[str, Any]]:
    entries = [
        {"id": c.site_id, "kind": "link_count", "use": c.use, "source": c.source, "observed": c.flow_vph}
        for c in observations.counts
        if c.site_id in used
    ]
    entries += [
        {
            "id": s.screenline_id,
            "kind": "screenline",
            "use": s.use,
            "source": s.source,
            "observed": s.flow_vph,
        }
        for s in observations.screenlines
        if s.screenline_id in used
    ]
    return [{**entry, "unit": "veh/h"} for entry in entries]


def _below(values: FloatArray) -> str:
    return f"{int(np.sum(values < GEH_TARGET))}/{len(values)}"


def _free_flow_target(observations: ObservationSet) -> AreaSpeed | None:
    """The one ``calibration`` free-flow area speed of ``observations``, if any."""
    areas = [a for a in observations.area_speeds if a.use == "calibration" and a.free_flow]
    if len(areas) > 1:
        raise InputError(
            areas[1].source,
            f"a second free-flow area speed to calibrate to (one factor is fitted; {areas[0].area_id!r} "
            "is the first)",
            where=f"area {areas[1].area_id!r}",
        )
    return areas[0] if areas else None


def calibrate_twin(
    twin: Twin,
    observations: ObservationSet,
    config: CalibrationConfig | None = None,
    progress: Progress | None = None,
    dynamic_runs: dict[int, RunOutputs] | None = None,
) -> tuple[Twin, dict[str, Any]]:
    """Calibrate ``twin``'s free-flow speeds to a ``calibration`` free-flow area speed of ``observations``
    (when there is one and ``config.free_flow``), then its car demand to their ``calibration`` counts
    (matched to this twin); returns the calibrated twin (new speeds and coding, new trips, manifest with
    the record) and the ``calibration`` record (see the module docstring and ``docs/calibration.md``).
    ``dynamic_runs``, when given, receives the dynamic check's runs of the returned twin by seed (the same
    inputs as a validation run of that seed, so the build reuses them).

    Raises
    ------
    InputError
        No calibration count matched to a car link of the twin, more than one free-flow speed, or bad
        parameters.
    """
    config = config or CalibrationConfig()
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    prior_twin = twin
    free_flow = _free_flow_target(observations) if config.free_flow is not None else None
    network_record: dict[str, Any] | None = None
    if free_flow is not None and config.free_flow is not None:
        say("free-flow speeds: fitting the network's factor")
        twin, network_record = calibrate_free_flow(
            twin,
            free_flow,
            dataclasses.replace(config.free_flow, value_of_time_gbp_per_h=config.value_of_time_gbp_per_h),
        )
    static = static_problem(twin, config.value_of_time_gbp_per_h)
    if static.hours * 3600.0 != PERIOD_S:
        raise InputError(
            "twin trips",
            f"departures span {static.hours:g} h; calibration redraws them over the "
            f"{PERIOD_S / 3600.0:g} h morning peak (docs/demand.md), so the twin's must span it too",
        )
    targets = _graph_targets(observations.count_targets("calibration"), static)
    observed = targets.graph_targets.flow_vph

    odme = config.odme
    if config.free_external_trip_ends and "kind" in static.zones.columns:
        external = np.flatnonzero(static.zones["kind"].to_numpy() == "external")
        odme = dataclasses.replace(odme, free_trip_end_zones=tuple(int(z) for z in external))
    zone_ids = static.zones["zone_id"].to_numpy(dtype=np.int64)
    bounds = config.candidate_cell_changes or (odme.max_cell_change,)
    estimates = _estimates(static, targets.graph_targets, odme, bounds, config.ray, say)
    pick = _choose(estimates, targets.graph_targets)
    estimate = estimates[pick]
    odme = dataclasses.replace(odme, max_cell_change=bounds[pick])
    config = dataclasses.replace(config, odme=odme)
    prior_flow = estimate.prior_target_flow_vph
    chosen = estimate.demand_vph
    calibrated = twin_with_matrix(twin, zone_ids, chosen * static.hours)
    dynamic_flow: FloatArray | None = None
    dynamic_record: dict[str, Any] | None = None
    if config.dynamic_check:
        say("dynamic check: simulating the calibrated demand")
        simulated, runs = _simulate(calibrated, config)
        dynamic_flow = _target_flows(targets.used, simulated)
        checked = [_dynamic_round("static estimate", dynamic_flow, observed)]
        for round_number in range(config.dynamic_corrections):
            say(f"dynamic correction {round_number + 1}/{config.dynamic_corrections}")
            adjusted = adjust_to_measured(
                dataclasses.replace(estimate, demand_vph=chosen),
                targets.graph_targets,
                dynamic_flow,
                config.odme,
                config.correction_steps,
            )
            candidate = twin_with_matrix(twin, zone_ids, adjusted * static.hours)
            simulated, candidate_runs = _simulate(candidate, config)
            flow = _target_flows(targets.used, simulated)
            kept = _squared_geh(flow, observed) < _squared_geh(dynamic_flow, observed)
            checked.append({**_dynamic_round(f"correction {round_number + 1}", flow, observed), "kept": kept})
            if not kept:
                break
            chosen, calibrated, dynamic_flow, runs = adjusted, candidate, flow, candidate_runs
        dynamic_record = {
            "rounds": checked,
            "dta_iterations": config.dta_iterations,
            "seeds": list(config.seeds),
        }
        if dynamic_runs is not None:
            dynamic_runs.update(runs)
    record = _record(
        prior_twin, calibrated, observations, targets, estimate, chosen, prior_flow, dynamic_flow, config
    )
    record["results"]["dynamic"] = dynamic_record
    if network_record is not None and free_flow is not None:
        record["network"] = network_record
        record["observations"].append(
            {
                "id": free_flow.area_id,
                "kind": "free_flow_speed",
                "use": free_flow.use,
                "source": free_flow.source,
                "observed": round(free_flow.speed_mps * 3.6, 3),
                "unit": "km/h",
            }
        )
        record["summary"] += (
            f"; free-flow speeds x{network_record['factor']:.3f} to {free_flow.name}: "
            f"{network_record['static_kmh']:.1f} km/h modelled (was {network_record['prior_kmh']:.1f}) vs "
            f"{network_record['observed_kmh']:.1f} observed"
        )
    record["results"]["candidates"] = [
        {
            "max_cell_change": bound,
            "geh_below_5": _below(geh(e.target_flow_vph, observed)),
            "objective": round(_objective(e, targets.graph_targets), 3),
            "chosen": i == pick,
        }
        for i, (bound, e) in enumerate(zip(bounds, estimates, strict=True))
    ]
    record["results"]["seconds"] = round(time.perf_counter() - started, 1)
    manifest = {**calibrated.manifest, "calibration": record}
    return dataclasses.replace(calibrated, manifest=manifest), record


def _estimates(
    static: StaticProblem,
    targets: CountTargets,
    odme: OdmeConfig,
    bounds: Sequence[float],
    ray: RayCluster | None,
    say: Progress,
) -> list[OdmeResult]:
    """One estimate per candidate cell bound (as Ray tasks when ``ray`` is given and there are several)."""
    configs = [dataclasses.replace(odme, max_cell_change=bound) for bound in bounds]
    if ray is not None and len(configs) > 1:
        say(f"matrix estimation: {len(configs)} candidate bounds on Ray")
        module = ray.connect()
        task = module.remote(estimate_matrix).options(num_cpus=1, max_retries=1)
        problem = module.put(static.problem)
        return list(module.get([task.remote(problem, targets, c) for c in configs]))
    out = []
    for config in configs:

        def on_iteration(record: OdmeIteration, bound: float = config.max_cell_change) -> None:
            say(
                f"matrix estimation (cells x{1 + bound:g}) {record.iteration}/{odme.outer_iterations}: "
                f"GEH<5 {record.share_geh_below_5:.0%}, max GEH {record.max_geh:.1f}"
            )

        out.append(estimate_matrix(static.problem, targets, config, on_iteration=on_iteration))
    return out


def _objective(estimate: OdmeResult, targets: CountTargets) -> float:
    residual = estimate.target_flow_vph - targets.flow_vph
    return 0.5 * float(np.sum(targets.weight * residual * residual))


def _choose(estimates: list[OdmeResult], targets: CountTargets) -> int:
    """The first estimate (smallest bound) with every target at GEH < 5, else the lowest objective."""
    for i, estimate in enumerate(estimates):
        if np.all(geh(estimate.target_flow_vph, targets.flow_vph) < GEH_TARGET):
            return i
    return int(np.argmin([_objective(e, targets) for e in estimates]))


def _squared_geh(modelled: FloatArray, observed: FloatArray) -> float:
    return float(np.sum(geh(modelled, observed) ** 2))


def _dynamic_round(name: str, flow: FloatArray, observed: FloatArray) -> dict[str, Any]:
    values = geh(flow, observed)
    return {
        "matrix": name,
        "geh_below_5": _below(values),
        "max_geh": round(float(values.max()), 2),
        "mean_geh": round(float(values.mean()), 2),
    }


def _record(
    prior_twin: Twin,
    calibrated: Twin,
    observations: ObservationSet,
    targets: _Targets,
    estimate: OdmeResult,
    chosen: FloatArray,
    prior_flow: FloatArray,
    dynamic_flow: FloatArray | None,
    config: CalibrationConfig,
) -> dict[str, Any]:
    observed = targets.graph_targets.flow_vph
    static_geh = geh(estimate.target_flow_vph, observed)
    prior_trips = len(car_trips(prior_twin))
    new_trips = len(car_trips(calibrated))
    used_cells = estimate.prior_vph > 0
    factor = chosen[used_cells] / estimate.prior_vph[used_cells]
    odme = config.odme
    change = 100.0 * (new_trips - prior_trips) / max(prior_trips, 1)
    kinds = _kind_counts(observations, {t.target_id for t in targets.used})
    summary = (
        f"Calibrated to {kinds} (GEH<5: prior {_below(geh(prior_flow, observed))}, "
        f"static {_below(static_geh)}"
    )
    if dynamic_flow is not None:
        summary += f", dynamic {_below(geh(dynamic_flow, observed))}"
    summary += f"); car trips {prior_trips:,} -> {new_trips:,} ({change:+.1f}%)"
    return {
        "calibrated": True,
        "method": (
            "Spiess (1990) gradient matrix estimation, bi-level with static user equilibrium; "
            f"cells within x{1 + odme.max_cell_change:g} of the prior"
        ),
        "engine": "static+dynamic" if dynamic_flow is not None else "static",
        "observations": _observation_entries(observations, {t.target_id for t in targets.used}),
        "results": {
            "targets": _target_rows(targets, prior_flow, estimate.target_flow_vph, dynamic_flow),
            "skipped_targets": targets.skipped,
            "geh_below_5": {
                "prior": _below(geh(prior_flow, observed)),
                "static": _below(static_geh),
                **({"dynamic": _below(geh(dynamic_flow, observed))} if dynamic_flow is not None else {}),
            },
            "car_trips_prior": prior_trips,
            "car_trips_calibrated": new_trips,
            "cell_factor_min": round(float(factor.min()), 4) if factor.size else 1.0,
            "cell_factor_max": round(float(factor.max()), 4) if factor.size else 1.0,
            "matrix_rmse_vph": round(
                float(np.sqrt(np.mean((chosen - estimate.prior_vph)[used_cells] ** 2))), 3
            ),
            "iterations": [dataclasses.asdict(h) for h in estimate.history],
            "config": {
                "max_cell_change": odme.max_cell_change,
                "trip_end_tolerance": odme.trip_end_tolerance,
                "total_tolerance": odme.total_tolerance,
                "outer_iterations": odme.outer_iterations,
                "inner_iterations": odme.inner_iterations,
                "dynamic_corrections": config.dynamic_corrections if dynamic_flow is not None else 0,
                "value_of_time_gbp_per_h": config.value_of_time_gbp_per_h,
            },
        },
        "validation": None,
        "summary": summary,
    }


def _kind_counts(observations: ObservationSet, used: set[str]) -> str:
    counts = sum(1 for c in observations.counts if c.site_id in used)
    lines = sum(1 for s in observations.screenlines if s.screenline_id in used)
    parts = []
    if counts:
        parts.append(f"{counts} count{'s' if counts != 1 else ''}")
    if lines:
        parts.append(f"{lines} screenline{'s' if lines != 1 else ''}")
    return " and ".join(parts) or "no counts"


def with_validation(twin: Twin, validation: dict[str, Any]) -> Twin:
    """``twin`` whose ``calibration`` record keeps ``validation`` (the held-out observations judged, e.g.
    :func:`metaliverpool.scenario.validation.held_out_validation`) and says it in its one-line summary."""
    record = {**twin.manifest["calibration"], "validation": validation}
    record["summary"] = f"{record['summary']}; {validation['summary']}"
    return dataclasses.replace(twin, manifest={**twin.manifest, "calibration": record})


def not_calibrated(twin: Twin) -> Twin:
    """``twin`` with the manifest's ``calibration`` record saying that its demand is the prior."""
    return dataclasses.replace(twin, manifest={**twin.manifest, "calibration": dict(NOT_CALIBRATED)})


def write_calibrated_twin(prior: Twin, calibrated: Twin, out: Path) -> Path:
    """Write ``calibrated`` to ``out`` atomically with ``prior``'s car matrix as the ``od_prior`` table."""
    return write_twin(calibrated, out, extra_tables={OD_PRIOR_TABLE: od_prior_table(prior)})

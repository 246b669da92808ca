"""The junctions' blocking-risk history that the AI loop's ``history`` forecast reads.

:func:`simulate_risk_profile` runs the twin's morning ``mornings`` times (seeds ``first_seed``,
``first_seed + 1``, ...: other mornings than the scenario runs' seeds) with the AI loop measuring every
signalised junction but steering none, and keeps each junction's mean risk per sample slot
(``control.closed_loop``: sample ``k`` at ``(k + 1) * sample_interval_s``). It also scores, leaving
one morning out at a time, how well that history foresaw each morning's risk ``horizon_min`` later,
against the trend and persistence.

The profile is saved as ``TWIN/forecasts/junction-risk.npz`` (``osm_node_id`` of each signal,
``profile`` (slots x signals), ``sample_interval_s``, ``mornings``, ``first_seed``) and attached to a
twin before a run as the ``junctions`` column ``ai_risk_profile`` (one list per junction, empty
without history), which the dynamic engine reads.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metaliverpool.atomic import write_bytes_atomic
from metaliverpool.control.closed_loop import ClosedLoopController, pool_risk_scores, risk_forecast_scores
from metaliverpool.edits import apply_edits, parse_scenario
from metaliverpool.edits.schema import RunSettings, Scenario
from metaliverpool.errors import InputError
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.dynamic import baseline_turn_flows, run_dynamic, signal_plan_for
from metaliverpool.sim.twin_network import sim_network_from_twin

PROFILE_PATH = Path("forecasts") / "junction-risk.npz"
"""Where a twin bundle keeps its junction-risk history."""


@dataclass(frozen=True)
class RiskProfile:
    """Mean blocking risk per sample slot (rows) and signalised junction (columns, by OSM node id)."""

    osm_node_ids: np.ndarray
    profile: np.ndarray
    sample_interval_s: float
    mornings: int
    first_seed: int


def _measuring_twin(twin: Twin, sample_interval_s: float, horizon_min: float) -> Twin:
    """The twin with the AI loop on every signal, disabled: it measures (and forecasts ``horizon_min``
    ahead by its trend) and never steers."""
    edit = {
        "kind": "ai_signal_control",
        "enabled": False,
        "sample_interval_s": sample_interval_s,
        "horizon_min": horizon_min,
    }
    scenario = parse_scenario({"schema_version": 2, "name": "risk history", "edits": [edit]}, "risk history")
    return apply_edits(twin, scenario)


def simulate_risk_profile(
    twin: Twin,
    settings: RunSettings,
    mornings: int = 5,
    first_seed: int = 1000,
    sample_interval_s: float = 300.0,
    horizon_min: float = 30.0,
    threshold: float = 0.5,
    on_morning: Callable[[int], None] | None = None,
) -> tuple[RiskProfile, dict[str, Any]]:
    """Simulate the mornings and return the profile and its leave-one-morning-out scores."""
    if mornings < 2:
        raise InputError("--mornings", f"need at least 2 mornings (one is left out to score), got {mornings}")
    measuring = _measuring_twin(twin, sample_interval_s, horizon_min)
    flows = baseline_turn_flows(measuring)
    plan = signal_plan_for(measuring, sim_network_from_twin(measuring), flows)
    node_osm = measuring.nodes.set_index("node_id")["osm_node_id"]
    osm_ids = node_osm.reindex(plan.signal_node).to_numpy(dtype=np.int64)  # the loop's junction columns
    risks: list[np.ndarray] = []
    trends: list[np.ndarray] = []
    for k in range(mornings):
        loops: list[ClosedLoopController] = []
        run_dynamic(measuring, settings, first_seed + k, flows, loops)
        risks.append(np.asarray(loops[-1].risk_samples))
        trends.append(np.asarray(loops[-1].forecast_samples["trend"]))
        if on_morning is not None:
            on_morning(k + 1)
    slots = min(len(r) for r in risks)
    stack = np.stack([r[:slots] for r in risks])
    steps = round(horizon_min * 60.0 / sample_interval_s)
    scores = []
    for k in range(mornings):
        others = np.delete(stack, k, axis=0).mean(axis=0)
        history = [others[min(t + steps, slots - 1)] for t in range(slots)]
        forecasts = {"trend": list(trends[k][:slots]), "history": history}
        scores.append(risk_forecast_scores(list(stack[k]), forecasts, steps, threshold))
    profile = RiskProfile(osm_ids, stack.mean(axis=0), sample_interval_s, mornings, first_seed)
    return profile, {"horizon_min": horizon_min, "threshold": threshold, **pool_risk_scores(scores)}


def save_risk_profile(profile: RiskProfile, path: Path) -> None:
    """Write ``profile`` as ``.npz`` (atomically)."""
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        osm_node_id=profile.osm_node_ids,
        profile=profile.profile,
        sample_interval_s=np.asarray(profile.sample_interval_s),
        mornings=np.asarray(profile.mornings),
        first_seed=np.asarray(profile.first_seed),
    )
    write_bytes_atomic(Path(path), buffer.getvalue())


def load_risk_profile(path: Path) -> RiskProfile:
    """Read a profile written by :func:`save_risk_profile`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(
            path,
            "no junction-risk history: run `metaliverpool signals train-risk --twin TWIN` first "
            "(the AI loop's 'history' forecast reads it)",
        )
    with np.load(path, allow_pickle=False) as archive:
        missing = {"osm_node_id", "profile", "sample_interval_s"} - set(archive.files)
        if missing:
            raise InputError(path, f"missing arrays {sorted(missing)}", where="arrays")
        return RiskProfile(
            osm_node_ids=archive["osm_node_id"].astype(np.int64),
            profile=archive["profile"].astype(np.float64),
            sample_interval_s=float(archive["sample_interval_s"]),
            mornings=int(archive["mornings"]) if "mornings" in archive.files else 0,
            first_seed=int(archive["first_seed"]) if "first_seed" in archive.files else 0,
        )


TRAINING_MORNINGS = 5
"""Mornings simulated when a scenario run trains a missing history (as ``signals train-risk``)."""

TRAINING_DTA_ITERATIONS = 2
"""DTA iterations per training morning (as ``signals train-risk``)."""


def train_missing_profile(
    twin: Twin, twin_path: Path, scenario: Scenario, on_morning: Callable[[int, int], None] | None = None
) -> None:
    """Train and save the junction-risk history ``scenario`` needs (``TWIN/forecasts/junction-risk.npz``,
    as ``metaliverpool signals train-risk`` with its defaults and the scenario's sampling interval) when
    the twin bundle has none; ``on_morning(done, total)`` reports progress."""
    path = Path(twin_path) / PROFILE_PATH
    if not needs_risk_profile(scenario) or path.is_file():
        return
    interval = next(
        float(getattr(edit, "sample_interval_s", 300.0))
        for edit in scenario.edits
        if getattr(edit, "forecast", None) == "history"
    )
    profile, _ = simulate_risk_profile(
        twin,
        RunSettings(engine="dynamic", dta_iterations=TRAINING_DTA_ITERATIONS),
        mornings=TRAINING_MORNINGS,
        sample_interval_s=interval,
        on_morning=None if on_morning is None else (lambda done: on_morning(done, TRAINING_MORNINGS)),
    )
    save_risk_profile(profile, path)


def needs_risk_profile(scenario: Scenario) -> bool:
    """Whether an edit of ``scenario`` runs the AI loop on its ``history`` forecast."""
    return any(getattr(edit, "forecast", None) == "history" for edit in scenario.edits)


def attach_risk_profile(twin: Twin, profile: RiskProfile, scenario: Scenario, where: Path) -> Twin:
    """A copy of ``twin`` whose junctions carry ``ai_risk_profile`` (checked against the scenario's
    sampling interval; ``where`` names the profile file in errors)."""
    for edit in scenario.edits:
        interval = getattr(edit, "sample_interval_s", None)
        if getattr(edit, "forecast", None) == "history" and interval != profile.sample_interval_s:
            raise InputError(
                where,
                f"the history was sampled every {profile.sample_interval_s:g} s but the edit samples every "
                f"{interval:g} s; retrain with --sample-interval-s {interval:g}",
            )
    column = {int(osm): profile.profile[:, k].round(4).tolist() for k, osm in enumerate(profile.osm_node_ids)}
    junctions = twin.junctions.copy()
    junctions["ai_risk_profile"] = [
        next((column[int(o)] for o in ids if int(o) in column), []) for ids in junctions["osm_node_ids"]
    ]
    return dataclasses.replace(twin, junctions=junctions)

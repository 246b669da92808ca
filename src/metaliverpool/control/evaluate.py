"""Evaluate signal controllers on one network across demand levels and seeds.

Protocol: for each demand scale and seed the demand is resampled (each vehicle kept ``floor(scale)``
times plus once more with probability ``scale - floor(scale)``, every departure shifted by a seeded
uniform jitter of +-``jitter_s``; routes are kept); every controller runs on the same resampled demand
(paired comparison) in the simulator with the same safety rules. Per run:

- ``travel_time_s``: mean over departed vehicles of arrival (or the end of the run) minus departure, as
  CityFlow's average travel time;
- ``delay_s``: the same minus the free-flow time of the route;
- ``stops``: mean per vehicle of link traversals that took more than ``stop_threshold_s`` beyond free
  flow (a proxy: each link ends at one stop line);
- ``throughput_veh``: vehicles arrived; ``blocked_junction_s``: junction-seconds with a waiting movement
  whose way out was full (:mod:`metaliverpool.control.recording`);
- ``co2_kg``: COPERT CO2 of each link's vehicle-km at its interval mean speed
  (:mod:`metaliverpool.metrics.emissions`);
- ``gridlock_interventions``: uses of the simulator's gridlock rule (``SignalCase.gridlock_timeout_s``).

The table gives per controller and demand level the mean and 95 % interval across seeds of each KPI,
and the paired change of mean travel time against ``fixed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from metaliverpool.control.recording import RecordingController
from metaliverpool.control.registry import make_controller
from metaliverpool.metrics.emissions import link_emissions, load_emission_curves
from metaliverpool.metrics.intervals import mean_interval, paired_change
from metaliverpool.sim.control_api import SignalSafetyConfig
from metaliverpool.sim.demand import Demand, Routes, make_demand
from metaliverpool.sim.engine import EVENT_KINDS, SimConfig, SimResult, simulate
from metaliverpool.sim.network import SimNetwork
from metaliverpool.sim.signals import SignalPlan, turn_flows_vph

FloatArray = npt.NDArray[np.float64]
KPI_NAMES = (
    "travel_time_s",
    "delay_s",
    "stops",
    "throughput_veh",
    "blocked_junction_s",
    "co2_kg",
    "gridlock_interventions",
)


@dataclass(frozen=True, eq=False)
class SignalCase:
    """A network with its signal plan (phases), demand and routes, the run length and the simulator's
    gridlock rule (0 = never; every use is a KPI, ``gridlock_interventions``)."""

    name: str
    network: SimNetwork
    plan: SignalPlan
    demand: Demand
    routes: Routes
    horizon_s: float
    gridlock_timeout_s: float = 0.0


def resample_demand(
    case: SignalCase, scale: float, seed: int, jitter_s: float = 30.0
) -> tuple[Demand, Routes]:
    """Demand scaled by ``scale`` with seeded departure jitter (module docstring); routes follow."""
    rng = np.random.default_rng(seed)
    n = case.demand.vehicle_count
    whole = int(np.floor(scale))
    copies = whole + (rng.random(n) < scale - whole).astype(np.int64)
    rows = np.repeat(np.arange(n), copies)
    departure = case.demand.departure_time_s[rows] + rng.uniform(-jitter_s, jitter_s, rows.size)
    departure = np.maximum(departure, 0.0)
    demand = make_demand(
        case.demand.origin_node[rows], case.demand.destination_node[rows], departure, np.arange(rows.size)
    )
    source_row = rows[demand.trip_id]
    routes = Routes(
        case.routes.path_offset,
        case.routes.path_length,
        case.routes.path_links,
        case.routes.veh_path[source_row],
    )
    return demand, routes


def _free_time_s(network: SimNetwork, routes: Routes) -> FloatArray:
    per_path = np.array(
        [network.link_free_time_s[routes.links_of(p)].sum() for p in range(routes.path_count)]
    )
    return per_path[routes.veh_path] if routes.veh_path.size else np.zeros(0)


def count_stops(result: SimResult, threshold_s: float) -> float:
    """Mean per departed vehicle of link traversals slower than free flow by more than ``threshold_s``."""
    events = result.events
    departed = int(np.sum(result.departed))
    if events is None or departed == 0:
        return 0.0
    enter = EVENT_KINDS.index("enter_link")
    arrive = EVENT_KINDS.index("arrive")
    keep = (events.kind == enter) | (events.kind == arrive)
    vehicle, time_s, link, kind = (
        events.vehicle[keep],
        events.time_s[keep],
        events.link[keep],
        events.kind[keep],
    )
    order = np.lexsort((time_s, vehicle))
    vehicle, time_s, link, kind = vehicle[order], time_s[order], link[order], kind[order]
    same = vehicle[1:] == vehicle[:-1]
    from_enter = kind[:-1] == enter
    duration = time_s[1:] - time_s[:-1]
    free = result.network.link_free_time_s[link[:-1]]
    slow = same & from_enter & (duration > free + threshold_s)
    return float(np.sum(slow)) / departed


def co2_kg(result: SimResult) -> float:
    """COPERT CO2 (kg) of the run from the per-interval link outflows and mean speeds."""
    length_km = result.network.link_length_m / 1000.0
    free_kmh = result.network.link_free_speed_mps * 3.6
    exits = result.series_outflow
    speed_kmh = (
        np.where(
            exits > 0,
            exits * length_km[None, :] * 1000.0 / np.maximum(result.series_exit_time_s, 1e-9),
            np.nan,
        )
        * 3.6
    )
    speed_kmh = np.where(np.isfinite(speed_kmh), speed_kmh, free_kmh[None, :])
    vkm = exits * length_km[None, :]
    grams = link_emissions(vkm.reshape(-1), speed_kmh.reshape(-1), load_emission_curves())["co2_g"]
    return float(grams.sum()) / 1000.0


def run_controller(
    case: SignalCase,
    name: str,
    demand: Demand,
    routes: Routes,
    safety: SignalSafetyConfig,
    stop_threshold_s: float = 10.0,
) -> tuple[dict[str, float], RecordingController]:
    """Simulate one controller on one demand; the KPIs of the module docstring and the recording."""
    flows = turn_flows_vph(case.network, routes, case.horizon_s)
    recorder = RecordingController(make_controller(name, case.network, flows, safety), case.network)
    config = SimConfig(
        horizon_s=case.horizon_s,
        record_link_events=True,
        keep_events=True,
        safety=safety,
        gridlock_timeout_s=case.gridlock_timeout_s,
    )
    free = _free_time_s(case.network, routes)
    result = simulate(
        case.network, case.plan, demand, routes, config, veh_free_time_s=free, controller=recorder
    )
    departed = result.departed
    travel = result.travel_time_s()
    n = max(int(np.sum(departed)), 1)
    kpis = {
        "travel_time_s": float(np.sum(travel)) / n,
        "delay_s": float(np.sum((travel - free)[departed])) / n,
        "stops": count_stops(result, stop_threshold_s),
        "throughput_veh": float(np.sum(result.completed)),
        "blocked_junction_s": recorder.blocked_junction_time_s(),
        "co2_kg": co2_kg(result),
        "gridlock_interventions": float(result.gridlock_interventions),
    }
    return kpis, recorder


def evaluate_controllers(
    case: SignalCase,
    names: tuple[str, ...],
    scales: tuple[float, ...] = (1.0,),
    seeds: int = 3,
    safety: SignalSafetyConfig | None = None,
) -> dict[str, Any]:
    """Run every controller at every demand scale for ``seeds`` seeds; the table of the module doc."""
    safety = safety or SignalSafetyConfig()
    runs: dict[tuple[str, float], list[dict[str, float]]] = {}
    for scale in scales:
        for seed in range(seeds):
            demand, routes = resample_demand(case, scale, seed)
            for name in names:
                kpis, _ = run_controller(case, name, demand, routes, safety)
                runs.setdefault((name, scale), []).append(kpis)
    table: dict[str, Any] = {}
    for (name, scale), rows in runs.items():
        entry: dict[str, Any] = {kpi: mean_interval([r[kpi] for r in rows]).as_dict() for kpi in KPI_NAMES}
        if "fixed" in names and name != "fixed":
            base = [r["travel_time_s"] for r in runs[("fixed", scale)]]
            mine = [r["travel_time_s"] for r in rows]
            change = paired_change(base, mine).as_dict()
            entry["travel_time_change_vs_fixed_pct"] = 100.0 * change["mean"] / float(np.mean(base))
        table.setdefault(name, {})[f"{scale:g}"] = entry
    return {"case": case.name, "seeds": seeds, "demand_scales": list(scales), "controllers": table}

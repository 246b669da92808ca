"""``metaliverpool signals evaluate``: compare signal controllers on a CityFlow scenario or a twin.

Prints one JSON line last: per controller and demand scale, the mean and 95 % interval across seeds of
average travel time, delay, stops, throughput, blocked-junction time and CO2, and the paired change of
travel time against ``fixed`` (protocol: ``metaliverpool.control.evaluate``). Without ``--controllers``
every controller runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from metaliverpool.control.evaluate import SignalCase, evaluate_controllers
from metaliverpool.control.registry import CONTROLLER_NAMES, parse_controller_names
from metaliverpool.errors import InputError


def register(app: typer.Typer) -> None:
    """Add the ``signals`` command group to ``app``."""
    group = typer.Typer(help="Adaptive signal control: compare controllers across seeds and demand levels.")
    group.command(name="evaluate", help="Run every controller, print the KPI table as one JSON line last.")(
        evaluate_command
    )
    group.command(
        name="train-risk",
        help="Learn the junctions' blocking-risk history for the AI loop's 'history' forecast (JSON last).",
    )(train_risk_command)
    app.add_typer(group, name="signals")


def parse_scales(text: str) -> tuple[float, ...]:
    """``"0.8,1.0,1.2"`` -> (0.8, 1.0, 1.2)."""
    try:
        values = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise InputError("--demand-scale", f"expected comma-separated numbers, got {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise InputError("--demand-scale", f"expected positive scales, got {text!r}")
    return values


def load_cityflow_case(roadnet: Path, flow: Path, horizon_s: float) -> SignalCase:
    """A CityFlow roadnet and flow; controllers choose among the four movement phases of the papers."""
    from metaliverpool.ingest.cityflow import read_cityflow

    scenario = read_cityflow(roadnet, flow)
    return SignalCase(
        f"cityflow:{roadnet.name}", scenario.network, scenario.plans["four_phase"], scenario.demand,
        scenario.routes, horizon_s,
    )  # fmt: skip


TWIN_GRIDLOCK_TIMEOUT_S = 300.0
"""The gridlock rule on twins (as ``make demo`` and scenario runs); its uses are a KPI."""


def load_twin_case(twin_path: Path, scenario_path: Path | None, horizon_s: float | None) -> SignalCase:
    """A twin (optionally with a scenario's edits): signalised junctions with default phases."""
    from metaliverpool.edits.apply import apply_edits
    from metaliverpool.edits.io import load_scenario
    from metaliverpool.sim.routing import route_incremental
    from metaliverpool.sim.signals import turn_flows_vph, webster_signal_plan
    from metaliverpool.sim.twin_network import demand_from_twin, signal_nodes, sim_network_from_twin
    from metaliverpool.store.bundle import read_twin

    twin = read_twin(twin_path)
    if scenario_path is not None:
        twin = apply_edits(twin, load_scenario(scenario_path), source=str(scenario_path))
    network = sim_network_from_twin(twin)
    demand = demand_from_twin(twin)
    window = float(demand.departure_time_s.max()) if demand.vehicle_count else 3600.0
    routes = route_incremental(network, demand)
    nodes = signal_nodes(twin, network)
    if not nodes:
        raise InputError(twin_path, "the twin has no signalised junction to control")
    plan = webster_signal_plan(network, nodes, turn_flows_vph(network, routes, window))
    return SignalCase(
        f"twin:{twin_path.name}",
        network,
        plan,
        demand,
        routes,
        horizon_s or window + 1800.0,
        gridlock_timeout_s=TWIN_GRIDLOCK_TIMEOUT_S,
    )


def evaluate_command(
    cityflow_roadnet: Path | None = typer.Option(None, "--cityflow-roadnet", help="CityFlow roadnet JSON."),
    cityflow_flow: Path | None = typer.Option(None, "--cityflow-flow", help="CityFlow flow JSON."),
    twin: Path | None = typer.Option(None, "--twin", help="Twin bundle folder."),
    scenario: Path | None = typer.Option(None, "--scenario", help="Scenario file applied to the twin."),
    controllers: str | None = typer.Option(
        None, "--controllers", help=f"Some of {', '.join(CONTROLLER_NAMES)} (default: all)."
    ),
    seeds: int = typer.Option(3, "--seeds", help="Demand resamplings per scale."),
    demand_scale: str = typer.Option("0.8,1.0,1.2", "--demand-scale", help="Demand multipliers."),
    horizon_s: float | None = typer.Option(None, "--horizon-s", help="Simulated seconds (CityFlow: 3600)."),
) -> None:
    """Evaluate and print the JSON line."""
    names = parse_controller_names(controllers)
    scales = parse_scales(demand_scale)
    if seeds < 1:
        raise InputError("--seeds", f"expected at least 1, got {seeds}")
    if (cityflow_roadnet is None) == (twin is None):
        raise InputError("command line", "give either --cityflow-roadnet with --cityflow-flow, or --twin")
    if cityflow_roadnet is not None:
        if cityflow_flow is None:
            raise InputError("command line", "--cityflow-roadnet needs --cityflow-flow")
        case = load_cityflow_case(cityflow_roadnet, cityflow_flow, horizon_s or 3600.0)
    else:
        assert twin is not None
        case = load_twin_case(twin, scenario, horizon_s)
    table = evaluate_controllers(case, names, scales, seeds)
    print(json.dumps(table))


def train_risk_command(
    twin: Path = typer.Option(..., "--twin", help="Twin bundle folder (the history is saved inside it)."),
    mornings: int = typer.Option(5, "--mornings", help="Simulated mornings (at least 2)."),
    first_seed: int = typer.Option(1000, "--seed", help="Seed of the first morning (then +1, +2, ...)."),
    sample_interval_s: float = typer.Option(300.0, "--sample-interval-s", help="The loop's sampling (s)."),
    horizon_min: float = typer.Option(30.0, "--horizon-min", help="Horizon of the printed scores (min)."),
    dta_iterations: int = typer.Option(2, "--dta-iterations", help="DTA iterations per morning."),
) -> None:
    """Simulate the mornings, save ``TWIN/forecasts/junction-risk.npz``, print one JSON line."""
    import time

    from metaliverpool.cli.progress import progress_bar
    from metaliverpool.edits.schema import RunSettings
    from metaliverpool.scenario.risk_profile import PROFILE_PATH, save_risk_profile, simulate_risk_profile
    from metaliverpool.store.bundle import read_twin

    bundle = read_twin(twin)
    settings = RunSettings(engine="dynamic", dta_iterations=dta_iterations)
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("simulating mornings", total=mornings)
        profile, scores = simulate_risk_profile(
            bundle,
            settings,
            mornings=mornings,
            first_seed=first_seed,
            sample_interval_s=sample_interval_s,
            horizon_min=horizon_min,
            on_morning=lambda done: progress.update(task, completed=done),
        )
    path = twin / PROFILE_PATH
    save_risk_profile(profile, path)
    summary = {
        "path": str(path),
        "mornings": mornings,
        "seeds": [first_seed, first_seed + mornings - 1],
        "signals": int(profile.profile.shape[1]),
        "slots": int(profile.profile.shape[0]),
        "seconds": round(time.perf_counter() - started, 1),
        "leave_one_morning_out": scores,
    }
    print(json.dumps(summary))

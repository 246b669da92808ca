"""``metaliverpool simulate``: run the mesoscopic simulator on a twin, a TNTP network or a CityFlow scenario.

Writes Parquet outputs into ``--out`` (atomically: all or nothing) and prints the run summary as the
last line of standard output, one JSON object with ``vehicles``, ``completed``, ``total_travel_time_s``,
``mean_travel_time_s``, ``vehicle_km``, ``gridlock_interventions`` and ``seconds``.

Outputs: ``link_series.parquet`` (per link and interval: inflow, outflow, mean speed, density, queue),
``trips.parquet`` (per vehicle: departure, arrival, travel time, delay, route), ``signal_plans.parquet``,
``events.parquet`` (the columnar event stream), ``dta_iterations.parquet`` and ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer

from metaliverpool.atomic import atomic_directory, write_text_atomic
from metaliverpool.demand.model import sample_trips
from metaliverpool.errors import InputError
from metaliverpool.ingest.cityflow import read_cityflow
from metaliverpool.ingest.tntp import read_net, read_trips, road_graph_from_tntp
from metaliverpool.metrics.network import network_totals
from metaliverpool.sim.demand import Demand, demand_from_od
from metaliverpool.sim.dta import SWAP_RULES, DtaConfig, DtaResult, run_dta
from metaliverpool.sim.engine import EventBatch, SimConfig, SimResult, simulate
from metaliverpool.sim.network import SimNetwork, sim_network_from_graph
from metaliverpool.sim.routing import route_incremental
from metaliverpool.sim.signals import (
    SignalPlan,
    empty_signal_plan,
    signal_plan_table,
    turn_flows_vph,
    webster_signal_plan,
)
from metaliverpool.sim.twin_network import demand_from_twin, signal_nodes, sim_network_from_twin

LENGTH_UNITS_M = {"m": 1.0, "km": 1000.0, "mile": 1609.344, "foot": 0.3048}


@dataclass(frozen=True, eq=False)
class SimInputs:
    """A network, its signal plan and demand, ready to simulate."""

    network: SimNetwork
    plan: SignalPlan
    demand: Demand
    horizon_s: float


def guess_length_unit_m(lengths: np.ndarray, free_time_s: np.ndarray) -> float:
    """The TNTP length unit (m, km, mile or foot) that gives a median free speed closest to 15 m/s."""
    ok = (lengths > 0) & (free_time_s > 0)
    if not np.any(ok):
        return 1.0
    raw = float(np.median(lengths[ok] / free_time_s[ok]))
    return min(LENGTH_UNITS_M.values(), key=lambda unit: abs(np.log(raw * unit / 15.0)))


def _plan_for(
    network: SimNetwork, nodes: list[int], demand: Demand, mode: str, window_s: float
) -> SignalPlan:
    if mode == "none" or not nodes:
        return empty_signal_plan(network)
    routes = route_incremental(network, demand)
    flows = turn_flows_vph(network, routes, window_s) if mode == "webster" else np.zeros(network.turn_count)
    return webster_signal_plan(network, nodes, flows)


def load_tntp(
    prefix: Path, window_s: float, scale: float, seed: int, length_unit_m: float | None
) -> SimInputs:
    """TNTP ``PREFIX_net.tntp`` and ``PREFIX_trips.tntp``; OD demand spread uniformly over the window."""
    net_path = Path(f"{prefix}_net.tntp")
    trips_path = Path(f"{prefix}_trips.tntp")
    for path in (net_path, trips_path):
        if not path.is_file():
            raise InputError(path, "file not found (expected PREFIX_net.tntp and PREFIX_trips.tntp)")
    tntp = read_net(net_path)
    graph = road_graph_from_tntp(tntp, source=str(net_path))
    unit = length_unit_m or guess_length_unit_m(graph.link_length_m, graph.link_free_time_s)
    network = sim_network_from_graph(graph, length_unit_m=unit)
    trips = read_trips(trips_path, zone_count=graph.zone_count)
    demand = demand_from_od(trips.demand, graph.zone_node, window_s=window_s, scale=scale, seed=seed)
    return SimInputs(network, empty_signal_plan(network), demand, window_s + 3 * 3600.0)


def load_twin(path: Path, signals: str, demand_scale: float = 1.0, seed: int = 0) -> SimInputs:
    """A twin bundle: its car network, junction control and trips (signal plans per ``signals``); with
    ``demand_scale`` other than 1 the trips are sampled (:func:`~metaliverpool.demand.model.sample_trips`,
    ``seed``)."""
    from metaliverpool.store.bundle import read_twin

    twin = read_twin(path)
    if demand_scale != 1.0:
        if not demand_scale > 0.0:
            raise InputError("--demand-scale", f"must be > 0, got {demand_scale}")
        twin = dataclasses.replace(twin, trips=sample_trips(twin.trips, demand_scale, seed))
    network = sim_network_from_twin(twin)
    demand = demand_from_twin(twin)
    window = float(demand.departure_time_s.max()) if demand.vehicle_count else 3600.0
    mode = "fixed" if signals == "fixed" else signals
    plan = _plan_for(network, signal_nodes(twin, network), demand, mode, window)
    return SimInputs(network, plan, demand, window + 3600.0)


def network_summary(result: SimResult) -> dict[str, float]:
    """Network vehicle-km, vehicle-hours and mean speed of every link traversal of the run, the static
    engine's definition (:func:`~metaliverpool.metrics.network.network_totals`)."""
    flow_veh, time_s = result.link_traversal_totals()
    network = result.network
    loads = pd.DataFrame(
        {
            "length_m": network.link_length_m,
            "free_time_s": network.link_free_time_s,
            "flow_veh": flow_veh,
            "time_s": time_s,
        }
    )
    totals = network_totals(loads)
    return {
        "network_vehicle_km": totals["vehicle_km"],
        "network_vehicle_hours": totals["vehicle_hours"],
        "network_mean_speed_kmh": totals["mean_speed_kmh"],
    }


def write_outputs(
    out: Path, inputs: SimInputs, dta: DtaResult, events: list[EventBatch], summary: dict[str, float | int]
) -> None:
    """All Parquet outputs and ``summary.json``, atomically."""
    result = dta.result
    with atomic_directory(out) as staging:
        result.link_series_table().to_parquet(staging / "link_series.parquet", index=False)
        result.trips_table().to_parquet(staging / "trips.parquet", index=False)
        signal_plan_table(inputs.network, inputs.plan).to_parquet(
            staging / "signal_plans.parquet", index=False
        )
        frames = [b.to_frame() for b in events]
        events_frame = (
            pd.concat(frames, ignore_index=True)
            if frames
            else EventBatch(
                np.zeros(0), np.zeros(0, np.int8), np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
            ).to_frame()
        )
        events_frame.to_parquet(staging / "events.parquet", index=False)
        pd.DataFrame([vars(it) for it in dta.iterations]).to_parquet(
            staging / "dta_iterations.parquet", index=False
        )
        write_text_atomic(staging / "summary.json", json.dumps(summary, indent=2) + "\n")


def run_simulate(
    *,
    twin: Path | None,
    tntp: Path | None,
    departure_window: float,
    demand_scale: float,
    length_unit: str | None,
    cityflow_roadnet: Path | None,
    cityflow_flow: Path | None,
    signals: str,
    dta_iterations: int,
    seed: int,
    out: Path,
    horizon_s: float | None,
    dt_s: float,
    gridlock_timeout_s: float,
    link_events: bool,
    swap_rule: str = DtaConfig.swap_rule,
) -> dict[str, float | int]:
    """Load the chosen input, run the dynamic assignment, write outputs; return the summary."""
    started = time.perf_counter()
    chosen = sum(x is not None for x in (twin, tntp, cityflow_roadnet))
    if chosen != 1:
        raise InputError("command line", "give exactly one of --twin, --tntp, --cityflow-roadnet")
    if signals not in ("fixed", "webster", "four-phase", "none"):
        raise InputError(
            "--signals", f"unknown value {signals!r}; expected fixed, webster, four-phase or none"
        )
    if length_unit is not None and length_unit not in LENGTH_UNITS_M:
        raise InputError(
            "--length-unit", f"unknown unit {length_unit!r}; expected one of {sorted(LENGTH_UNITS_M)}"
        )
    if swap_rule not in SWAP_RULES:
        raise InputError(
            "--swap-rule", f"unknown value {swap_rule!r}; expected one of {', '.join(SWAP_RULES)}"
        )
    iterations = max(1, dta_iterations)
    fixed_routes = None
    if tntp is not None:
        unit = LENGTH_UNITS_M[length_unit] if length_unit else None
        inputs = load_tntp(tntp, departure_window, demand_scale, seed, unit)
    elif twin is not None:
        inputs = load_twin(twin, signals, demand_scale, seed)
    else:
        if cityflow_flow is None or cityflow_roadnet is None:
            raise InputError("command line", "--cityflow-roadnet needs --cityflow-flow")
        scenario = read_cityflow(cityflow_roadnet, cityflow_flow)
        if signals == "webster":
            nodes = sorted({int(n) for n in scenario.plans["roadnet"].signal_node})
            plan = _plan_for(scenario.network, nodes, scenario.demand, "webster", 3600.0)
        elif signals == "none":
            plan = empty_signal_plan(scenario.network)
        else:
            plan = scenario.plans["four_phase" if signals == "four-phase" else "roadnet"]
        inputs = SimInputs(scenario.network, plan, scenario.demand, 3600.0)
        fixed_routes = scenario
    config = SimConfig(
        dt_s=dt_s,
        horizon_s=horizon_s if horizon_s is not None else inputs.horizon_s,
        gridlock_timeout_s=gridlock_timeout_s,
        record_link_events=link_events,
    )
    events: list[EventBatch] = []
    if fixed_routes is not None:
        # CityFlow flows carry their own routes: simulate them as given
        result = simulate(
            inputs.network, inputs.plan, inputs.demand, fixed_routes.routes, config,
            veh_free_time_s=fixed_routes.veh_free_time_s, on_events=events.append,
        )  # fmt: skip
        dta = DtaResult(result=result, iterations=[])
    else:
        dta = run_dta(
            inputs.network, inputs.plan, inputs.demand, config,
            DtaConfig(iterations=iterations, seed=seed, swap_rule=swap_rule), on_events=events.append,
        )  # fmt: skip
    summary = dta.result.summary()
    summary.update(network_summary(dta.result))
    summary["seconds"] = time.perf_counter() - started
    write_outputs(out, inputs, dta, events, summary)
    return summary


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command."""

    @app.command("simulate")
    def simulate_command(
        out: Annotated[Path, typer.Option("--out", help="Output folder (replaced atomically).")],
        twin: Annotated[Path | None, typer.Option("--twin", help="Twin bundle folder.")] = None,
        tntp: Annotated[
            Path | None, typer.Option("--tntp", help="TNTP prefix (PREFIX_net.tntp, PREFIX_trips.tntp).")
        ] = None,
        departure_window: Annotated[
            float, typer.Option("--departure-window", help="TNTP: spread OD demand over this many seconds.")
        ] = 3600.0,
        demand_scale: Annotated[
            float,
            typer.Option(
                "--demand-scale",
                help="TNTP: multiply the OD matrix; twin: sample this share of the trips (seeded by --seed).",
            ),
        ] = 1.0,
        length_unit: Annotated[
            str | None,
            typer.Option(
                "--length-unit", help="TNTP length unit: m, km, mile, foot (default: guessed from speeds)."
            ),
        ] = None,
        cityflow_roadnet: Annotated[
            Path | None, typer.Option("--cityflow-roadnet", help="CityFlow roadnet JSON.")
        ] = None,
        cityflow_flow: Annotated[
            Path | None, typer.Option("--cityflow-flow", help="CityFlow flow JSON.")
        ] = None,
        signals: Annotated[
            str,
            typer.Option(
                "--signals",
                help="fixed (the source's plan, or equal splits), webster, four-phase (CityFlow), none.",
            ),
        ] = "fixed",
        dta_iterations: Annotated[
            int,
            typer.Option(
                "--dta-iterations",
                help="Simulations with path swapping (1 = incremental-loading routes only).",
            ),
        ] = 1,
        seed: Annotated[int, typer.Option("--seed", help="Seed of demand sampling and path swapping.")] = 0,
        swap_rule: Annotated[
            str,
            typer.Option(
                "--swap-rule",
                help="DTA path swap: proportional (share grows with the cost excess) or msa (1/(k+1)).",
            ),
        ] = DtaConfig.swap_rule,
        horizon: Annotated[
            float | None, typer.Option("--horizon", help="Simulated seconds at most (default per input).")
        ] = None,
        dt: Annotated[float, typer.Option("--dt", help="Time step (s).")] = 1.0,
        gridlock_timeout: Annotated[
            float,
            typer.Option(
                "--gridlock-timeout",
                help="Force on a vehicle blocked this long for want of space (s); 0 = never; counted.",
            ),
        ] = 0.0,
        link_events: Annotated[
            bool, typer.Option("--link-events", help="Also record every link entry in events.parquet.")
        ] = False,
    ) -> None:
        """Simulate vehicles through the network (mesoscopic, signals, spillback, dynamic assignment)."""
        summary = run_simulate(
            twin=twin, tntp=tntp, departure_window=departure_window, demand_scale=demand_scale,
            length_unit=length_unit, cityflow_roadnet=cityflow_roadnet, cityflow_flow=cityflow_flow,
            signals=signals, dta_iterations=dta_iterations, seed=seed, out=out, horizon_s=horizon, dt_s=dt,
            gridlock_timeout_s=gridlock_timeout, link_events=link_events, swap_rule=swap_rule,
        )  # fmt: skip
        typer.echo(json.dumps(summary))

"""Benchmark of issue 4: signal controllers on CityFlow Jinan and central Liverpool, and forecasting models
(scores and training time) on a twin-generated history.

    .venv/bin/python bench/control.py [--seeds 3] [--scales 0.8,1.0,1.2] [--liverpool-seeds 2]
        [--liverpool-share 0.15] [--skip-jinan] [--skip-liverpool] [--skip-forecast]

Prints Markdown tables and one JSON line last. Figures measured on a shared 2-core machine are disturbed
by other jobs: compare ratios, not wall times.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from metaliverpool.config import benchmarks_dir
from metaliverpool.control.evaluate import KPI_NAMES, SignalCase, evaluate_controllers
from metaliverpool.control.registry import CONTROLLER_NAMES
from metaliverpool.ingest.cityflow import read_cityflow
from metaliverpool.predict.evaluate import ForecastConfig, evaluate_forecasters
from metaliverpool.predict.twin_history import TwinHistoryConfig, simulate_twin_history

TWIN_DIR = Path(__file__).resolve().parents[1] / "twins" / "liverpool-centre"


def print_signal_table(title: str, table: dict[str, Any]) -> None:
    """Markdown: one row per controller and demand scale, mean [interval] of each KPI."""
    print(f"\n### {title} (seeds: {table['seeds']})\n")
    print("| controller | demand | " + " | ".join(KPI_NAMES) + " | travel time vs fixed |")
    print("|---|---|" + "---|" * (len(KPI_NAMES) + 1))
    for name, per_scale in table["controllers"].items():
        for scale, entry in per_scale.items():
            cells = [
                f"{entry[k]['mean']:.1f} [{entry[k]['lower']:.1f}, {entry[k]['upper']:.1f}]"
                for k in KPI_NAMES
            ]
            change = entry.get("travel_time_change_vs_fixed_pct")
            cells.append("" if change is None else f"{change:+.1f} %")
            print(f"| {name} | {scale} | " + " | ".join(cells) + " |")


def jinan_case() -> SignalCase:
    """CityFlow Jinan 3x4 with the four movement phases of the papers."""
    folder = benchmarks_dir() / "cityflow" / "Jinan_3_4"
    scenario = read_cityflow(folder / "roadnet_3_4.json", folder / "anon_3_4_jinan_real.json")
    return SignalCase("jinan", scenario.network, scenario.plans["four_phase"], scenario.demand,
                      scenario.routes, 3600.0)  # fmt: skip


def liverpool_case(demand_scale: float) -> SignalCase:
    """Central Liverpool twin: signalised junctions with default phases, the twin's trips sampled."""
    import numpy as np

    from metaliverpool.sim.routing import route_incremental
    from metaliverpool.sim.signals import turn_flows_vph, webster_signal_plan
    from metaliverpool.sim.twin_network import demand_from_twin, signal_nodes, sim_network_from_twin
    from metaliverpool.store.bundle import read_twin

    twin = read_twin(TWIN_DIR)
    network = sim_network_from_twin(twin)
    demand = demand_from_twin(twin)
    keep = np.random.default_rng(0).random(demand.vehicle_count) < demand_scale
    demand = demand.subset(keep)
    routes = route_incremental(network, demand)
    window = float(demand.departure_time_s.max())
    plan = webster_signal_plan(network, signal_nodes(twin, network), turn_flows_vph(network, routes, window))
    return SignalCase(
        "liverpool-centre", network, plan, demand, routes, window + 1800.0, gridlock_timeout_s=300.0
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--scales", default="0.8,1.0,1.2")
    parser.add_argument("--liverpool-share", type=float, default=0.15, help="share of the twin's trips")
    parser.add_argument("--liverpool-seeds", type=int, default=2)
    parser.add_argument("--skip-jinan", action="store_true")
    parser.add_argument("--skip-liverpool", action="store_true")
    parser.add_argument("--skip-forecast", action="store_true")
    parser.add_argument("--forecast-days", type=int, default=28)
    args = parser.parse_args()
    scales = tuple(float(s) for s in args.scales.split(","))
    summary: dict[str, Any] = {}

    if not args.skip_jinan:
        started = time.perf_counter()
        jinan = evaluate_controllers(jinan_case(), CONTROLLER_NAMES, scales, args.seeds)
        summary["jinan"] = jinan
        summary["jinan_wall_s"] = time.perf_counter() - started
        print_signal_table("CityFlow Jinan 3x4, average travel time etc.", jinan)

    if not args.skip_liverpool and (TWIN_DIR / "manifest.json").is_file():
        started = time.perf_counter()
        liverpool = evaluate_controllers(
            liverpool_case(args.liverpool_share), CONTROLLER_NAMES, scales, args.seeds
        )
        summary["liverpool"] = liverpool
        summary["liverpool_wall_s"] = time.perf_counter() - started
        print_signal_table(f"Central Liverpool twin ({args.liverpool_share:.0%} of its trips)", liverpool)

    if not args.skip_forecast and (TWIN_DIR / "manifest.json").is_file():
        from metaliverpool.store.bundle import read_twin

        started = time.perf_counter()
        history = simulate_twin_history(
            read_twin(TWIN_DIR), TwinHistoryConfig(n_days=args.forecast_days, demand_scale=0.22, seed=0)
        )
        simulate_s = time.perf_counter() - started
        config = ForecastConfig(lookback_steps=6, seed=0, max_train_s=300.0)
        result = evaluate_forecasters(
            history.speed, ("ha", "persistence", "lgbm", "stid"), config, history.adjacency
        )
        summary["forecast"] = {**result.as_dict(), "history_simulation_s": simulate_s}
        days = args.forecast_days
        print(
            f"\n### Forecasting on the twin-generated history ({days} days, {simulate_s:.0f} s to simulate)\n"
        )
        print("| model | train time (s) | MAE 15/30/60 min (m/s) | RMSE 15/30/60 | MAPE 15/30/60 (%) |")
        print("|---|---|---|---|---|")
        for model, per_horizon in result.scores.items():
            cols = [
                "/".join(
                    f"{per_horizon[h][k]:.3f}" if k != "mape_pct" else f"{per_horizon[h][k]:.1f}"
                    for h in per_horizon
                )
                for k in ("mae", "rmse", "mape_pct")
            ]
            print(f"| {model} | {result.train_time_s[model]:.1f} | " + " | ".join(cols) + " |")
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main()

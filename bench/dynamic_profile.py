"""Profile: where one dynamic engine run of a scenario pair goes, part by part (wall and CPU seconds).

Reads the twin, applies the scenario's edits, then times each step of one dynamic run of the chosen side
and seed as the pipeline does it: the baseline turn flows (incremental loading), the simulator's network
and signal plans, and inside the DTA each simulation and each time-dependent route search. CPU seconds
are this process's (the machine may be shared: wall time then says little).

    python bench/dynamic_profile.py --twin /tmp/twin [--side scenario|baseline] [--seed 1]
        [--scenario scenarios/centre-cordon-charge.yaml]
"""

from __future__ import annotations

import argparse
import pickle
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import metaliverpool.sim.dta as dta_module
from metaliverpool.edits.io import load_scenario
from metaliverpool.scenario import dynamic
from metaliverpool.scenario.cache import twin_digest
from metaliverpool.scenario.pipeline import prepare_twins, read_scenario_twin
from metaliverpool.sim.dta import DtaConfig, run_dta
from metaliverpool.sim.engine import SimConfig
from metaliverpool.sim.twin_network import demand_from_twin, sim_network_from_twin

REPO = Path(__file__).resolve().parents[1]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    wall, cpu = time.perf_counter(), cpu_s()
    out = call(*args, **kwargs)
    print(f"{label:32s} wall {time.perf_counter() - wall:7.2f} s  cpu {cpu_s() - cpu:7.2f} s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twin", type=Path, required=True)
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "centre-cordon-charge.yaml")
    parser.add_argument("--side", choices=("baseline", "scenario"), default="scenario")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    run = scenario.run.model_copy(update={"engine": "dynamic"})
    scenario = scenario.model_copy(update={"run": run}).with_source(scenario.source)
    twin = timed("read twin", read_scenario_twin, scenario, args.twin)
    twins = timed("apply edits", prepare_twins, scenario, twin)
    timed("twin digests (2)", lambda: (twin_digest(twins.base), twin_digest(twins.scenario)))
    blob = timed("pickle a twin", pickle.dumps, twins.base)
    print(f"pickled twin: {len(blob) / 1e6:.1f} MB")
    flows = timed("baseline turn flows", dynamic.baseline_turn_flows, twins.base)
    target = twins.base if args.side == "baseline" else twins.scenario
    network = timed("simulator network", sim_network_from_twin, target)
    demand = demand_from_twin(target)
    plan = timed("signal plans", dynamic.signal_plan_for, target, network, flows)
    config = SimConfig(
        horizon_s=float(demand.departure_time_s.max()) + dynamic.AFTER_PERIOD_S,
        gridlock_timeout_s=run.gridlock_timeout_s,
    )
    for name in ("simulate", "fastest_query_paths", "route_incremental"):
        inner = getattr(dta_module, name)
        setattr(dta_module, name, lambda *a, _f=inner, _n=name, **k: timed(f"  {_n}", _f, *a, **k))
    settings = DtaConfig(
        iterations=run.dta_iterations, seed=args.seed, value_of_time_gbp_per_h=run.value_of_time_gbp_per_h
    )
    result = timed("run_dta (whole)", run_dta, network, plan, demand, config, settings)
    for iteration in result.iterations:
        print(
            f"  iteration {iteration.iteration}: gap {iteration.relative_gap:.3f}, "
            f"completed {iteration.completed}, switched {iteration.switched}"
        )


if __name__ == "__main__":
    main()

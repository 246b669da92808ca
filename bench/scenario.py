"""Benchmark: a baseline + scenario pair on central Liverpool, cold and from the cache.

    .venv/bin/python bench/scenario.py [--twin DIR] [--scenario FILE] [--engine static|dynamic] [--seeds 3]
                                       [--jobs 1]

Without ``--twin`` the central-Liverpool twin is built into a temporary folder first (not timed). Times:
``cold`` = apply edits, run baseline and scenario for every seed, impacts, report (an empty cache);
``cache_hit`` = the same again with every run answered by the cache; ``report`` = writing the outputs.
Prints a table and one JSON line last. Target: cold pair under 60 s with three seeds. The machine is shared:
say so when quoting figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from metaliverpool.cli.main import main as cli_main
from metaliverpool.edits.io import load_scenario
from metaliverpool.scenario.pipeline import run_pair, write_outputs
from metaliverpool.store.bundle import read_twin

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--twin", type=Path, default=None)
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "strand-bus-lane.yaml")
    parser.add_argument("--engine", choices=("static", "dynamic"), default=None)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1, help="engine runs in parallel local processes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, object]:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="scenario-bench-") as scratch_name:
        scratch = Path(scratch_name)
        twin_dir = args.twin
        if twin_dir is None:
            twin_dir = scratch / "liverpool-centre"
            cli_main(["build", "--region", "liverpool-centre", "--out", str(twin_dir)])
        started = time.perf_counter()
        twin = read_twin(twin_dir)
        read_s = time.perf_counter() - started
        scenario = load_scenario(args.scenario)
        if args.engine is not None:
            scenario = scenario.model_copy(
                update={"run": scenario.run.model_copy(update={"engine": args.engine})}
            ).with_source(scenario.source)
        seeds = list(range(1, args.seeds + 1))
        cache = scratch / "cache"
        started = time.perf_counter()
        cold = run_pair(scenario, twin, seeds=seeds, cache_dir=cache, workers=args.jobs)
        cold_s = time.perf_counter() - started
        started = time.perf_counter()
        write_outputs(cold, scratch / "out", twin_dir)
        report_s = time.perf_counter() - started
        started = time.perf_counter()
        warm = run_pair(scenario, twin, seeds=seeds, cache_dir=cache)
        warm_s = time.perf_counter() - started
    engine_s = sum(r.seconds for r in cold.records if not r.cached)
    result: dict[str, object] = {
        "scenario": scenario.name,
        "engine": scenario.run.engine,
        "seeds": len(seeds),
        "jobs": args.jobs,
        "vehicles": len(twin.trips),
        "links": len(twin.links),
        "read_twin_s": round(read_s, 2),
        "cold_pair_s": round(cold_s, 2),
        "engine_runs_s": round(engine_s, 2),
        "engine_runs": sum(1 for r in cold.records if not r.cached),
        "report_s": round(report_s, 2),
        "cache_hit_pair_s": round(warm_s, 2),
        "cache_hits": sum(1 for r in warm.records if r.cached),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()

"""Benchmark our static assignment against AequilibraE on TNTP folders.

Usage::

    .venv/bin/python bench/assign.py [DIR ...] [--region] [--time-limit 60] [--ours gp,bfw] [--peer bfw]
        [--repeat 3] [--cores 1] [--gaps 1e-4,1e-6] [--peer-gaps 1e-4,1e-6]

Each DIR holds ``*_net.tntp`` and ``*_trips.tntp`` (for example ``../shared/data/benchmarks/tntp/Anaheim``);
``--region`` adds the region-scale case that ``bench/region.py`` builds (Anaheim tiled 6 x 5: 912 zones,
12,252 nodes, 27,888 links), written once into ``--region-dir``. ``--cores`` threads for both tools
(AequilibraE's ``set_cores``; ours: numba threads and as many origin chunks). ``cpu`` is the process CPU
time of the solve (all threads), less disturbed than wall time when other work shares the machine;
``load`` the 1-minute load average when the run ended. Where AequilibraE ran the same target gap,
``flow_diff`` is max and mean ``|ours - AequilibraE|`` over links, relative to the largest and the mean
AequilibraE link flow.
Every (solver, algorithm, target gap) runs ``--repeat`` times (default 3, the median shown) in a fresh
worker process of this script each time, one after the other,
on the same machine and the same input; so both tools start cold from the same state and their peak
memory (``VmHWM`` after resetting it just before the solve, MiB) is measured alike. Timings exclude
importing the libraries, reading the files and (ours) compiling the numba kernels, which is reported
apart. Ours include building our graph; AequilibraE's are ``TrafficAssignment.execute()`` alone, its graph
and matrix set-up reported apart (``setup``), so the comparison is conservative for us.

The relative gap in the table is measured here, independently of both solvers: link times from the BPR
functions in numpy, shortest paths by SciPy's Dijkstra on a copy of the network in which every centroid
below the first thru node is split into a source and a sink (so no path passes through it), and
``(sum x c(x) - sum d pi) / sum x c(x)``. The Beckmann objective and the worst flow imbalance at any node
(flow in + trips produced - flow out - trips attracted) are computed the same way.

Peers: ``pip install -r bench/requirements.txt`` (``make bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from region import write_region


def find_files(folder: Path) -> tuple[Path, Path]:
    """The ``_net.tntp`` and ``_trips.tntp`` files of a TNTP folder."""
    nets = sorted(folder.glob("*_net.tntp"))
    trips = sorted(folder.glob("*_trips.tntp"))
    if len(nets) != 1 or len(trips) != 1:
        raise SystemExit(f"{folder}: expected one *_net.tntp and one *_trips.tntp")
    return nets[0], trips[0]


def reset_peak_rss() -> None:
    """Reset the process's peak resident set size (Linux ``clear_refs`` 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mib() -> float:
    """Peak resident set size of this process since the last reset (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def independent_check(net, demand: np.ndarray, flow: np.ndarray, fixed_cost: np.ndarray) -> dict[str, float]:
    """Relative gap, Beckmann objective and worst node imbalance of ``flow`` (numpy and SciPy only)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    fft, b, power, cap = net.free_flow_time, net.b, net.power, net.capacity
    safe_cap = np.where(cap > 0, cap, 1.0)
    ratio = np.where(cap > 0, flow / safe_cap, 0.0)
    time = fft * (1.0 + b * ratio**power)
    cost = time + fixed_cost
    integral = fft * (flow + b * safe_cap * ratio ** (power + 1.0) / (power + 1.0))
    objective = float(np.sum(integral) + np.sum(fixed_cost * flow))

    nodes, zones = net.node_count, net.zone_count
    tail = net.init_node - 1
    head = net.term_node - 1
    blocked = head < net.first_thru_node - 1
    head_split = np.where(blocked, nodes + head, head)  # links into a centroid end at its sink copy
    size = nodes + nodes
    key = tail * size + head_split
    order = np.lexsort((cost, key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = order[first]  # the cheapest of parallel links
    graph = csr_matrix((np.maximum(cost[keep], 1e-12), (tail[keep], head_split[keep])), shape=(size, size))
    dist = dijkstra(graph, directed=True, indices=np.arange(zones))
    targets = np.where(np.arange(zones) < net.first_thru_node - 1, nodes + np.arange(zones), np.arange(zones))
    zone_cost = dist[:, targets]
    np.fill_diagonal(zone_cost, 0.0)
    positive = demand > 0
    shortest = float(np.sum(demand[positive] * zone_cost[positive]))
    total = float(np.sum(flow * cost))
    imbalance = np.zeros(nodes)
    np.add.at(imbalance, head, flow)
    np.subtract.at(imbalance, tail, flow)
    imbalance[:zones] += demand.sum(axis=1) - demand.sum(axis=0)
    return {
        "gap": (total - shortest) / total,
        "objective": objective,
        "imbalance": float(np.max(np.abs(imbalance))),
        "unreachable": float(np.sum(demand[positive & ~np.isfinite(zone_cost)])),
    }


def run_ours(net, trips, algorithm: str, gap: float, time_limit: float, cores: int) -> dict[str, float]:
    from metaliverpool.assign.problem import AssignmentProblem, UserClass
    from metaliverpool.assign.result import AssignmentConfig
    from metaliverpool.assign.run import assign, compile_kernels
    from metaliverpool.ingest.tntp import road_graph_from_tntp

    compile_seconds = compile_kernels()
    reset_peak_rss()
    started, cpu_started = time.perf_counter(), time.process_time()
    graph = road_graph_from_tntp(net)
    problem = AssignmentProblem.build(graph, [UserClass("car", trips.demand)])
    result = assign(
        problem,
        algorithm,
        AssignmentConfig(target_gap=gap, max_iterations=1_000_000, time_limit_s=time_limit, chunks=cores),
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu_started,
        "iterations": result.iterations,
        "solver_gap": result.relative_gap,
        "peak_mib": peak_rss_mib(),
        "compile_seconds": compile_seconds,
        "setup_seconds": 0.0,
        "flow": result.link_flow_pcu.tolist(),
    }


def run_aequilibrae(net, trips, algorithm: str, gap: float, cores: int) -> dict[str, float]:
    import pandas as pd
    from aequilibrae.matrix import AequilibraeMatrix
    from aequilibrae.paths import Graph, TrafficAssignment, TrafficClass

    reset_peak_rss()
    started = time.perf_counter()
    zero = net.free_flow_time <= 0
    network = pd.DataFrame(
        {
            "link_id": np.arange(1, net.link_count + 1),
            "a_node": net.init_node,
            "b_node": net.term_node,
            "direction": np.ones(net.link_count, dtype=np.int8),
            # AequilibraE rejects free-flow times of 0: a negligible time and power 1 there (cost unchanged)
            "free_flow_time": np.where(zero, 1e-9, net.free_flow_time),
            "capacity": np.where(net.capacity > 0, net.capacity, 1.0),
            "alpha": np.where(zero, 0.0, net.b),
            "beta": np.where(zero | (net.b == 0), 1.0, net.power),
        }
    )
    graph = Graph()
    graph.network = network
    graph.prepare_graph(np.arange(1, net.zone_count + 1, dtype=np.int64))
    graph.set_graph("free_flow_time")
    graph.set_skimming(["free_flow_time"])
    graph.set_blocked_centroid_flows(net.first_thru_node > 1)
    matrix = AequilibraeMatrix()
    matrix.create_empty(zones=net.zone_count, matrix_names=["demand"], memory_only=True)
    matrix.index[:] = np.arange(1, net.zone_count + 1)
    matrix.matrices[:, :, 0] = trips.demand
    matrix.computational_view(["demand"])
    assignment = TrafficAssignment()
    assignment.set_classes([TrafficClass("car", graph, matrix)])
    assignment.set_vdf("BPR")
    assignment.set_vdf_parameters({"alpha": "alpha", "beta": "beta"})
    assignment.set_capacity_field("capacity")
    assignment.set_time_field("free_flow_time")
    assignment.set_algorithm(algorithm)
    assignment.set_cores(cores)
    assignment.max_iter = 1_000_000
    assignment.rgap_target = gap
    setup_seconds = time.perf_counter() - started
    started, cpu_started = time.perf_counter(), time.process_time()
    assignment.execute()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    results = assignment.results()
    column = "demand_ab" if "demand_ab" in results.columns else "PCE_AB"
    flow = results.sort_index()[column].to_numpy(dtype=np.float64)
    report = assignment.report()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "iterations": int(report["iteration"].max()),
        "solver_gap": float(report["rgap"].iloc[-1]),
        "peak_mib": peak_rss_mib(),
        "compile_seconds": 0.0,
        "setup_seconds": setup_seconds,
        "flow": flow.tolist(),
    }


def worker(args: argparse.Namespace) -> None:
    """Run one solve and print one JSON line (called in a fresh process)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from metaliverpool.ingest.tntp import read_net, read_trips

    net_path, trips_path = find_files(Path(args.worker_dir))
    net = read_net(net_path)
    trips = read_trips(trips_path, zone_count=net.zone_count)
    if args.worker_tool == "ours":
        out = run_ours(net, trips, args.worker_algorithm, args.worker_gap, args.time_limit, args.cores)
    else:
        out = run_aequilibrae(net, trips, args.worker_algorithm, args.worker_gap, args.cores)
    flow = np.asarray(out["flow"])
    out.update(independent_check(net, trips.demand, flow, np.zeros(net.link_count)))
    out["load"] = os.getloadavg()[0]
    print(json.dumps(out))


def measure(
    folder: Path, tool: str, algorithm: str, gap: float, args: argparse.Namespace
) -> dict[str, float | str]:
    """Run one worker process; a run that outlives the limit is reported as such."""
    command = [
        sys.executable,
        __file__,
        "--worker-dir",
        str(folder),
        "--worker-tool",
        tool,
        "--worker-algorithm",
        algorithm,
        "--worker-gap",
        repr(gap),
        "--time-limit",
        repr(args.time_limit),
        "--cores",
        str(args.cores),
    ]
    try:
        # AequilibraE's progress bars off; OpenMP threads sleep instead of spinning while they wait: on a
        # shared machine spinning made AequilibraE's iterations ~6x slower (both tools get the same setting)
        environment = {
            **os.environ,
            "AEQ_SHOW_PROGRESS": "FALSE",
            "OMP_WAIT_POLICY": "PASSIVE",
            "NUMBA_NUM_THREADS": str(args.cores),
        }
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.time_limit * 2 + 60, env=environment
        )
    except subprocess.TimeoutExpired:
        return {"status": f"> {args.time_limit * 2 + 60:.0f} s"}
    if done.returncode != 0:
        return {"status": "failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:80]}
    result: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    result["status"] = "ok"
    return result


def median_of(
    folder: Path, tool: str, algorithm: str, gap: float, args: argparse.Namespace
) -> dict[str, float | str]:
    """``--repeat`` runs in a row; the one with the median time (all must succeed), with ``runs`` noted."""
    results = []
    for _ in range(args.repeat):
        results.append(measure(folder, tool, algorithm, gap, args))
        if results[-1]["status"] != "ok":
            return results[-1]  # a failed or timed-out run is not repeated
    ordered = sorted(results, key=lambda r: float(r["seconds"]))
    chosen = ordered[len(ordered) // 2]
    chosen["runs_seconds"] = ",".join(f"{float(r['seconds']):.4f}" for r in results)
    chosen["runs_cpu_seconds"] = ",".join(f"{float(r['cpu_seconds']):.4f}" for r in results)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--region", action="store_true", help="add the region-scale case (bench/region.py)")
    parser.add_argument(
        "--region-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "metaliverpool-bench-region",
        help="where the region case is written (reused when present)",
    )
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per run (ours)")
    parser.add_argument("--ours", default="gp,bfw,cfw", help="algorithms, each optionally @GAP (gp@1e-6)")
    parser.add_argument("--peer", default="bfw")
    parser.add_argument(
        "--cores",
        type=int,
        default=1,
        help="threads for both tools (1 was faster for AequilibraE on a busy 2-core machine)",
    )
    parser.add_argument("--gaps", default="1e-4,1e-6", help="target relative gaps of our runs")
    parser.add_argument("--peer-gaps", default="1e-4,1e-6", help="target relative gaps of AequilibraE's runs")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown")
    parser.add_argument("--worker-dir", help=argparse.SUPPRESS)
    parser.add_argument("--worker-tool", help=argparse.SUPPRESS)
    parser.add_argument("--worker-algorithm", help=argparse.SUPPRESS)
    parser.add_argument("--worker-gap", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker_dir:
        worker(args)
        return
    if args.region:
        if not (args.region_dir / "Region_trips.tntp").is_file():
            write_region(args.region_dir)
        args.folders.append(args.region_dir)
    if not args.folders:
        parser.error("give at least one TNTP folder or --region")
    rows = []
    for folder in args.folders:
        peer: dict[float, float] = {}
        peer_flow: dict[tuple[str, float], np.ndarray] = {}
        runs = [("aequilibrae", a) for a in args.peer.split(",") if a] + [
            ("ours", a) for a in args.ours.split(",") if a
        ]
        for tool, name in runs:
            algorithm, _, only_gap = name.partition("@")  # "gp@1e-6": that algorithm at that gap only
            gaps = only_gap or (args.peer_gaps if tool == "aequilibrae" else args.gaps)
            for gap in (float(text) for text in gaps.split(",") if text):
                result = median_of(folder, tool, algorithm, gap, args)
                result.update(
                    {"network": folder.name, "tool": tool, "algorithm": algorithm, "target_gap": gap}
                )
                flow = np.asarray(result.pop("flow", []), dtype=np.float64)
                if tool == "aequilibrae" and result["status"] == "ok":
                    peer_flow[(algorithm, gap)] = flow
                    if algorithm == "bfw":
                        peer[gap] = float(result["seconds"])
                # AequilibraE bfw at the same gap, else at its tightest gap run
                known = sorted((g, f) for (a, g), f in peer_flow.items() if a == "bfw")
                reference = peer_flow.get(("bfw", gap), known[0][1] if known else None)
                if tool == "ours" and result["status"] == "ok" and reference is not None:
                    result["flow_reference_gap"] = gap if ("bfw", gap) in peer_flow else known[0][0]
                    difference = np.abs(flow - reference)
                    result["flow_diff_max"] = float(difference.max() / reference.max())
                    result["flow_diff_mean"] = float(difference.mean() / reference.mean())
                rows.append(result)
                print_row(result, peer)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print_summary(rows)


def print_summary(rows: list[dict[str, float | str]]) -> None:
    """Each of our runs against AequilibraE bfw at 1e-4 on the same network (wall and CPU time ratios)."""
    peers = {
        str(r["network"]): r
        for r in rows
        if r["tool"] == "aequilibrae"
        and r["algorithm"] == "bfw"
        and r["target_gap"] == 1e-4
        and r["status"] == "ok"
    }
    for row in rows:
        peer = peers.get(str(row["network"]))
        if row["tool"] != "ours" or row["status"] != "ok" or peer is None:
            continue
        print(
            f"{row['network']}: ours {row['algorithm']} to {float(row['target_gap']):.0e} in "
            f"{float(row['seconds']):.2f} s ({float(row['cpu_seconds']):.2f} s CPU); "
            "AequilibraE bfw to 1e-04 in "
            f"{float(peer['seconds']):.2f} s ({float(peer['cpu_seconds']):.2f} s CPU): "
            f"{float(peer['seconds']) / float(row['seconds']):.2f}x wall, "
            f"{float(peer['cpu_seconds']) / float(row['cpu_seconds']):.2f}x CPU"
        )


HEADER_PRINTED: list[bool] = []
COLUMNS = (
    ("network", 11), ("tool", 11), ("alg", 4), ("target", 7), ("seconds", 9), ("cpu", 8), ("iters", 6),
    ("gap(indep)", 10), ("objective", 17), ("imbalance", 9), ("peakMiB", 8), ("compile", 7), ("setup", 6),
    ("load", 5), ("aeq_bfw/this", 12), ("flow_diff", 17),
)  # fmt: skip


def print_row(row: dict[str, float | str], peer: dict[float, float]) -> None:
    """One line of the table (the header before the first)."""
    if not HEADER_PRINTED:
        print(" ".join(f"{name:>{width}}" for name, width in COLUMNS))
        HEADER_PRINTED.append(True)
    target = float(row["target_gap"])
    head = [str(row["network"]), str(row["tool"]), str(row["algorithm"]), f"{target:.0e}"]
    if row["status"] != "ok":
        print(" ".join(f"{v:>{w}}" for v, (_, w) in zip(head, COLUMNS, strict=False)), row["status"])
        return
    speedup = f"{peer[target] / float(row['seconds']):.2f}x" if target in peer else "-"
    flow_diff = "-"
    if "flow_diff_max" in row:
        flow_diff = f"{float(row['flow_diff_max']):.1e}/{float(row['flow_diff_mean']):.1e}"
    values = [
        *head,
        f"{float(row['seconds']):.4f}",
        f"{float(row['cpu_seconds']):.3f}",
        str(int(row["iterations"])),
        f"{float(row['gap']):.2e}",
        f"{float(row['objective']):.6f}",
        f"{float(row['imbalance']):.1e}",
        f"{float(row['peak_mib']):.1f}",
        f"{float(row['compile_seconds']):.2f}",
        f"{float(row['setup_seconds']):.2f}",
        f"{float(row['load']):.1f}",
        speedup,
        flow_diff,
    ]
    print(" ".join(f"{v:>{w}}" for v, (_, w) in zip(values, COLUMNS, strict=True)), flush=True)


if __name__ == "__main__":
    main()

"""Benchmark the mesoscopic simulator against UXsim (Python and C++, deltan 1 and 5) and SUMO meso.

Same network and the same vehicles for every engine: a TNTP network, its OD matrix times ``--scale``
sampled into whole vehicles with uniform departures over ``--window`` seconds (seeded), simulated for
``--window + 3 h``. Each engine runs in its own subprocess so peak memory (max RSS) is its own; wall time
is measured inside the subprocess after the inputs are read and translated (import and file reading
excluded), around the engine's run call.

Translation (written once here, used by every engine):
* length = TNTP length x unit (SiouxFalls: miles, Anaheim: feet, per their READMEs; ``--length-unit``),
  free speed = length / free-flow time (TNTP minutes; zero times raised to 1 s);
* lanes = ceil(capacity / 2000 veh/h); capacity = the TNTP capacity at both link ends (UXsim
  ``capacity_in``/``capacity_out``; ours: headway 1/q); jam density 0.2 veh/m per lane (UXsim's default);
* SUMO: ``netconvert`` from plain nodes/edges with explicit lengths, speeds and lanes (no capacity input:
  SUMO's own car following sets it); trips ``fromJunction``/``toJunction`` with ``--junction-taz``,
  routed by SUMO at departure; ``--mesosim``; default teleporting (time-to-teleport 300 s) is counted.

Route choice differs by engine and is part of what is compared: ours runs ``--dta-iterations`` of
time-dependent path swapping (MSA); UXsim routes en route by its dynamic user optimum (DUO, default
settings); SUMO routes each trip once at departure on free-flow times.

Usage: ``python bench/simulate.py [--network SiouxFalls|Anaheim|PATH_PREFIX] [--scale 0.25]
[--engines ours,uxsim_cpp_1,uxsim_cpp_5,uxsim_py_5,uxsim_py_1,sumo_meso]``; prints one JSON line per
engine and a table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from metaliverpool.config import benchmarks_dir
from metaliverpool.ingest.tntp import read_net, read_trips, road_graph_from_tntp
from metaliverpool.sim.demand import Demand, demand_from_od
from metaliverpool.sim.network import SimNetwork, sim_network_from_graph

UNITS_M = {"SiouxFalls": 1609.344, "Anaheim": 0.3048}
ENGINES = (
    "ours",
    "uxsim_cpp_1",
    "uxsim_cpp_5",
    "uxsim_py_5",
    "uxsim_py_1",
    "sumo_meso",
    "uxsim_cpp_1_ourroutes",
)
"""``uxsim_cpp_1_ourroutes``: UXsim C++ with every vehicle held to the route our assignment gave it, so the
two traffic models are compared without the difference in route choice."""


def resolve_prefix(network: str) -> Path:
    """A TNTP prefix from a name under the benchmarks folder or a path prefix."""
    folder = benchmarks_dir() / "tntp" / network
    if folder.is_dir():
        return folder / network
    return Path(network)


def load_case(
    prefix: Path, scale: float, window_s: float, seed: int, unit_m: float
) -> tuple[SimNetwork, Demand]:
    """The translated network and the sampled vehicles shared by every engine."""
    tntp = read_net(Path(f"{prefix}_net.tntp"))
    graph = road_graph_from_tntp(tntp)
    network = sim_network_from_graph(graph, length_unit_m=unit_m)
    trips = read_trips(Path(f"{prefix}_trips.tntp"), zone_count=graph.zone_count)
    demand = demand_from_od(trips.demand, graph.zone_node, window_s=window_s, scale=scale, seed=seed)
    return network, demand


def node_positions(prefix: Path, node_count: int) -> np.ndarray:
    """Node coordinates in metres (from the node file or geojson if any, else a circle)."""
    xy = None
    node_file = Path(f"{prefix}_node.tntp")
    geojson = sorted(prefix.parent.glob("*nodes.geojson"))
    if node_file.is_file():
        rows = [line.split() for line in node_file.read_text().splitlines()[1:] if line.strip()]
        table = {int(r[0]): (float(r[1]), float(r[2])) for r in rows}
        xy = np.array([table.get(i + 1, (0.0, 0.0)) for i in range(node_count)])
    elif geojson:
        features = json.loads(geojson[0].read_text())["features"]
        table = {int(f["properties"]["id"]): f["geometry"]["coordinates"][:2] for f in features}
        xy = np.array([table.get(i + 1, (0.0, 0.0)) for i in range(node_count)], dtype=float)
    if xy is None or not np.any(xy):
        angle = np.arange(node_count) * 2 * np.pi / max(node_count, 1)
        return np.stack([np.cos(angle), np.sin(angle)], 1) * 10000.0
    if np.abs(xy).max() <= 180:  # lon/lat degrees
        lat0 = np.radians(np.mean(xy[:, 1]))
        xy = np.stack([xy[:, 0] * 111320.0 * np.cos(lat0), xy[:, 1] * 110540.0], 1)
    return xy - xy.min(axis=0)


def run_ours(network: SimNetwork, demand: Demand, horizon_s: float, iterations: int) -> dict[str, float]:
    from metaliverpool.sim.dta import DtaConfig, run_dta
    from metaliverpool.sim.engine import SimConfig
    from metaliverpool.sim.signals import empty_signal_plan

    config = SimConfig(horizon_s=horizon_s)
    plan = empty_signal_plan(network)
    run_dta(
        network, plan, demand, config, DtaConfig(iterations=1)
    )  # compile (numba cache) outside the timing
    started = time.perf_counter()
    cpu = time.process_time()
    out = run_dta(network, plan, demand, config, DtaConfig(iterations=iterations))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    result = out.result
    tt = result.travel_time_s()
    one = out.iterations[0].seconds if out.iterations else wall
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "wall_one_simulation_s": one,
        "vehicles": demand.vehicle_count,
        "completed": int(result.completed.sum()),
        "total_travel_time_h": float(tt.sum() / 3600.0),
        "relative_gap": out.iterations[-1].relative_gap if out.iterations else float("nan"),
        "gridlock_interventions": result.gridlock_interventions,
    }


def our_routes(network: SimNetwork, demand: Demand, horizon_s: float, iterations: int) -> list[list[str]]:
    """Each vehicle's route (UXsim link names) after our dynamic assignment."""
    from metaliverpool.sim.dta import DtaConfig, run_dta
    from metaliverpool.sim.engine import SimConfig
    from metaliverpool.sim.signals import empty_signal_plan

    out = run_dta(
        network, empty_signal_plan(network), demand, SimConfig(horizon_s=horizon_s), DtaConfig(iterations)
    )
    routes = out.result.routes
    paths = [[f"l{k}" for k in routes.links_of(p)] for p in range(routes.path_count)]
    return [paths[p] for p in routes.veh_path]


def run_uxsim(
    network: SimNetwork,
    demand: Demand,
    horizon_s: float,
    cpp: bool,
    deltan: int,
    routes: list[list[str]] | None = None,
) -> dict[str, float]:
    import uxsim

    world = uxsim.World(
        name="bench", deltan=deltan, tmax=horizon_s, print_mode=0, save_mode=0, show_mode=0, random_seed=0,
        vehicle_logging_timestep_interval=-1, cpp=cpp,
    )  # fmt: skip
    for n in range(network.node_count):
        world.addNode(f"n{n}", float(n % 50) * 100.0, float(n // 50) * 100.0)
    for link in range(network.link_count):
        cap = float(network.link_capacity_vph[link] / 3600.0)
        world.addLink(
            f"l{link}",
            f"n{network.link_from_node[link]}",
            f"n{network.link_to_node[link]}",
            length=float(network.link_length_m[link]),
            free_flow_speed=float(network.link_free_speed_mps[link]),
            jam_density_per_lane=0.2,
            number_of_lanes=int(network.link_lanes[link]),
            capacity_out=cap,
            capacity_in=cap,
        )
    # one UXsim platoon per deltan vehicles of the same OD pair, at the first member's departure time
    keys = demand.origin_node.astype(np.int64) * network.node_count + demand.destination_node
    order = np.lexsort((demand.departure_time_s, keys))
    rank = np.empty_like(order)
    sorted_keys = keys[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_keys)) + 1]
    group_rank = np.arange(order.shape[0]) - np.repeat(starts, np.diff(np.r_[starts, order.shape[0]]))
    rank[order] = group_rank
    lead = np.flatnonzero(rank % deltan == 0)
    for v in lead[np.argsort(demand.departure_time_s[lead], kind="stable")]:
        vehicle = world.addVehicle(
            f"n{demand.origin_node[v]}", f"n{demand.destination_node[v]}", float(demand.departure_time_s[v])
        )
        if routes is not None:
            vehicle.enforce_route(routes[v])
    started = time.perf_counter()
    cpu = time.process_time()
    world.exec_simulation()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    world.analyzer.basic_analysis()
    analyzer = world.analyzer
    total_h = float(analyzer.total_travel_time) / 3600.0
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "vehicles": int(analyzer.trip_all),
        "completed": int(analyzer.trip_completed),
        "total_travel_time_h": total_h,
    }


def run_sumo(prefix: Path, network: SimNetwork, demand: Demand, horizon_s: float) -> dict[str, float]:
    import sumo

    home = Path(sumo.SUMO_HOME)
    xy = node_positions(prefix, network.node_count)
    with tempfile.TemporaryDirectory(prefix="bench_sumo_") as tmp:
        folder = Path(tmp)
        nodes = "".join(f'<node id="n{n}" x="{x:.2f}" y="{y:.2f}"/>' for n, (x, y) in enumerate(xy))
        (folder / "net.nod.xml").write_text(f"<nodes>{nodes}</nodes>")
        edges = "".join(
            f'<edge id="l{k}" from="n{network.link_from_node[k]}" to="n{network.link_to_node[k]}" '
            f'numLanes="{int(network.link_lanes[k])}" speed="{network.link_free_speed_mps[k]:.3f}" '
            f'length="{network.link_length_m[k]:.2f}"/>'
            for k in range(network.link_count)
        )
        (folder / "net.edg.xml").write_text(f"<edges>{edges}</edges>")
        subprocess.run(
            [str(home / "bin" / "netconvert"), "-n", "net.nod.xml", "-e", "net.edg.xml", "-o", "net.net.xml",
             "--no-warnings", "true"],
            cwd=folder, check=True, capture_output=True,
        )  # fmt: skip
        trips = "".join(
            f'<trip id="{v}" depart="{demand.departure_time_s[v]:.2f}" '
            f'fromJunction="n{demand.origin_node[v]}" toJunction="n{demand.destination_node[v]}"/>'
            for v in range(demand.vehicle_count)
        )
        (folder / "trips.xml").write_text(f"<routes>{trips}</routes>")
        command = [
            str(home / "bin" / "sumo"), "--mesosim", "true", "-n", "net.net.xml", "-r", "trips.xml",
            "--junction-taz", "true", "--end", str(horizon_s), "--no-step-log", "true",
            "--no-warnings", "true",
            "--statistic-output", "stats.xml", "--tripinfo-output", "tripinfo.xml",
        ]  # fmt: skip
        started = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, cwd=folder, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter() - started
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        import xml.etree.ElementTree as ET

        stats = ET.parse(folder / "stats.xml").getroot()
        trip_stats = stats.find("vehicleTripStatistics")
        teleports = stats.find("teleports")
        vehicles = stats.find("vehicles")
        infos = ET.parse(folder / "tripinfo.xml").getroot().findall("tripinfo")
        total = sum(
            float(t.get("arrival", 0)) - float(t.get("depart", 0)) + float(t.get("departDelay", 0))
            for t in infos
        )
        ended = {t.get("id") for t in infos}
        # vehicles still running or never inserted at the end count until the end, as in ours
        total += sum(
            horizon_s - float(demand.departure_time_s[v])
            for v in range(demand.vehicle_count)
            if str(v) not in ended
        )
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "vehicles": int(vehicles.get("loaded", 0)) if vehicles is not None else demand.vehicle_count,
            "completed": len(infos),
            "total_travel_time_h": total / 3600.0,
            "mean_route_length_m": float(trip_stats.get("routeLength", "nan"))
            if trip_stats is not None
            else math.nan,
            "teleports": int(teleports.get("total", 0)) if teleports is not None else 0,
        }


def run_engine(args: argparse.Namespace) -> dict[str, float]:
    prefix = resolve_prefix(args.network)
    unit = args.length_unit or UNITS_M.get(prefix.name, 1609.344)
    network, demand = load_case(prefix, args.scale, args.window, args.seed, unit)
    horizon = args.window + 3 * 3600.0
    engine = args.engine
    if engine == "ours":
        out = run_ours(network, demand, horizon, args.dta_iterations)
    elif engine.startswith("uxsim"):
        parts = engine.split("_")
        routes = (
            our_routes(network, demand, horizon, args.dta_iterations) if parts[-1] == "ourroutes" else None
        )
        out = run_uxsim(network, demand, horizon, cpp=parts[1] == "cpp", deltan=int(parts[2]), routes=routes)
    elif engine == "sumo_meso":
        out = run_sumo(prefix, network, demand, horizon)
    else:
        raise SystemExit(f"unknown engine {engine}")
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    out["peak_rss_mb"] = max(out["peak_rss_mb"], children)
    out["engine"] = engine  # type: ignore[assignment]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="SiouxFalls")
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--window", type=float, default=3600.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--length-unit", type=float, default=None, help="metres per TNTP length unit")
    parser.add_argument("--dta-iterations", type=int, default=10)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--engine", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(run_engine(args)))
        return
    rows = []
    for engine in args.engines.split(","):
        command = [sys.executable, __file__, "--engine", engine, "--network", args.network]
        command += ["--scale", str(args.scale), "--window", str(args.window), "--seed", str(args.seed)]
        command += ["--dta-iterations", str(args.dta_iterations)]
        if args.length_unit:
            command += ["--length-unit", str(args.length_unit)]
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
        if done.returncode != 0:
            row = {"engine": engine, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
        else:
            row = json.loads(done.stdout.strip().splitlines()[-1])
        print(json.dumps(row), flush=True)
        rows.append(row)
    ours = next((r for r in rows if r.get("engine") == "ours" and "wall_s" in r), None)
    print(f"\n{args.network} x{args.scale} over {args.window:.0f} s (machine shared; figures indicative)")
    header = ("engine", "wall s", "cpu s", "peak MB", "vehicles", "completed", "TTT veh-h", "cpu x ours")
    print(f"{header[0]:<24}" + "".join(f"{h:>11}" for h in header[1:]))
    for r in rows:
        if "wall_s" not in r:
            print(f"{r['engine']:<24} error: {r.get('error')}")
            continue
        cpu = r.get("cpu_s", float("nan"))
        ratio = cpu / ours["cpu_s"] if ours else float("nan")
        cells = (
            r["wall_s"],
            cpu,
            r["peak_rss_mb"],
            r["vehicles"],
            r["completed"],
            r["total_travel_time_h"],
            ratio,
        )
        print(f"{r['engine']:<24}" + "".join(f"{c:>11.1f}" for c in cells))


if __name__ == "__main__":
    main()

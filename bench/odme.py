"""Benchmark our matrix estimation (ODME) against SUMO's routeSampler on SiouxFalls.

Usage::

    .venv/bin/python bench/odme.py ../shared/data/benchmarks/tntp/SiouxFalls [--scale 0.1] [--every 1]
        [--seed 1] [--peer-options='--init-input.remove-overflow']

The same problem for both tools:

- **Truth**: the TNTP matrix times ``--scale`` (veh/h); its user equilibrium (our GP, relative gap 1e-6)
  gives the **counts** on every ``--every``-th link.
- **Prior**: the truth with every origin row and destination column scaled by a factor drawn from
  [0.7, 1.3] (``--seed``): the error of a mis-specified gravity model, which counts can see.
- **Ours**: :func:`metaliverpool.assign.odme.estimate_matrix` from the prior (cell bound x2, trip ends and
  total free), at most 30 equilibrium assignments.
- **routeSampler** (``eclipse-sumo`` wheel, ``tools/routeSampler.py``): the candidate routes are the
  prior's equilibrium paths, one vehicle per prior trip on its path (largest remainders) as the initial
  solution (``--init-input.remove-overflow``: keep the prior's vehicles, drop those that overflow a count,
  then sample routes to fill the counts still short). routeSampler works on routes only (edge lists),
  so it reads no SUMO network; its edge ids are the TNTP link numbers.

Measured for each: GEH of the counts (ours at the equilibrium of its matrix; routeSampler's on its own
routes, and also at the equilibrium of its OD matrix assigned by our GP), how far the demand moved from
the prior (total change, cell RMSE in veh/h), cell RMSE to the truth, and the wall time (ours excludes
compiling the numba kernels, done before; routeSampler's is its process, Python start-up included).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from metaliverpool.assign.odme import CountTargets, OdmeConfig, estimate_matrix, geh
from metaliverpool.assign.problem import AssignmentProblem, UserClass
from metaliverpool.assign.result import AssignmentConfig
from metaliverpool.assign.run import assign, compile_kernels
from metaliverpool.demand.profile import integer_matrix
from metaliverpool.ingest import tntp
from metaliverpool.network.graph import RoadGraph


def equilibrium(graph: RoadGraph, demand: np.ndarray, gap: float = 1e-6):  # type: ignore[no-untyped-def]
    """GP equilibrium of ``demand`` (veh/h) on ``graph``."""
    problem = AssignmentProblem.build(graph, [UserClass("car", demand)])
    return assign(problem, "gp", AssignmentConfig(target_gap=gap, max_iterations=500))


def write_routes(graph: RoadGraph, prior: np.ndarray, path: Path) -> None:
    """One vehicle per prior trip (largest remainders per path) on the prior's equilibrium paths."""
    result = equilibrium(graph, prior)
    paths = result.paths
    assert paths is not None
    vehicles = integer_matrix(paths.path_flow_vph)
    with path.open("w") as out:
        out.write("<routes>\n")
        number = 0
        for q, count in enumerate(vehicles):
            links = paths.links[paths.link_indptr[q] : paths.link_indptr[q + 1]][::-1]
            edges = " ".join(f"e{a}" for a in links)
            for _ in range(int(count)):
                out.write(f'  <vehicle id="p{number}" depart="0"><route edges="{edges}"/></vehicle>\n')
                number += 1
        out.write("</routes>\n")


def write_counts(counted: np.ndarray, counts: np.ndarray, path: Path) -> None:
    """SUMO edgeData with the counts (``entered``) over one hour."""
    rows = "".join(f'    <edge id="e{a}" entered="{counts[a]:.0f}"/>\n' for a in counted)
    path.write_text(f'<data>\n  <interval id="h" begin="0" end="3600">\n{rows}  </interval>\n</data>\n')


def read_sampled(graph: RoadGraph, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Link flows and the OD matrix (veh/h) of routeSampler's vehicles."""
    node_zone = {int(n): z for z, n in enumerate(graph.zone_node)}
    flows = np.zeros(graph.link_count)
    matrix = np.zeros((graph.zone_count, graph.zone_count))
    for _, element in ET.iterparse(path):
        if element.tag != "route" or not element.get("edges"):
            continue
        links = [int(e[1:]) for e in element.get("edges", "").split()]
        np.add.at(flows, links, 1.0)
        origin = node_zone[int(graph.link_from[links[0]])]
        destination = node_zone[int(graph.link_to[links[-1]])]
        matrix[origin, destination] += 1.0
        element.clear()
    return flows, matrix


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def report(
    name: str,
    geh_counts: np.ndarray,
    matrix: np.ndarray,
    prior: np.ndarray,
    truth: np.ndarray,
    seconds: float,
) -> dict[str, float]:
    row = {
        "geh_max": float(geh_counts.max()),
        "geh_below_5": float(np.mean(geh_counts < 5)),
        "geh_below_1": float(np.mean(geh_counts < 1)),
        "total_change_pct": 100.0 * (matrix.sum() / prior.sum() - 1.0),
        "rmse_from_prior_vph": rmse(matrix, prior),
        "rmse_to_truth_vph": rmse(matrix, truth),
        "seconds": seconds,
    }
    print(
        f"{name:<34} GEH max {row['geh_max']:6.2f}  <5 {row['geh_below_5']:6.1%}  "
        f"<1 {row['geh_below_1']:6.1%}  "
        f"total {row['total_change_pct']:+6.2f}%  RMSE from prior {row['rmse_from_prior_vph']:7.2f}  "
        f"to truth {row['rmse_to_truth_vph']:7.2f} veh/h  {seconds:7.2f} s"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--scale", type=float, default=0.1, help="Demand scale of the TNTP matrix.")
    parser.add_argument("--every", type=int, default=1, help="Count every N-th link.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--peer-options", default="--init-input.remove-overflow", help="routeSampler options (one string)."
    )
    args = parser.parse_args()

    name = args.folder.name
    net = tntp.read_net(args.folder / f"{name}_net.tntp")
    graph = tntp.road_graph_from_tntp(net)
    truth = tntp.read_trips(args.folder / f"{name}_trips.tntp", zone_count=net.zone_count).demand * args.scale
    np.fill_diagonal(truth, 0.0)
    rng = np.random.default_rng(args.seed)
    zones = graph.zone_count
    prior = truth * rng.uniform(0.7, 1.3, zones)[:, None] * rng.uniform(0.7, 1.3, zones)[None, :]
    counts = equilibrium(graph, truth).link_flow_pcu
    counted = np.arange(0, graph.link_count, args.every)
    print(
        f"{name}: {zones} zones, {graph.link_count} links, {len(counted)} counted; "
        f"truth {truth.sum():.0f} veh/h, prior {prior.sum():.0f}"
    )
    print(f"numba compile/load: {compile_kernels():.1f} s")

    prior_geh = geh(equilibrium(graph, prior).link_flow_pcu[counted], counts[counted])
    report("prior", prior_geh, prior, prior, truth, 0.0)

    targets = CountTargets.from_lists([[int(a)] for a in counted], counts[counted])
    config = OdmeConfig(
        max_cell_change=1.0, trip_end_tolerance=None, total_tolerance=None, outer_iterations=30
    )
    started = time.perf_counter()
    ours = estimate_matrix(AssignmentProblem.build(graph, [UserClass("car", prior)]), targets, config)
    ours_s = time.perf_counter() - started
    ours_row = report(
        "ours (Spiess ODME, bi-level)",
        geh(ours.target_flow_vph, counts[counted]),
        ours.demand_vph,
        prior,
        truth,
        ours_s,
    )

    import sumo

    tool = Path(sumo.SUMO_HOME) / "tools" / "routeSampler.py"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        write_routes(graph, prior, work / "prior.rou.xml")
        write_counts(counted, counts, work / "counts.xml")
        env = {**os.environ, "SUMO_HOME": str(sumo.SUMO_HOME)}
        command = [
            sys.executable,
            str(tool),
            "-r",
            str(work / "prior.rou.xml"),
            "-d",
            str(work / "counts.xml"),
            *args.peer_options.split(),
            "-o",
            str(work / "out.rou.xml"),
            "--seed",
            str(args.seed),
        ]
        started = time.perf_counter()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
        peer_s = time.perf_counter() - started
        flows, matrix = read_sampled(graph, work / "out.rou.xml")
    print(f"routeSampler options: {args.peer_options}")
    peer_row = report(
        "routeSampler (own routes)", geh(flows[counted], counts[counted]), matrix, prior, truth, peer_s
    )
    reassigned = equilibrium(graph, matrix).link_flow_pcu[counted]
    report(
        "routeSampler (matrix re-assigned)", geh(reassigned, counts[counted]), matrix, prior, truth, peer_s
    )
    print(f"time ratio routeSampler / ours: {peer_row['seconds'] / ours_row['seconds']:.2f}")


if __name__ == "__main__":
    main()

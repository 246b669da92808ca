"""``metaliverpool assign``: static user-equilibrium assignment of a TNTP network.

Prints exactly one JSON line last on standard output::

    {"algorithm": ..., "iterations": ..., "relative_gap": ..., "objective": ..., "seconds": ...,
     "read_seconds": ..., "compile_seconds": ...}

``objective`` is the Beckmann objective in the file's time unit times flow units (for TNTP files, the
value the TNTP READMEs quote); ``seconds`` is the assignment including graph preparation, with reading the
files (``read_seconds``) and compiling the numba kernels (``compile_seconds``) timed apart. ``--out``
writes ``init_node,term_node,flow,cost`` (cost = generalised link cost in the file's time unit).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import typer

from metaliverpool.assign.problem import AssignmentProblem, UserClass
from metaliverpool.assign.result import AssignmentConfig, AssignmentResult
from metaliverpool.assign.run import ALGORITHMS, assign, compile_kernels
from metaliverpool.atomic import write_text_atomic
from metaliverpool.errors import InputError
from metaliverpool.ingest import tntp
from metaliverpool.network.graph import RoadGraph


def register(app: typer.Typer) -> None:
    """Add the ``assign`` command to ``app``."""
    app.command(name="assign", help="Static user-equilibrium assignment of a TNTP network.")(assign_command)


def assign_command(
    net: Path = typer.Option(..., "--net", help="TNTP network file (*_net.tntp)."),
    trips: Path = typer.Option(..., "--trips", help="TNTP demand file (*_trips.tntp)."),
    algorithm: str = typer.Option("gp", "--algorithm", help=f"One of {', '.join(ALGORITHMS)}."),
    gap: float = typer.Option(1e-4, "--gap", help="Target relative gap."),
    max_iter: int = typer.Option(1000, "--max-iter", help="Maximum iterations."),
    toll_factor: float = typer.Option(
        0.0, "--toll-factor", help="Time units per toll unit, used when the file has no <TOLL FACTOR>."
    ),
    distance_factor: float = typer.Option(
        0.0,
        "--distance-factor",
        help="Time units per length unit, used when the file has no <DISTANCE FACTOR>.",
    ),
    out: Path | None = typer.Option(None, "--out", help="Write init_node,term_node,flow,cost here (CSV)."),
    report: Path | None = typer.Option(
        None, "--report", help="Write the per-iteration convergence report (CSV)."
    ),
    time_limit: float | None = typer.Option(None, "--time-limit", help="Stop after this many seconds."),
) -> None:
    """Read the files, assign, write the outputs and print the summary JSON line."""
    if algorithm not in ALGORITHMS:
        raise InputError(
            "--algorithm", f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}"
        )
    if not gap >= 0:
        raise InputError("--gap", f"must be >= 0, found {gap}")
    if max_iter < 1:
        raise InputError("--max-iter", f"must be >= 1, found {max_iter}")
    started = time.perf_counter()
    network = tntp.read_net(net)
    demand = tntp.read_trips(trips, zone_count=network.zone_count)
    read_seconds = time.perf_counter() - started

    compile_seconds = compile_kernels()

    started = time.perf_counter()
    graph = tntp.road_graph_from_tntp(
        network, toll_factor=toll_factor, distance_factor=distance_factor, source=str(net)
    )
    problem = AssignmentProblem.build(graph, [UserClass("car", demand.demand)])
    result = assign(
        problem, algorithm, AssignmentConfig(target_gap=gap, max_iterations=max_iter, time_limit_s=time_limit)
    )
    seconds = time.perf_counter() - started

    if out is not None:
        write_text_atomic(out, format_link_flows(graph, result))
    if report is not None:
        write_text_atomic(report, format_report(graph, result))
    summary = {
        "algorithm": algorithm,
        "iterations": result.iterations,
        "relative_gap": result.relative_gap,
        "objective": result.objective / graph.time_unit_s,
        "seconds": seconds,
        "read_seconds": read_seconds,
        "compile_seconds": compile_seconds,
    }
    print(json.dumps(summary))


def format_link_flows(graph: RoadGraph, result: AssignmentResult) -> str:
    """CSV ``init_node,term_node,flow,cost`` in file node numbers and time units (first class's cost)."""
    buffer = io.StringIO()
    buffer.write("init_node,term_node,flow,cost\n")
    cost = result.class_cost_s[0] / graph.time_unit_s
    for link in range(graph.link_count):
        buffer.write(
            f"{graph.node_external_id[graph.link_from[link]]},{graph.node_external_id[graph.link_to[link]]},"
            f"{float(result.link_flow_pcu[link])!r},{float(cost[link])!r}\n"
        )
    return buffer.getvalue()


def format_report(graph: RoadGraph, result: AssignmentResult) -> str:
    """CSV of the convergence report, one row per iteration (excess cost and objective in file units)."""
    buffer = io.StringIO()
    buffer.write("iteration,relative_gap,average_excess_cost,objective,stability,step,elapsed_s\n")
    for record in result.history:
        values = (
            record.iteration,
            record.relative_gap,
            record.average_excess_cost_s / graph.time_unit_s,
            record.objective / graph.time_unit_s,
            record.stability,
            record.step,
            record.elapsed_s,
        )
        buffer.write(",".join(repr(value) for value in values) + "\n")
    return buffer.getvalue()

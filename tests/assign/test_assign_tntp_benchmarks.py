"""Acceptance on the TNTP benchmark networks: best-known flows and objectives reproduced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metaliverpool.assign.convergence import measure_equilibrium, node_flow_imbalance
from metaliverpool.assign.problem import AssignmentProblem, UserClass
from metaliverpool.assign.result import AssignmentConfig
from metaliverpool.assign.run import assign
from metaliverpool.ingest import tntp

SIOUX_FALLS_README_OBJECTIVE = 42.31335287107440e5  # README.upstream.md, quoted in units of 1e5


def load(benchmarks_data: Path, name: str) -> tuple[AssignmentProblem, tntp.TntpFlow]:
    folder = benchmarks_data / "tntp" / name
    net = tntp.read_net(folder / f"{name}_net.tntp")
    trips = tntp.read_trips(folder / f"{name}_trips.tntp", zone_count=net.zone_count)
    best = tntp.read_flow(folder / f"{name}_flow.tntp")
    assert np.array_equal(best.init_node, net.init_node) and np.array_equal(best.term_node, net.term_node)
    graph = tntp.road_graph_from_tntp(net)  # the READMEs give toll and distance weights 0
    return AssignmentProblem.build(graph, [UserClass("car", trips.demand)]), best


def significant(value: float, digits: int = 6) -> str:
    return f"{value:.{digits - 1}e}"


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["gp", "bush"])
@pytest.mark.parametrize("name", ["SiouxFalls", "Anaheim"])
def test_gradient_projection_reproduces_best_known_solution(
    benchmarks_data: Path, name: str, algorithm: str
) -> None:
    problem, best = load(benchmarks_data, name)
    result = assign(problem, algorithm, AssignmentConfig(target_gap=1e-8, max_iterations=500))
    assert result.relative_gap <= 1e-8
    flow = result.link_flow_pcu
    busy = best.volume > 0.01 * best.volume.max()
    np.testing.assert_allclose(flow[busy], best.volume[busy], rtol=5e-3)
    minutes = problem.graph.time_unit_s
    best_objective = measure_equilibrium(problem, best.volume[None, :]).objective / minutes
    assert significant(result.objective / minutes) == significant(best_objective)
    if name == "SiouxFalls":
        assert significant(result.objective / minutes) == significant(SIOUX_FALLS_README_OBJECTIVE)
    np.testing.assert_allclose(node_flow_imbalance(problem, result.class_flow_vph), 0.0, atol=1e-6)
    # the best-known flows are an equilibrium by our own measure too
    assert measure_equilibrium(problem, best.volume[None, :]).relative_gap < 1e-12


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["bfw", "cfw", "fw", "msa"])
def test_link_based_algorithms_descend_on_sioux_falls(benchmarks_data: Path, algorithm: str) -> None:
    problem, best = load(benchmarks_data, "SiouxFalls")
    target = 1e-6 if algorithm == "bfw" else 1e-3
    result = assign(problem, algorithm, AssignmentConfig(target_gap=target, max_iterations=3000))
    assert result.relative_gap <= target
    best_objective = measure_equilibrium(problem, best.volume[None, :]).objective
    assert result.objective >= best_objective * (1 - 1e-12)  # never below the optimum
    assert result.objective - best_objective <= (result.relative_gap * 2) * best_objective
    np.testing.assert_allclose(node_flow_imbalance(problem, result.class_flow_vph), 0.0, atol=1e-6)
    assert all(r.relative_gap >= 0 for r in result.history)
    assert result.history[-1].stability > 0.9


@pytest.mark.slow
def test_bfw_reaches_1e_6_on_anaheim(benchmarks_data: Path) -> None:
    problem, best = load(benchmarks_data, "Anaheim")
    result = assign(problem, "bfw", AssignmentConfig(target_gap=1e-6, max_iterations=2000))
    assert result.relative_gap <= 1e-6
    best_objective = measure_equilibrium(problem, best.volume[None, :]).objective
    assert best_objective <= result.objective <= best_objective * (1 + 1e-6)
    np.testing.assert_allclose(node_flow_imbalance(problem, result.class_flow_vph), 0.0, atol=1e-6)

"""Iterative dynamic traffic assignment: simulate, measure the relative gap, swap paths, repeat.

Iteration ``k`` (from 1) simulates the current routes, tabulates the experienced link travel times per
entry bin (:meth:`SimResult.link_travel_time_table`), finds for every group of vehicles (origin,
departure bin, destination) the time-dependent cheapest path under that table, and measures

    relative gap = sum_v (c(path_v) - c(best_v)) / sum_v c(path_v)

where both costs (travel time plus tolls over the value of time, ``DtaConfig.value_of_time_gbp_per_h``)
are evaluated with the same table at the group's departure time (so the gap does not
depend on how the simulator moved vehicles, only on the times it produced). Unless it is the last
iteration or the gap is below ``gap_tolerance``, some vehicles switch to their group's best path
(draws seeded per iteration), by one of two rules (``DtaConfig.swap_rule``):

- ``"proportional"``: the proportional swap of Smith (1984, "The stability of a dynamic
  model of traffic assignment", Transp. Sci. 18(3)) as used for DTA by Mounce and Carey (2011, "Route
  swapping in dynamic traffic networks", Transp. Res. B 45(1)) and, as gap-function-based swapping,
  by Lu, Mahmassani and Zhou (2009, Transp. Res. B 43(3)): a vehicle's share of moving grows with its
  relative cost excess ``r_v = (c(path_v) - c(best_v)) / c(path_v)``,

      p_v = min(1, r_v / swap_full_excess) / (k + 1),

  so vehicles with the largest relative gap move first (Sbayti, Lu and Mahmassani 2007, Transp. Res.
  Rec. 2029) and the step still shrinks like the method of successive averages. A vehicle inside the
  indifference band (Mahmassani and Jayakrishnan 1991: ``r_v < swap_indifference`` or a saving below
  ``swap_min_saving_s``) stays.
- ``"msa"`` (the default): every vehicle on a path slower than its group's best switches with
  probability ``1 / (k + 1)`` whatever the cost difference (the plain method of successive averages;
  on the central twin it moved ~9,100 vehicles onto the same best paths at once). It stays the
  default because the proportional rule, though it removes the central twin's gridlock and cuts its
  gap after 3 iterations from 0.10-0.18 to 0.023-0.024, leaves a morning too fast for the held-out
  centre speed (docs/simulator.md, *Path swap rules on the central twin*).

The result is the last simulation and the gap history.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from metaliverpool.kernels.sim_tdsp import td_path_times
from metaliverpool.sim.control_api import SignalController
from metaliverpool.sim.demand import Demand, Routes, routes_from_paths
from metaliverpool.sim.engine import EventBatch, SimConfig, SimResult, simulate
from metaliverpool.sim.network import SimNetwork
from metaliverpool.sim.routing import (
    STATIC_BIN_S,
    fastest_query_paths,
    free_flow_table,
    group_route_queries,
    route_incremental,
    toll_cost_s,
)
from metaliverpool.sim.signals import SignalPlan


@dataclass(frozen=True)
class DtaConfig:
    """Iterations (1 = the incremental-loading routes only), route grouping bin (s), stopping gap, seed,
    the value of time (GBP/h) that turns link tolls (``SimNetwork.link_toll_gbp``) into seconds of
    route cost, and the path swap rule (module docstring): ``swap_rule`` ``"proportional"`` or
    ``"msa"``; for ``"proportional"``, the relative excess (fraction of the vehicle's own cost) at
    which the full step ``1 / (k + 1)`` applies, and the indifference band (relative excess, and
    saving in seconds) inside which a vehicle keeps its path."""

    iterations: int = 5
    route_bin_s: float = 300.0
    gap_tolerance: float = 0.0
    seed: int = 0
    value_of_time_gbp_per_h: float = 10.0
    swap_rule: str = "msa"
    swap_full_excess: float = 0.5
    swap_indifference: float = 0.02
    swap_min_saving_s: float = 5.0

    def __post_init__(self) -> None:
        if self.swap_rule not in SWAP_RULES:
            raise ValueError(f"DtaConfig.swap_rule: expected one of {SWAP_RULES}, got {self.swap_rule!r}")
        if not self.swap_full_excess > 0.0:
            raise ValueError(f"DtaConfig.swap_full_excess: expected > 0, got {self.swap_full_excess}")


SWAP_RULES = ("proportional", "msa")


def swap_probability(
    own_cost_s: np.ndarray, best_cost_s: np.ndarray, iteration: int, settings: DtaConfig
) -> np.ndarray:
    """Probability that each vehicle moves to its group's best path after ``iteration`` (from 1), given
    its own and the best path cost (s, same table); 0 where the best is not cheaper or not finite."""
    excess_s = np.where(np.isfinite(best_cost_s), own_cost_s - best_cost_s, 0.0)
    step = 1.0 / (iteration + 1)
    if settings.swap_rule == "msa":
        return np.where(excess_s > 1e-6, step, 0.0)
    relative = excess_s / np.maximum(own_cost_s, 1e-9)
    inside_band = (relative < settings.swap_indifference) | (excess_s < max(settings.swap_min_saving_s, 1e-6))
    share = np.minimum(1.0, relative / settings.swap_full_excess) * step
    return np.where(inside_band, 0.0, share)


@dataclass(frozen=True)
class DtaIteration:
    """One iteration: its relative gap, total travel time (s), vehicles switched after it, wall time."""

    iteration: int
    relative_gap: float
    total_travel_time_s: float
    completed: int
    switched: int
    seconds: float


@dataclass(eq=False)
class DtaResult:
    """The last simulation and the per-iteration history."""

    result: SimResult
    iterations: list[DtaIteration] = field(default_factory=list)


def _path_costs(
    routes: Routes, paths: np.ndarray, depart_s: np.ndarray, table: np.ndarray, bin_s: float
) -> np.ndarray:
    out = np.empty(paths.shape[0])
    td_path_times(
        routes.path_offset, routes.path_length, routes.path_links, table, bin_s, paths, depart_s, out
    )
    return out


def run_dta(
    network: SimNetwork,
    plan: SignalPlan,
    demand: Demand,
    config: SimConfig | None = None,
    dta: DtaConfig | None = None,
    *,
    controller_factory: Callable[[], SignalController] | None = None,
    on_events: Callable[[EventBatch], None] | None = None,
) -> DtaResult:
    """Run ``dta.iterations`` simulations with path swapping between them (see the module docstring).

    ``controller_factory`` makes a fresh signal controller for each simulation; ``on_events`` receives
    the events of the last simulation only.
    """
    cfg = config or SimConfig()
    settings = dta or DtaConfig()
    queries = group_route_queries(demand, settings.route_bin_s)
    od_queries = group_route_queries(demand, STATIC_BIN_S)  # free-flow times do not depend on departure
    _, od_free_times, _ = fastest_query_paths(network, od_queries, free_flow_table(network), STATIC_BIN_S)
    toll_s = toll_cost_s(network, settings.value_of_time_gbp_per_h)
    # every vehicle starts on its incremental-loading path; path keys index a growing list of paths
    initial = route_incremental(network, demand, seed=settings.seed, link_fixed_cost_s=toll_s)
    paths = [tuple(initial.links_of(p).tolist()) for p in range(initial.path_count)]
    veh_key = initial.veh_path.astype(np.int64)
    key_of: dict[tuple[int, ...], int] = {}
    for k, p in enumerate(paths):
        key_of.setdefault(p, k)
    veh_free = od_free_times[od_queries.veh_query]
    reachable = np.isfinite(veh_free)
    history: list[DtaIteration] = []
    result: SimResult | None = None
    for iteration in range(1, max(1, settings.iterations) + 1):
        started = time.perf_counter()
        routes = routes_from_paths(paths, veh_key)
        last = iteration == max(1, settings.iterations)
        result = simulate(
            network,
            plan,
            demand,
            routes,
            cfg,
            veh_free_time_s=veh_free,
            controller=controller_factory() if controller_factory else None,
            on_events=on_events if last else None,
        )
        table = result.link_travel_time_table()
        best_paths, _, best_cost = fastest_query_paths(network, queries, table, cfg.tt_bin_s, toll_s)
        depart = queries.depart_s[queries.veh_query]
        own = (
            _path_costs(routes, routes.veh_path, depart, table, cfg.tt_bin_s)
            + routes.path_sums(toll_s)[routes.veh_path]
        )
        best = best_cost[queries.veh_query]
        ok = reachable & np.isfinite(best)
        excess = np.where(ok, np.maximum(own - best, 0.0), 0.0)
        gap = float(excess.sum() / max(own[ok].sum(), 1e-9))
        switched = 0
        if not last and gap > settings.gap_tolerance:
            rng = np.random.default_rng([settings.seed, iteration])
            draw = rng.random(demand.vehicle_count)
            move = ok & (draw < swap_probability(own, best, iteration, settings))
            switched = int(move.sum())
            for v in np.flatnonzero(move):
                target = best_paths[int(queries.veh_query[v])]
                key = key_of.get(target)
                if key is None:
                    key = len(paths)
                    paths.append(target)
                    key_of[target] = key
                veh_key[v] = key
        summary = result.summary()
        history.append(
            DtaIteration(
                iteration=iteration,
                relative_gap=gap,
                total_travel_time_s=float(summary["total_travel_time_s"]),
                completed=int(summary["completed"]),
                switched=switched,
                seconds=time.perf_counter() - started,
            )
        )
        if last or gap <= settings.gap_tolerance:
            break
    assert result is not None
    return DtaResult(result=result, iterations=history)

"""Fixed-time signal plans: phases of movements, green, amber, all-red, cycle and offset; Webster defaults.

A :class:`SignalPlan` holds every signalised junction of a :class:`~metaliverpool.sim.network.SimNetwork`
(one row per signal, at node ``signal_node``). Signal ``s`` has phases
``phase_indptr[s]:phase_indptr[s + 1]`` run in order, each showing ``phase_green_s`` of green then
``phase_amber_s`` of amber and ``phase_all_red_s`` of all-red; the cycle is their sum and phase 0's green
starts at ``signal_offset_s`` (mod the cycle). ``turn_phase_mask[t]`` has bit ``p`` set when phase ``p``
of the turn's junction serves turn ``t`` (turn numbering of the network: ``link_turn_offset``). Vehicles
cross only in green. A turn whose mask is ``NO_STOP_LINE`` (-1, every bit) is not held by the signal at
all: it leaves a link inside the junction box (``SimNetwork.link_junction_internal``), whose vehicles
already entered the junction on a green and clear it, in green, amber and all-red alike.

Webster (1958): cycle ``C0 = (1.5 L + 5) / (1 - Y)`` with ``L`` the lost time per cycle (amber + all-red
of every phase) and ``Y`` the sum over phases of the critical flow ratio ``y = flow / saturation flow``
(the largest over the approaches the phase serves), clamped to ``[min_cycle_s, max_cycle_s]``; green
``g_i = (C - L) y_i / Y``, at least ``min_green_s``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from metaliverpool.sim.demand import Routes
from metaliverpool.sim.network import SimNetwork

FloatArray = npt.NDArray[np.float64]

NO_STOP_LINE = -1
"""``turn_phase_mask`` value of a turn the signal never holds (it leaves a link inside the junction)."""


@dataclass(frozen=True)
class SignalSpec:
    """One junction's plan: phases as lists of (in_link, out_link) turns, with their timings (s)."""

    node: int
    phases: tuple[tuple[tuple[int, int], ...], ...]
    green_s: tuple[float, ...]
    amber_s: tuple[float, ...]
    all_red_s: tuple[float, ...]
    offset_s: float = 0.0
    free_turns: tuple[tuple[int, int], ...] = ()
    """Turns with no stop line (leaving a link inside the junction): never held, mask ``NO_STOP_LINE``."""


@dataclass(frozen=True, eq=False)
class SignalPlan:
    """Every signal of a network as flat arrays (see the module docstring)."""

    signal_node: npt.NDArray[np.int32]
    phase_indptr: npt.NDArray[np.int64]
    phase_green_s: FloatArray
    phase_amber_s: FloatArray
    phase_all_red_s: FloatArray
    signal_offset_s: FloatArray
    turn_phase_mask: npt.NDArray[np.int64]

    @property
    def signal_count(self) -> int:
        """Number of signalised junctions."""
        return int(self.signal_node.shape[0])

    @property
    def signal_cycle_s(self) -> FloatArray:
        """Cycle length of each signal (s)."""
        total = self.phase_green_s + self.phase_amber_s + self.phase_all_red_s
        sums = np.add.reduceat(total, self.phase_indptr[:-1]) if total.size else np.zeros(0)
        empty = np.diff(self.phase_indptr) == 0
        return np.where(empty, 0.0, sums[: self.signal_count]) if self.signal_count else np.zeros(0)


def empty_signal_plan(network: SimNetwork) -> SignalPlan:
    """A plan with no signals."""
    return SignalPlan(
        signal_node=np.zeros(0, dtype=np.int32),
        phase_indptr=np.zeros(1, dtype=np.int64),
        phase_green_s=np.zeros(0),
        phase_amber_s=np.zeros(0),
        phase_all_red_s=np.zeros(0),
        signal_offset_s=np.zeros(0),
        turn_phase_mask=np.zeros(network.turn_count, dtype=np.int64),
    )


def build_signal_plan(network: SimNetwork, specs: Sequence[SignalSpec]) -> SignalPlan:
    """Compile junction specs (ValueError on a turn that is not in the network or > 63 phases)."""
    masks = np.zeros(network.turn_count, dtype=np.int64)
    indptr = [0]
    green: list[float] = []
    amber: list[float] = []
    all_red: list[float] = []
    for spec in specs:
        if len(spec.phases) > 63:
            raise ValueError(f"node {spec.node}: at most 63 phases, got {len(spec.phases)}")
        if not len(spec.phases) == len(spec.green_s) == len(spec.amber_s) == len(spec.all_red_s):
            raise ValueError(f"node {spec.node}: one green, amber and all-red per phase")
        for p, turns in enumerate(spec.phases):
            for in_link, out_link in turns:
                if int(network.link_to_node[in_link]) != spec.node:
                    raise ValueError(f"node {spec.node}: link {in_link} does not end there")
                masks[network.turn_index(in_link, out_link)] |= np.int64(1) << np.int64(p)
        for in_link, out_link in spec.free_turns:
            if int(network.link_to_node[in_link]) != spec.node:
                raise ValueError(f"node {spec.node}: link {in_link} does not end there")
            masks[network.turn_index(in_link, out_link)] = NO_STOP_LINE
        green.extend(spec.green_s)
        amber.extend(spec.amber_s)
        all_red.extend(spec.all_red_s)
        indptr.append(len(green))
    return SignalPlan(
        signal_node=np.array([s.node for s in specs], dtype=np.int32),
        phase_indptr=np.array(indptr, dtype=np.int64),
        phase_green_s=np.array(green, dtype=np.float64),
        phase_amber_s=np.array(amber, dtype=np.float64),
        phase_all_red_s=np.array(all_red, dtype=np.float64),
        signal_offset_s=np.array([s.offset_s for s in specs], dtype=np.float64),
        turn_phase_mask=masks,
    )


def apply_signal_plan(network: SimNetwork, plan: SignalPlan) -> SimNetwork:
    """The network with ``node_signal`` pointing at the plan's rows."""
    node_signal = np.full(network.node_count, -1, dtype=np.int32)
    node_signal[plan.signal_node] = np.arange(plan.signal_count, dtype=np.int32)
    return network.with_control(node_signal=node_signal)


def _approach_axis_deg(network: SimNetwork, link: int) -> float:
    a, b = int(network.link_from_node[link]), int(network.link_to_node[link])
    dx = float(network.node_x[b] - network.node_x[a])
    dy = float(network.node_y[b] - network.node_y[a])
    return math.degrees(math.atan2(dy, dx)) % 180.0


def default_phases(network: SimNetwork, node: int) -> list[list[tuple[int, int]]]:
    """Default phasing of a junction from its geometry.

    Approaches (incoming links) are split by axis: those within 45 degrees of the highest-capacity
    approach's axis run together, the others in a second phase. When all approaches share one axis (a
    signalised crossing on a straight road) the second phase is a pedestrian stage with no vehicle
    movement. Without coordinates (all zero), each approach gets its own phase. Links inside the junction
    (``SimNetwork.link_junction_internal``) are not approaches (see :func:`free_turns`).
    """
    ins = network.node_in_links[network.node_in_indptr[node] : network.node_in_indptr[node + 1]]
    ins = ins[[not network.is_junction_internal(int(i)) for i in ins]] if ins.size else ins
    outs = network.node_out_links[network.node_out_indptr[node] : network.node_out_indptr[node + 1]]
    if ins.size == 0:
        return []
    turns = {int(i): [(int(i), int(o)) for o in outs] for i in ins}
    if not np.any(network.node_x) and not np.any(network.node_y):
        return [turns[int(i)] for i in ins]
    major = int(ins[np.argmax(network.link_capacity_vph[ins])])
    axis = _approach_axis_deg(network, major)
    first: list[tuple[int, int]] = []
    second: list[tuple[int, int]] = []
    for i in ins:
        diff = abs(_approach_axis_deg(network, int(i)) - axis) % 180.0
        (first if min(diff, 180.0 - diff) <= 45.0 else second).extend(turns[int(i)])
    return [first, second]


def free_turns(network: SimNetwork, node: int) -> list[tuple[int, int]]:
    """Turns at ``node`` leaving links inside its junction: they have no stop line (never held)."""
    ins = network.node_in_links[network.node_in_indptr[node] : network.node_in_indptr[node + 1]]
    outs = network.node_out_links[network.node_out_indptr[node] : network.node_out_indptr[node + 1]]
    return [(int(i), int(o)) for i in ins if network.is_junction_internal(int(i)) for o in outs]


def webster_timings(
    flow_ratio: Sequence[float],
    lost_time_s: float,
    *,
    min_cycle_s: float = 40.0,
    max_cycle_s: float = 120.0,
    min_green_s: float = 7.0,
) -> tuple[float, list[float]]:
    """Webster's cycle and greens for phases with critical flow ratios ``flow_ratio`` (see module doc)."""
    y = [max(0.0, float(v)) for v in flow_ratio]
    total = sum(y)
    if total >= 0.95:
        cycle = max_cycle_s
    else:
        cycle = (1.5 * lost_time_s + 5.0) / (1.0 - total)
        cycle = min(max(cycle, min_cycle_s), max_cycle_s)
    effective = max(cycle - lost_time_s, min_green_s * len(y))
    if total <= 0:
        greens = [effective / len(y)] * len(y)
    else:
        greens = [max(min_green_s, effective * v / total) for v in y]
    return sum(greens) + lost_time_s, greens


def webster_signal_plan(
    network: SimNetwork,
    nodes: Sequence[int],
    turn_flow_vph: FloatArray,
    *,
    amber_s: float = 3.0,
    all_red_s: float = 2.0,
    pedestrian_green_s: float = 7.0,
) -> SignalPlan:
    """Default plans for ``nodes``: :func:`default_phases` timed by Webster from turn flows (veh/h).

    The saturation flow of a turn is its approach capacity; a phase's critical ratio is the largest over
    its approaches of (flow the phase serves from that approach) / (approach capacity). Offsets are 0.
    A pedestrian stage (no movements) gets ``pedestrian_green_s``.
    """
    specs: list[SignalSpec] = []
    for node in nodes:
        phases = default_phases(network, int(node))
        if not phases:
            continue
        ratios: list[float] = []
        for turns in phases:
            per_approach: dict[int, float] = {}
            for in_link, out_link in turns:
                flow = float(turn_flow_vph[network.turn_index(in_link, out_link)])
                per_approach[in_link] = per_approach.get(in_link, 0.0) + flow
            ratios.append(
                max((f / float(network.link_capacity_vph[a]) for a, f in per_approach.items()), default=0.0)
            )
        vehicle_phases = [p for p, turns in enumerate(phases) if turns]
        lost = (amber_s + all_red_s) * len(phases)
        _, greens = webster_timings([ratios[p] for p in vehicle_phases], lost)
        green_s = [pedestrian_green_s] * len(phases)
        for p, g in zip(vehicle_phases, greens, strict=True):
            green_s[p] = round(g)
        specs.append(
            SignalSpec(
                node=int(node),
                phases=tuple(tuple(t) for t in phases),
                green_s=tuple(float(g) for g in green_s),
                amber_s=(amber_s,) * len(phases),
                all_red_s=(all_red_s,) * len(phases),
                free_turns=tuple(free_turns(network, int(node))),
            )
        )
    return build_signal_plan(network, specs)


def initial_signal_state(plan: SignalPlan, time_s: float = 0.0) -> dict[str, np.ndarray]:
    """Signal state arrays at ``time_s`` for the kernel (current/next phase and their green times)."""
    count = plan.signal_count
    cur = np.zeros(count, dtype=np.int32)
    cur_start = np.zeros(count)
    cur_end = np.zeros(count)
    nxt = np.zeros(count, dtype=np.int32)
    nxt_start = np.full(count, np.inf)
    for s in range(count):
        first, last = int(plan.phase_indptr[s]), int(plan.phase_indptr[s + 1])
        phases = last - first
        if phases == 0:
            continue
        green = plan.phase_green_s[first:last]
        clear = plan.phase_amber_s[first:last] + plan.phase_all_red_s[first:last]
        cycle = float(np.sum(green + clear))
        position = (time_s - plan.signal_offset_s[s]) % cycle if cycle > 0 else 0.0
        begin = time_s - position
        for p in range(phases):
            span = float(green[p] + clear[p])
            if position < span or p == phases - 1:
                cur[s] = p
                cur_start[s] = begin
                cur_end[s] = begin + float(green[p])
                nxt[s] = (p + 1) % phases
                nxt_start[s] = begin + span
                break
            position -= span
            begin += span
    return {
        "sig_cur_phase": cur,
        "sig_cur_green_start_s": cur_start,
        "sig_cur_green_end_s": cur_end,
        "sig_next_phase": nxt,
        "sig_next_green_start_s": nxt_start,
    }


def signal_plan_table(network: SimNetwork, plan: SignalPlan) -> pd.DataFrame:
    """One row per (signal, phase, movement) with the timings, for the run's outputs."""
    rows: list[dict[str, object]] = []
    for s in range(plan.signal_count):
        node = int(plan.signal_node[s])
        cycle = float(plan.signal_cycle_s[s])
        first, last = int(plan.phase_indptr[s]), int(plan.phase_indptr[s + 1])
        ins = network.node_in_links[network.node_in_indptr[node] : network.node_in_indptr[node + 1]]
        outs = network.node_out_links[network.node_out_indptr[node] : network.node_out_indptr[node + 1]]
        for p in range(last - first):
            served = [
                (int(i), int(o))
                for i in ins
                for k, o in enumerate(outs)
                if (int(plan.turn_phase_mask[network.link_turn_offset[i] + k]) >> p) & 1
            ]
            for in_link, out_link in served or [(-1, -1)]:
                rows.append(
                    {
                        "signal": s,
                        "node": node,
                        "phase": p,
                        "green_s": float(plan.phase_green_s[first + p]),
                        "amber_s": float(plan.phase_amber_s[first + p]),
                        "all_red_s": float(plan.phase_all_red_s[first + p]),
                        "cycle_s": cycle,
                        "offset_s": float(plan.signal_offset_s[s]),
                        "in_link": in_link,
                        "out_link": out_link,
                        "in_link_id": int(network.link_external_id[in_link]) if in_link >= 0 else -1,
                        "out_link_id": int(network.link_external_id[out_link]) if out_link >= 0 else -1,
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "signal",
            "node",
            "phase",
            "green_s",
            "amber_s",
            "all_red_s",
            "cycle_s",
            "offset_s",
            "in_link",
            "out_link",
            "in_link_id",
            "out_link_id",
        ],
    )


def turn_flows_vph(network: SimNetwork, routes: Routes, window_s: float) -> FloatArray:
    """Vehicles per hour making each turn when every vehicle follows its route within ``window_s``."""
    counts = np.bincount(routes.veh_path, minlength=routes.path_count).astype(np.float64)
    rank = np.zeros(network.link_count, dtype=np.int64)
    for node in range(network.node_count):
        start, end = network.node_out_indptr[node], network.node_out_indptr[node + 1]
        rank[network.node_out_links[start:end]] = np.arange(end - start)
    flows = np.zeros(network.turn_count)
    if routes.path_links.size < 2:
        return flows
    owner = np.repeat(np.arange(routes.path_count), routes.path_length)
    a = routes.path_links[:-1]
    b = routes.path_links[1:]
    same = owner[:-1] == owner[1:]
    turns = network.link_turn_offset[a[same]] + rank[b[same]]
    np.add.at(flows, turns, counts[owner[:-1][same]])
    return flows * 3600.0 / max(window_s, 1.0)


def link_green_ratio(network: SimNetwork, plan: SignalPlan) -> tuple[FloatArray, FloatArray]:
    """Per link: the effective green ratio ``g / C`` of its stop line and the cycle ``C`` (s).

    ``g`` is the green of the phases serving the link's busiest-served movement (the largest, over the
    link's turns, of the summed green of the phases whose bit the turn's mask has). Links not ending at a
    signal, or whose turns have no stop line (inside a junction box), get ratio 1 and cycle 0.
    """
    ratio = np.ones(network.link_count)
    cycle = np.zeros(network.link_count)
    cycles = plan.signal_cycle_s
    signal_of_node = {int(node): s for s, node in enumerate(plan.signal_node)}
    for link in range(network.link_count):
        s = signal_of_node.get(int(network.link_to_node[link]))
        if s is None or cycles[s] <= 0.0:
            continue
        node = int(network.link_to_node[link])
        first, count = (
            int(network.link_turn_offset[link]),
            int(network.node_out_indptr[node + 1] - network.node_out_indptr[node]),
        )
        greens = plan.phase_green_s[plan.phase_indptr[s] : plan.phase_indptr[s + 1]]
        best = 0.0
        for mask in plan.turn_phase_mask[first : first + count]:
            if mask == NO_STOP_LINE:
                best = float(cycles[s])
                break
            best = max(best, sum(float(g) for p, g in enumerate(greens) if (int(mask) >> p) & 1))
        if best < cycles[s]:
            ratio[link] = best / float(cycles[s])
            cycle[link] = float(cycles[s])
    return ratio, cycle

"""The simulator's network: struct of arrays, one triangular fundamental diagram per link.

Per link: ``length_m``, ``free_speed_mps``, ``capacity_vph`` (all lanes), ``lanes`` and jam density
``jam_density_vpm`` (vehicles per metre per lane). Derived, per link:

* free-flow time ``length / free_speed`` (s);
* storage ``floor(length * lanes * jam_density)`` vehicles (at least 1);
* backward-wave speed ``w = q / (k_j - q / v_f)`` (m/s) with ``q`` in veh/s and ``k_j`` over all lanes,
  so the fundamental diagram is triangular through (0, 0), (q / v_f, q) and (k_j, 0);
* minimum headway ``1 / q`` (s) at both ends of the link.

Nodes carry the junction control: ``node_signal`` (row of the signal plan, -1 if none) and, at
unsignalised junctions, ``link_rank`` of each approach (0 = major road; > 0 gives way, waiting a
critical gap after the last major vehicle) and ``node_critical_gap_s``. ``link_junction_internal`` marks
links inside a signalised junction of several nodes (no stop line of their own).

Build with :func:`build_sim_network` (any arrays), :func:`sim_network_from_graph` (a compiled
:class:`~metaliverpool.network.graph.RoadGraph`, for TNTP networks) or
:func:`metaliverpool.sim.twin_network.sim_network_from_twin`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from metaliverpool.errors import InputError
from metaliverpool.network.graph import RoadGraph, csr_by_key

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

DEFAULT_JAM_DENSITY_VPM = 0.2
"""Jam density per lane (veh/m): 5 m per stopped vehicle, UXsim's default, so the peers compare."""
PASS_DEPTH_PER_LANE = 4
"""Vehicles per lane, from the stop line, among which one of another movement may pass a held vehicle."""
DEFAULT_LANE_CAPACITY_VPH = 2000.0
"""Capacity per lane used to infer lanes when a source gives only a link capacity (TNTP)."""


@dataclass(frozen=True, eq=False)
class SimNetwork:
    """Links, nodes and junction control as flat arrays (see the module docstring for units)."""

    node_count: int
    link_from_node: IntArray
    link_to_node: IntArray
    link_length_m: FloatArray
    link_free_speed_mps: FloatArray
    link_capacity_vph: FloatArray
    link_lanes: FloatArray
    link_jam_density_vpm: FloatArray
    link_external_id: npt.NDArray[np.int64]
    link_name: tuple[str, ...]
    link_rank: npt.NDArray[np.int8]
    node_signal: IntArray
    node_critical_gap_s: FloatArray
    node_in_indptr: npt.NDArray[np.int64]
    node_in_links: IntArray
    node_out_indptr: npt.NDArray[np.int64]
    node_out_links: IntArray
    link_turn_offset: npt.NDArray[np.int64]
    node_x: FloatArray = field(default_factory=lambda: np.zeros(0))
    node_y: FloatArray = field(default_factory=lambda: np.zeros(0))
    first_thru_node: int = 0
    link_junction_internal: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    """Links inside a signalised junction (both ends in the same junction): they carry no stop line of
    their own, so default signal plans let them cross in every phase and inter-green. Empty: none."""

    turn_banned: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=np.bool_))
    """Per turn (``link_turn_offset`` order): a turn restriction forbids it; route search never uses it.
    Empty: none."""
    link_toll_gbp: FloatArray = field(default_factory=lambda: np.zeros(0))
    """Charge (GBP) for driving each link (tolls, cordon charges); route choice weighs it by the value of
    time. Empty: none."""

    def is_junction_internal(self, link: int) -> bool:
        """Whether ``link`` lies inside a signalised junction (see ``link_junction_internal``)."""
        return bool(self.link_junction_internal.size and self.link_junction_internal[link])

    @property
    def link_count(self) -> int:
        """Number of links."""
        return int(self.link_from_node.shape[0])

    @property
    def turn_count(self) -> int:
        """Number of turns (in-link, out-link pairs through a node)."""
        return int(self.link_turn_offset[-1])

    @property
    def link_free_time_s(self) -> FloatArray:
        """Free-flow time of each link (s)."""
        return self.link_length_m / self.link_free_speed_mps

    @property
    def link_storage_veh(self) -> npt.NDArray[np.int64]:
        """Vehicles each link holds at jam density (at least 1)."""
        raw = np.floor(self.link_length_m * self.link_lanes * self.link_jam_density_vpm + 1e-9)
        return np.maximum(raw, 1.0).astype(np.int64)

    def effective_storage_veh(self, dt_s: float) -> npt.NDArray[np.int64]:
        """Storage the simulator uses with time step ``dt_s``: the jam storage, raised where needed to
        ``ceil(q * (L / v_f + L / w + 2 dt))``. In continuous time a link carries its capacity ``q`` with
        ``k_j L = q (L / v_f + L / w)`` vehicles (the triangular diagram); a vehicle crosses at most one
        node per step, so each one holds its place on a link up to a step longer at either end, and the
        jam storage alone would cap the flow through the link below its capacity (a 13 m one-lane link
        storing 2 vehicles passes about 1,200 veh/h instead of 1,940; the central-Liverpool twin has
        thousands of links under 30 m). The raise is ``2 q dt`` vehicles (about one per lane at
        ``dt`` = 1 s) plus rounding up."""
        q = self.link_capacity_vph / 3600.0
        hold_s = self.link_free_time_s + self.link_wave_time_s + 2.0 * dt_s
        needed = np.ceil(q * hold_s - 1e-9).astype(np.int64)
        return np.maximum(self.link_storage_veh, needed)

    @property
    def link_pass_depth(self) -> npt.NDArray[np.int64]:
        """How many vehicles from the stop line the node looks at on each link: 1 on a one-lane link (strict
        FIFO); on a link of ``n`` lanes ``n * PASS_DEPTH_PER_LANE``, so a vehicle of another movement passes
        up to that many vehicles held by a red or a full exit (they wait in another lane)."""
        lanes = np.floor(self.link_lanes + 1e-9).astype(np.int64)
        return np.where(lanes >= 2, lanes * PASS_DEPTH_PER_LANE, 1).astype(np.int64)

    @property
    def link_wave_speed_mps(self) -> FloatArray:
        """Backward-wave speed of each link's triangular fundamental diagram (m/s)."""
        q = self.link_capacity_vph / 3600.0
        kj = self.link_lanes * self.link_jam_density_vpm
        return q / (kj - q / self.link_free_speed_mps)

    @property
    def link_wave_time_s(self) -> FloatArray:
        """Time the backward wave needs to cross each link (s)."""
        return self.link_length_m / self.link_wave_speed_mps

    @property
    def link_headway_s(self) -> FloatArray:
        """Minimum headway at the ends of each link, 1 / capacity (s)."""
        return 3600.0 / self.link_capacity_vph

    def turn_index(self, in_link: int, out_link: int) -> int:
        """Index of the turn ``in_link -> out_link`` in the turn arrays (ValueError if not a turn)."""
        node = int(self.link_to_node[in_link])
        outs = self.node_out_links[self.node_out_indptr[node] : self.node_out_indptr[node + 1]]
        hits = np.flatnonzero(outs == out_link)
        if hits.size == 0:
            raise ValueError(f"link {out_link} does not leave the end node of link {in_link}")
        return int(self.link_turn_offset[in_link] + hits[0])

    def with_control(
        self,
        *,
        node_signal: npt.ArrayLike | None = None,
        link_rank: npt.ArrayLike | None = None,
        node_critical_gap_s: npt.ArrayLike | None = None,
    ) -> SimNetwork:
        """A copy with new junction control arrays."""
        return replace(
            self,
            node_signal=self.node_signal
            if node_signal is None
            else np.ascontiguousarray(node_signal, dtype=np.int32),
            link_rank=self.link_rank if link_rank is None else np.ascontiguousarray(link_rank, dtype=np.int8),
            node_critical_gap_s=self.node_critical_gap_s
            if node_critical_gap_s is None
            else np.ascontiguousarray(node_critical_gap_s, dtype=np.float64),
        )


def build_sim_network(
    *,
    node_count: int,
    link_from_node: npt.ArrayLike,
    link_to_node: npt.ArrayLike,
    link_length_m: npt.ArrayLike,
    link_free_speed_mps: npt.ArrayLike,
    link_capacity_vph: npt.ArrayLike,
    link_lanes: npt.ArrayLike | float = 1.0,
    jam_density_vpm: npt.ArrayLike | float = DEFAULT_JAM_DENSITY_VPM,
    link_external_id: npt.ArrayLike | None = None,
    link_name: tuple[str, ...] | None = None,
    node_x: npt.ArrayLike | None = None,
    node_y: npt.ArrayLike | None = None,
    first_thru_node: int = 0,
    source: str = "network",
) -> SimNetwork:
    """Check the link arrays and compile node indexes; every junction starts unsignalised and equal.

    Raises
    ------
    InputError
        A node out of range, a non-positive length, speed, capacity, lane count or jam density, or a
        capacity the fundamental diagram cannot carry (critical density ``q / v_f`` at or above jam
        density).
    """
    frm = np.ascontiguousarray(link_from_node, dtype=np.int32)
    to = np.ascontiguousarray(link_to_node, dtype=np.int32)
    count = int(frm.shape[0])

    def per_link(values: npt.ArrayLike | float, name: str) -> FloatArray:
        array = np.ascontiguousarray(np.broadcast_to(np.asarray(values, dtype=np.float64), (count,))).copy()
        bad = np.flatnonzero(~np.isfinite(array) | (array <= 0))
        if bad.size:
            raise InputError(
                source, f"{name} must be finite and > 0, found {array[bad[0]]}", where=f"link {bad[0]}"
            )
        return array

    length = per_link(link_length_m, "length_m")
    speed = per_link(link_free_speed_mps, "free_speed_mps")
    capacity = per_link(link_capacity_vph, "capacity_vph")
    lanes = per_link(link_lanes, "lanes")
    jam = per_link(jam_density_vpm, "jam density")
    for name, nodes in (("from node", frm), ("to node", to)):
        if count and (nodes.min() < 0 or nodes.max() >= node_count):
            bad = int(np.flatnonzero((nodes < 0) | (nodes >= node_count))[0])
            raise InputError(source, f"{name} {nodes[bad]} outside 0..{node_count - 1}", where=f"link {bad}")
    critical = capacity / 3600.0 / speed
    over = np.flatnonzero(critical >= 0.95 * lanes * jam)
    if over.size:
        raise InputError(
            source,
            f"capacity {capacity[over[0]]:.0f} veh/h needs more than {lanes[over[0]]:g} lanes at jam density "
            f"{jam[over[0]]} veh/m/lane and {speed[over[0]]:.1f} m/s",
            where=f"link {over[0]}",
        )
    in_indptr, in_links = csr_by_key(to, node_count)
    out_indptr, out_links = csr_by_key(frm, node_count)
    out_degree = np.diff(out_indptr)
    turn_offset = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(out_degree[to], out=turn_offset[1:])
    ext = (
        np.arange(count, dtype=np.int64)
        if link_external_id is None
        else np.asarray(link_external_id, np.int64)
    )
    names = link_name if link_name is not None else tuple(str(int(e)) for e in ext)
    return SimNetwork(
        node_count=int(node_count),
        link_from_node=frm.copy(),
        link_to_node=to.copy(),
        link_length_m=length,
        link_free_speed_mps=speed,
        link_capacity_vph=capacity,
        link_lanes=lanes,
        link_jam_density_vpm=jam,
        link_external_id=ext.copy(),
        link_name=names,
        link_rank=np.zeros(count, dtype=np.int8),
        node_signal=np.full(node_count, -1, dtype=np.int32),
        node_critical_gap_s=np.zeros(node_count, dtype=np.float64),
        node_in_indptr=in_indptr,
        node_in_links=in_links,
        node_out_indptr=out_indptr,
        node_out_links=out_links,
        link_turn_offset=turn_offset,
        node_x=np.zeros(node_count) if node_x is None else np.asarray(node_x, dtype=np.float64),
        node_y=np.zeros(node_count) if node_y is None else np.asarray(node_y, dtype=np.float64),
        first_thru_node=int(first_thru_node),
    )


def sim_network_from_graph(
    graph: RoadGraph,
    *,
    length_unit_m: float = 1.0,
    lane_capacity_vph: float = DEFAULT_LANE_CAPACITY_VPH,
    jam_density_vpm: float = DEFAULT_JAM_DENSITY_VPM,
    min_free_time_s: float = 1.0,
) -> SimNetwork:
    """Translate a compiled road graph (e.g. a TNTP network) for the simulator.

    Lengths are ``graph.link_length_m * length_unit_m`` (TNTP lengths are in file units: miles for
    SiouxFalls, feet for Anaheim); free speed is length / free-flow time, with free-flow times below
    ``min_free_time_s`` (zero-time connectors) raised to it; lanes are
    ``max(1, ceil(capacity / lane_capacity_vph))``; capacity is the graph's. Links of zero length take
    the free-flow time at 10 m/s.
    """
    free_time = np.maximum(graph.link_free_time_s, min_free_time_s)
    length = graph.link_length_m * length_unit_m
    length = np.where(length > 0, length, free_time * 10.0)
    capacity = np.where(graph.link_capacity_vph > 0, graph.link_capacity_vph, lane_capacity_vph)
    lanes = np.maximum(1.0, np.ceil(capacity / lane_capacity_vph))
    return build_sim_network(
        node_count=graph.node_count,
        link_from_node=graph.link_from,
        link_to_node=graph.link_to,
        link_length_m=length,
        link_free_speed_mps=length / free_time,
        link_capacity_vph=capacity,
        link_lanes=lanes,
        jam_density_vpm=jam_density_vpm,
        link_external_id=graph.link_external_id,
        link_name=tuple(
            f"{graph.node_external_id[a]}-{graph.node_external_id[b]}"
            for a, b in zip(graph.link_from, graph.link_to, strict=True)
        ),
        first_thru_node=graph.first_thru_node,
        source="road graph",
    )

"""The compiled road network: flat arrays in CSR order, ready for the numba kernels.

:class:`RoadGraph` is what every engine runs on (static assignment, the simulator's routing, skims).
Nodes are numbered ``0..node_count-1`` and links ``0..link_count-1``; the link arrays are indexed by
link number. Outgoing links of node ``n`` are ``csr_link[indptr[n]:indptr[n + 1]]`` (link numbers,
sorted by from-node, then by link number, so the order is deterministic).

Units: times in seconds, lengths in metres, capacities and flows in vehicles (PCU) per hour. A network read
from a file whose times are in another unit (TNTP files use minutes) records that unit in
``time_unit_s`` so writers can convert back; the arrays are always in seconds.

Zones: zone ``z`` (``0..zone_count-1``) starts and ends its trips at node ``zone_node[z]``. The TNTP
"first thru node" rule is ``first_thru_node``: a node numbered below it (a zone centroid) may start or end a
path but is never passed through. Networks without that rule (the twin) use ``first_thru_node = 0``.

Link cost for a user class (see :mod:`metaliverpool.assign`):
``time_s(flow) + link_fixed_cost_s + toll_weight_s * link_toll``, where the time comes from the link's
volume-delay function (``link_vdf``: 0 = BPR ``t0 * (1 + alpha * (v / c) ** beta)``, 1 = conical with
parameter ``alpha``; see :mod:`metaliverpool.kernels.vdf`).

Build one with :meth:`RoadGraph.from_arrays` (any source), ``metaliverpool.ingest.tntp.road_graph_from_tntp``
(TNTP files) or :meth:`RoadGraph.from_twin` (a twin bundle's ``links`` and ``zones`` tables).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from metaliverpool.errors import InputError
from metaliverpool.network.coding import zero_flow_time_s

if TYPE_CHECKING:
    import pandas as pd

    from metaliverpool.network.twin import Twin

VDF_BPR = 0
"""``link_vdf`` code of the BPR function ``t0 * (1 + alpha * (v / c) ** beta)``."""
VDF_CONICAL = 1
"""``link_vdf`` code of Spiess's conical function with parameter ``alpha`` (> 1; ``beta`` is derived)."""

DEFAULT_BPR_ALPHA = 0.15
DEFAULT_BPR_BETA = 4.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


def csr_by_key(keys: npt.NDArray[np.integer], count: int) -> tuple[npt.NDArray[np.int64], IntArray]:
    """Compressed rows of items grouped by ``keys`` (each in ``0..count-1``).

    Returns ``(indptr, order)``: ``order[indptr[k]:indptr[k + 1]]`` are the item numbers with key ``k``,
    in increasing item order (int64 ``indptr`` of length ``count + 1``, int32 ``order``).
    """
    order = np.lexsort((np.arange(keys.shape[0]), keys)).astype(np.int32)
    indptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=count), out=indptr[1:])
    return indptr, order


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road network compiled to flat arrays (see the module docstring for the conventions).

    Attributes
    ----------
    node_count, zone_count:
        Number of nodes and of zones.
    first_thru_node:
        Nodes numbered below this may not be passed through (TNTP rule); 0 disables the rule.
    link_from, link_to:
        int32 node numbers of each link's tail and head.
    link_capacity_vph, link_length_m, link_free_time_s:
        Capacity (all lanes, PCU/h), length (m) and free-flow time (s) of each link.
    link_alpha, link_beta:
        Volume-delay parameters of each link (BPR alpha and power; conical alpha, beta unused).
    link_vdf:
        int8 volume-delay function code per link (:data:`VDF_BPR` or :data:`VDF_CONICAL`).
    link_toll:
        Toll per vehicle (money units of the source, e.g. GBP for the twin, TNTP toll units).
    link_fixed_cost_s:
        Flow-independent cost added for every class (s), e.g. the TNTP distance factor times length.
    link_external_id:
        int64 id of each link in its source (TNTP row number from 1, twin ``link_id``).
    node_external_id:
        int64 id of each node in its source (TNTP node number, twin ``node_id``).
    zone_node:
        int32 node of each zone.
    indptr, csr_link:
        CSR outgoing-link index: ``csr_link[indptr[n]:indptr[n + 1]]`` are node ``n``'s outgoing links.
    time_unit_s:
        Seconds per time unit of the source file (60 for TNTP minutes, 1 for the twin).
    """

    node_count: int
    zone_count: int
    first_thru_node: int
    link_from: IntArray
    link_to: IntArray
    link_capacity_vph: FloatArray
    link_length_m: FloatArray
    link_free_time_s: FloatArray
    link_alpha: FloatArray
    link_beta: FloatArray
    link_vdf: npt.NDArray[np.int8]
    link_toll: FloatArray
    link_fixed_cost_s: FloatArray
    link_external_id: npt.NDArray[np.int64]
    node_external_id: npt.NDArray[np.int64]
    zone_node: IntArray
    indptr: npt.NDArray[np.int64]
    csr_link: IntArray
    time_unit_s: float = 1.0

    @property
    def link_count(self) -> int:
        """Number of links."""
        return int(self.link_from.shape[0])

    @classmethod
    def from_arrays(
        cls,
        *,
        node_count: int,
        link_from: npt.ArrayLike,
        link_to: npt.ArrayLike,
        link_capacity_vph: npt.ArrayLike,
        link_free_time_s: npt.ArrayLike,
        zone_node: npt.ArrayLike,
        link_length_m: npt.ArrayLike | None = None,
        link_alpha: npt.ArrayLike | float = DEFAULT_BPR_ALPHA,
        link_beta: npt.ArrayLike | float = DEFAULT_BPR_BETA,
        link_vdf: npt.ArrayLike | int = VDF_BPR,
        link_toll: npt.ArrayLike | float = 0.0,
        link_fixed_cost_s: npt.ArrayLike | float = 0.0,
        link_external_id: npt.ArrayLike | None = None,
        node_external_id: npt.ArrayLike | None = None,
        first_thru_node: int = 0,
        time_unit_s: float = 1.0,
        source: str = "network",
    ) -> RoadGraph:
        """Check the arrays and compile the CSR index.

        Scalars broadcast to every link. ``source`` names the input in error messages.

        Raises
        ------
        InputError
            A node number out of range, a negative or non-finite value, a link with a flow-dependent
            time but no positive capacity, or a conical link with ``alpha <= 1``.
        """
        frm = np.ascontiguousarray(link_from, dtype=np.int32)
        to = np.ascontiguousarray(link_to, dtype=np.int32)
        link_count = int(frm.shape[0])
        if frm.ndim != 1 or to.shape != frm.shape:
            raise InputError(source, "link_from and link_to must be 1-D arrays of the same length")

        def per_link(values: npt.ArrayLike | float, name: str, dtype: type = np.float64) -> np.ndarray:
            array: np.ndarray = np.ascontiguousarray(
                np.broadcast_to(np.asarray(values, dtype=dtype), (link_count,))
            )
            if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
                bad = int(np.flatnonzero(~np.isfinite(array))[0])
                raise InputError(source, f"{name} must be finite, found {array[bad]}", where=f"link {bad}")
            return array.copy()

        capacity = per_link(link_capacity_vph, "capacity")
        free_time = per_link(link_free_time_s, "free-flow time")
        length = per_link(0.0 if link_length_m is None else link_length_m, "length")
        alpha = per_link(link_alpha, "alpha")
        beta = per_link(link_beta, "beta")
        vdf = per_link(link_vdf, "vdf", np.int8)
        toll = per_link(link_toll, "toll")
        fixed = per_link(link_fixed_cost_s, "fixed cost")
        ext_link = (
            np.arange(1, link_count + 1, dtype=np.int64)
            if link_external_id is None
            else per_link(link_external_id, "link id", np.int64)
        )
        ext_node = (
            np.arange(node_count, dtype=np.int64)
            if node_external_id is None
            else np.ascontiguousarray(node_external_id, dtype=np.int64)
        )
        zones = np.ascontiguousarray(zone_node, dtype=np.int32)

        for name, nodes in (("from node", frm), ("to node", to), ("zone node", zones)):
            if nodes.size and (nodes.min() < 0 or nodes.max() >= node_count):
                bad = int(np.flatnonzero((nodes < 0) | (nodes >= node_count))[0])
                raise InputError(
                    source, f"{name} {nodes[bad]} outside 0..{node_count - 1}", where=f"index {bad}"
                )
        for name, values in (
            ("free-flow time", free_time),
            ("length", length),
            ("alpha", alpha),
            ("beta", beta),
            ("fixed cost", fixed),
            ("toll", toll),
            ("capacity", capacity),
        ):
            if values.size and values.min() < 0:
                bad = int(np.flatnonzero(values < 0)[0])
                raise InputError(source, f"{name} must be >= 0, found {values[bad]}", where=f"link {bad}")
        congestible = (alpha > 0) & (free_time > 0)
        if np.any(congestible & (capacity <= 0)):
            bad = int(np.flatnonzero(congestible & (capacity <= 0))[0])
            raise InputError(
                source, "a link with a flow-dependent time needs capacity > 0", where=f"link {bad}"
            )
        if np.any((vdf != VDF_BPR) & (vdf != VDF_CONICAL)):
            bad = int(np.flatnonzero((vdf != VDF_BPR) & (vdf != VDF_CONICAL))[0])
            raise InputError(source, f"unknown volume-delay function code {vdf[bad]}", where=f"link {bad}")
        if np.any((vdf == VDF_CONICAL) & (alpha <= 1.0)):
            bad = int(np.flatnonzero((vdf == VDF_CONICAL) & (alpha <= 1.0))[0])
            raise InputError(source, "conical alpha must be > 1", where=f"link {bad}")
        if not 0 <= first_thru_node <= node_count:
            raise InputError(source, f"first thru node {first_thru_node} outside 0..{node_count}")

        indptr, order = csr_by_key(frm, node_count)
        return cls(
            node_count=int(node_count),
            zone_count=int(zones.shape[0]),
            first_thru_node=int(first_thru_node),
            link_from=frm.copy(),
            link_to=to.copy(),
            link_capacity_vph=capacity,
            link_length_m=length,
            link_free_time_s=free_time,
            link_alpha=alpha,
            link_beta=beta,
            link_vdf=vdf,
            link_toll=toll,
            link_fixed_cost_s=fixed,
            link_external_id=ext_link,
            node_external_id=ext_node,
            zone_node=zones.copy(),
            indptr=indptr,
            csr_link=order,
            time_unit_s=float(time_unit_s),
        )

    @classmethod
    def from_twin(
        cls,
        twin: Twin,
        *,
        bpr_alpha: float = DEFAULT_BPR_ALPHA,
        bpr_beta: float = DEFAULT_BPR_BETA,
        include_bus_only: bool = False,
    ) -> RoadGraph:
        """Compile a twin's ``links`` and ``zones`` tables (car network unless ``include_bus_only``).

        Free-flow time is ``length_m / free_speed_mps``; every link gets BPR ``bpr_alpha``/``bpr_beta``
        on its capacity ``capacity_vph``. A coded twin (``stop_line_capacity_vph`` and
        ``junction_delay_s`` columns, :mod:`metaliverpool.network.coding`) uses instead the stop-line
        capacity and adds the junction's zero-flow (uniform) delay to the free-flow time, so a link's time
        is ``(t_free + d_uniform) (1 + alpha (v / c_stop)^beta)``: increasing in flow, ``t_free +
        d_uniform`` at zero flow;
        tolls come from ``toll_gbp``. ``link_external_id`` holds the twin ``link_id`` (bus-only links are
        left out, so link numbers here may differ from twin link ids); node numbers are the twin's
        ``node_id``. Zone ``z`` is the ``z``-th row of ``zones`` sorted by ``zone_id`` and starts at its
        ``node_id``; zone nodes are ordinary junctions, so ``first_thru_node`` is 0.

        Turn restrictions (``turn_restrictions``: OSM relations and ``turn_ban`` edits) are honoured by
        splitting each restricted junction (:func:`split_restricted_junctions`): the graph then has extra
        nodes and zero-time *turn connector* links with ``link_external_id`` -1 (no twin link; leave them
        out of link tables).
        """
        links = twin.links
        nodes = twin.nodes
        zones = twin.zones.sort_values("zone_id")
        source = "twin links"
        if not include_bus_only and "access" in links.columns:
            links = links[links["access"] != "bus_only"]
        links = links.sort_values("link_id")
        speed = links["free_speed_mps"].to_numpy(dtype=np.float64)
        if np.any(speed <= 0):
            bad = int(links["link_id"].to_numpy()[np.flatnonzero(speed <= 0)[0]])
            raise InputError(source, "free_speed_mps must be > 0", where=f"link_id {bad}")
        length = links["length_m"].to_numpy(dtype=np.float64)
        node_count = int(nodes["node_id"].max()) + 1 if len(nodes) else 0
        zone_node = zones["node_id"].to_numpy(dtype=np.int64)
        if np.any(zone_node < 0):
            code = str(zones["zone_code"].to_numpy()[np.flatnonzero(zone_node < 0)[0]])
            raise InputError("twin zones", "zone has no network node", where=f"zone {code}")
        frm = links["from_node_id"].to_numpy(dtype=np.int64)
        to = links["to_node_id"].to_numpy(dtype=np.int64)
        ids = links["link_id"].to_numpy(dtype=np.int64)
        capacity = links["capacity_vph"].to_numpy(dtype=np.float64)
        free_time = zero_flow_time_s(links)  # with the junction delay on a coded network
        if "stop_line_capacity_vph" in links.columns:  # coded network (docs/network-coding.md)
            capacity = links["stop_line_capacity_vph"].to_numpy(dtype=np.float64)
        toll = links["toll_gbp"].to_numpy(dtype=np.float64) if "toll_gbp" in links else np.zeros(len(links))
        alpha = np.full(len(links), bpr_alpha)
        split = split_restricted_junctions(
            node_count, frm, to, ids, twin.turn_restrictions, set(zone_node.tolist())
        )
        extra = split.connector_from.size
        return cls.from_arrays(
            node_count=split.node_count,
            link_from=np.concatenate([split.link_from, split.connector_from]),
            link_to=np.concatenate([split.link_to, split.connector_to]),
            link_capacity_vph=np.concatenate([capacity, np.ones(extra)]),
            link_free_time_s=np.concatenate([free_time, np.zeros(extra)]),
            link_length_m=np.concatenate([length, np.zeros(extra)]),
            link_alpha=np.concatenate([alpha, np.zeros(extra)]),
            link_beta=bpr_beta,
            link_toll=np.concatenate([toll, np.zeros(extra)]),
            link_external_id=np.concatenate([ids, np.full(extra, -1, dtype=np.int64)]),
            node_external_id=np.concatenate(
                [np.arange(node_count, dtype=np.int64), np.full(split.node_count - node_count, -1)]
            ),
            zone_node=zone_node,
            first_thru_node=0,
            time_unit_s=1.0,
            source=source,
        )


@dataclass(frozen=True, eq=False)
class JunctionSplit:
    """Links re-attached to split junctions, and the turn connectors between them (node numbers)."""

    node_count: int
    link_from: npt.NDArray[np.int64]
    link_to: npt.NDArray[np.int64]
    connector_from: npt.NDArray[np.int64]
    connector_to: npt.NDArray[np.int64]


def banned_turn_pairs(
    link_from: npt.NDArray[np.integer],
    link_to: npt.NDArray[np.integer],
    link_external_id: npt.NDArray[np.integer],
    restrictions: pd.DataFrame,
) -> set[tuple[int, int]]:
    """The turns (entering link row, leaving link row) that ``restrictions`` forbid: a ``no`` restriction
    its own turn, an ``only`` restriction every other turn out of its from-link. Restrictions naming links
    absent from the arrays, or links that do not meet, are ignored."""
    row_of = {int(external): row for row, external in enumerate(link_external_id)}
    banned: set[tuple[int, int]] = set()
    for kind, source, target in zip(
        restrictions["kind"], restrictions["from_link_id"], restrictions["to_link_id"], strict=True
    ):
        a, b = row_of.get(int(source)), row_of.get(int(target))
        if a is None or b is None or link_to[a] != link_from[b]:
            continue
        if kind == "no":
            banned.add((a, b))
        elif kind == "only":
            banned.update((a, int(o)) for o in np.flatnonzero(link_from == link_to[a]) if o != b)
    return banned


def split_restricted_junctions(
    node_count: int,
    link_from: npt.NDArray[np.int64],
    link_to: npt.NDArray[np.int64],
    link_external_id: npt.NDArray[np.int64],
    restrictions: pd.DataFrame,
    keep: set[int],
) -> JunctionSplit:
    """Make node-based shortest paths obey turn restrictions.

    A junction ``v`` with a restriction (``kind`` ``no``: that turn is banned; ``only``: every other turn
    out of its from-link is) is replaced by one new node per link entering it and one per link leaving it,
    joined by a connector for each allowed turn, so no path can make a banned turn. Junctions in ``keep``
    (zone nodes, where trips start and end) are not split. The banned turns are
    :func:`banned_turn_pairs`.
    """
    banned: dict[int, set[tuple[int, int]]] = {}
    for a, b in banned_turn_pairs(link_from, link_to, link_external_id, restrictions):
        node = int(link_to[a])
        if node not in keep:
            banned.setdefault(node, set()).add((a, b))
    new_from = link_from.copy()
    new_to = link_to.copy()
    connector_from: list[int] = []
    connector_to: list[int] = []
    next_node = node_count
    for node, bans in sorted(banned.items()):
        ins: list[int] = np.flatnonzero(link_to == node).tolist()
        outs_of: list[int] = np.flatnonzero(link_from == node).tolist()
        in_node = {link: next_node + k for k, link in enumerate(ins)}
        out_node = {link: next_node + len(ins) + k for k, link in enumerate(outs_of)}
        next_node += len(ins) + len(outs_of)
        new_to[ins] = [in_node[link] for link in ins]
        new_from[outs_of] = [out_node[link] for link in outs_of]
        for entering in ins:
            for leaving in outs_of:
                if (entering, leaving) not in bans:
                    connector_from.append(in_node[entering])
                    connector_to.append(out_node[leaving])
    return JunctionSplit(
        node_count=next_node,
        link_from=new_from,
        link_to=new_to,
        connector_from=np.asarray(connector_from, dtype=np.int64),
        connector_to=np.asarray(connector_to, dtype=np.int64),
    )

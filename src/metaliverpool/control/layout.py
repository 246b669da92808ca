"""What every controller needs to know about the junctions it controls, built from the network and the
first observation.

- ``served`` (movements x max phases, bool): phase ``p`` of the movement's junction serves it;
- ``always`` (movements): served by every phase (e.g. right turns on red) - such movements do not
  distinguish phases and are left out of phase choices;
- ``candidate`` (junctions x max phases, bool): phases a controller may choose - those that serve at
  least one movement not served by every phase and whose movements are not a strict subset of another
  phase's (a clearance-only or right-turn-only phase is never worth choosing);
- ``saturation_vps`` (movements): discharge rate, the in-link's capacity in vehicles per second;
- ``next_indptr``/``next_links``: links leaving the end of each movement's out-link (where its vehicles go
  next; on a CityFlow import the out-link is the short crossing connector);
- ``link_storage_veh``: storage of every link (vehicles).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metaliverpool.sim.control_api import SignalObservation
from metaliverpool.sim.network import SimNetwork

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class JunctionLayout:
    """Static structure of the controlled junctions (see the module docstring)."""

    movement_indptr: npt.NDArray[np.int64]
    movement_junction: npt.NDArray[np.int64]
    movement_in_link: npt.NDArray[np.int64]
    movement_out_link: npt.NDArray[np.int64]
    served: npt.NDArray[np.bool_]
    always: npt.NDArray[np.bool_]
    candidate: npt.NDArray[np.bool_]
    saturation_vps: FloatArray
    next_indptr: npt.NDArray[np.int64]
    next_links: npt.NDArray[np.int64]
    link_storage_veh: FloatArray
    link_count: int

    @property
    def junction_count(self) -> int:
        """Number of controlled junctions."""
        return int(self.movement_indptr.shape[0] - 1)

    def phase_sum(self, movement_values: FloatArray) -> FloatArray:
        """Sum of a per-movement value over the discriminating movements each phase serves: (J, P)."""
        weights = np.where(self.always, 0.0, movement_values)[:, None] * self.served
        out = np.zeros((self.junction_count, self.served.shape[1]))
        np.add.at(out, self.movement_junction, weights)
        return out

    def mean_over_next(self, link_values: FloatArray) -> FloatArray:
        """Per link: the mean of ``link_values`` over the links leaving its end (0 when there are none)."""
        counts = np.diff(self.next_indptr)
        owner = np.repeat(np.arange(self.link_count), counts)
        sums = np.zeros(self.link_count)
        np.add.at(sums, owner, link_values[self.next_links])
        return np.divide(sums, counts, out=np.zeros(self.link_count), where=counts > 0)

    def link_queue_veh(self, observation: SignalObservation) -> FloatArray:
        """Vehicles queued at the stop line of each link (summed over its movements); 0 off-junction."""
        out = np.zeros(self.link_count)
        np.add.at(out, self.movement_in_link, observation.movement_queue_veh)
        return out

    def downstream_queue_veh(self, observation: SignalObservation) -> FloatArray:
        """Per movement: the queue on its out-link plus the mean queue on the links after it (veh)."""
        link_queue = self.link_queue_veh(observation)
        after = self.mean_over_next(link_queue)
        return link_queue[self.movement_out_link] + after[self.movement_out_link]

    def downstream_fill(self, observation: SignalObservation) -> FloatArray:
        """Per movement, how full its way out is (0..1): the larger of the out-link occupancy and the
        queue of the links after it over their storage."""
        link_queue = self.link_queue_veh(observation)
        after = self.mean_over_next(link_queue / np.maximum(self.link_storage_veh, 1.0))
        return np.clip(
            np.maximum(observation.movement_out_occupancy, after[self.movement_out_link]), 0.0, 1.0
        )


def build_layout(network: SimNetwork, observation: SignalObservation) -> JunctionLayout:
    """Derive the layout from the network and an observation (movement structure never changes)."""
    indptr = observation.movement_indptr.astype(np.int64)
    counts = observation.phase_count.astype(np.int64)
    max_phases = int(counts.max()) if counts.size else 0
    junction = np.repeat(np.arange(counts.size), np.diff(indptr))
    masks = observation.phase_movement_mask.astype(np.int64)
    served = ((masks[:, None] >> np.arange(max_phases, dtype=np.int64)[None, :]) & 1).astype(bool)
    served &= np.arange(max_phases)[None, :] < counts[junction][:, None]
    always = served.sum(axis=1) == counts[junction]
    candidate = np.zeros((counts.size, max_phases), dtype=bool)
    for j in range(counts.size):
        rows = slice(int(indptr[j]), int(indptr[j + 1]))
        own = served[rows] & ~always[rows][:, None]
        sets = [frozenset(np.flatnonzero(own[:, p]).tolist()) for p in range(int(counts[j]))]
        for p, movements in enumerate(sets):
            if not movements:
                continue
            dominated = any(q != p and movements < other for q, other in enumerate(sets))
            candidate[j, p] = not dominated
    in_link = observation.movement_in_link_id.astype(np.int64)
    out_link = observation.movement_out_link_id.astype(np.int64)
    next_lists = [
        network.node_out_links[network.node_out_indptr[n] : network.node_out_indptr[n + 1]]
        for n in network.link_to_node
    ]
    next_indptr = np.zeros(network.link_count + 1, dtype=np.int64)
    next_indptr[1:] = np.cumsum([len(x) for x in next_lists])
    next_links = np.concatenate(next_lists).astype(np.int64) if next_lists else np.zeros(0, dtype=np.int64)
    return JunctionLayout(
        movement_indptr=indptr,
        movement_junction=junction,
        movement_in_link=in_link,
        movement_out_link=out_link,
        served=served,
        always=always,
        candidate=candidate,
        saturation_vps=network.link_capacity_vph[in_link] / 3600.0,
        next_indptr=next_indptr,
        next_links=next_links,
        link_storage_veh=network.link_storage_veh.astype(np.float64),
        link_count=int(network.link_count),
    )

"""What the adaptive controllers share: the junction layout, the phase clock and the starvation guard.

Every controller here chooses among the *candidate* phases of a junction (see
:mod:`metaliverpool.control.layout`) and respects, on top of the simulator's own safety rules
(minimum and maximum green, amber, all-red), three rules of its own:

- hold a phase at least ``min_phase_s`` of green before asking for another;
- leave a phase after ``max_phase_s`` of green when another phase has vehicles waiting;
- starvation guard: a movement with vehicles waiting that has not had green for ``max_wait_s`` gets its
  phase as soon as the current phase has shown ``min_phase_s``, so no movement waits much longer than
  ``max_wait_s + P * (min_phase_s + amber + all-red)`` (``P`` phases).

Subclasses implement :meth:`AdaptiveController.choose`, the policy for one junction.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metaliverpool.control.layout import JunctionLayout, build_layout
from metaliverpool.sim.control_api import KEEP_PHASE, SignalObservation
from metaliverpool.sim.network import SimNetwork

FloatArray = npt.NDArray[np.float64]


class AdaptiveController:
    """Base of the adaptive controllers (implements ``SignalController``)."""

    name = "adaptive"

    def __init__(
        self,
        network: SimNetwork,
        *,
        decision_interval_s: float = 2.0,
        min_phase_s: float = 10.0,
        max_phase_s: float = 60.0,
        max_wait_s: float = 120.0,
    ) -> None:
        self.network = network
        self.decision_interval_s = decision_interval_s
        self.min_phase_s = min_phase_s
        self.max_phase_s = max_phase_s
        self.max_wait_s = max_wait_s
        self.layout: JunctionLayout | None = None
        self.movement_last_green_s: FloatArray | None = None

    def _track(self, observation: SignalObservation) -> JunctionLayout:
        if self.layout is None:
            self.layout = build_layout(self.network, observation)
            self.movement_last_green_s = np.full(self.layout.served.shape[0], observation.time_s)
        layout = self.layout
        assert self.movement_last_green_s is not None
        green_now = ~observation.in_transition[layout.movement_junction]
        phase = observation.phase_index[layout.movement_junction]
        served_now = layout.served[np.arange(layout.served.shape[0]), phase] & green_now
        self.movement_last_green_s[served_now] = observation.time_s
        return layout

    def waiting_demand_veh(self, observation: SignalObservation) -> FloatArray:
        """Vehicles each movement has waiting or approaching."""
        return observation.movement_queue_veh + observation.movement_approaching_veh

    def overdue_phase(self, observation: SignalObservation, junction: int) -> int:
        """The candidate phase serving the longest-starved waiting movement past ``max_wait_s``, or -1."""
        layout = self.layout
        assert layout is not None and self.movement_last_green_s is not None
        rows = np.arange(int(layout.movement_indptr[junction]), int(layout.movement_indptr[junction + 1]))
        waited = observation.time_s - self.movement_last_green_s[rows]
        starving = (
            (observation.movement_queue_veh[rows] > 0) & (waited > self.max_wait_s) & ~layout.always[rows]
        )
        if not starving.any():
            return -1
        worst = rows[starving][np.argmax(waited[starving])]
        phases = np.flatnonzero(layout.served[worst] & layout.candidate[junction])
        return int(phases[0]) if phases.size else -1

    def decide(
        self, observation: SignalObservation, junctions: npt.NDArray[np.bool_] | None = None
    ) -> npt.NDArray[np.int32]:
        """One request per junction: guard rules first, then :meth:`choose`; only for ``junctions`` (a
        mask; all when ``None``), the others keep their phase."""
        layout = self._track(observation)
        requests = np.full(observation.junction_count, KEEP_PHASE, dtype=np.int32)
        self.prepare(observation)
        demand = layout.phase_sum(self.waiting_demand_veh(observation))
        active = ~observation.in_transition if junctions is None else junctions & ~observation.in_transition
        for j in np.flatnonzero(active).tolist():
            current = int(observation.phase_index[j])
            elapsed = float(observation.phase_elapsed_s[j])
            if elapsed < self.min_phase_s and layout.candidate[j, current]:
                continue
            overdue = self.overdue_phase(observation, j)
            if overdue >= 0:
                requests[j] = overdue if overdue != current else KEEP_PHASE
                continue
            others = layout.candidate[j] & (demand[j] > 0)
            others[current] = False
            if (elapsed >= self.max_phase_s or not layout.candidate[j, current]) and others.any():
                scores = self.score_phases(observation, j)
                scores = np.where(others, scores, -np.inf)
                requests[j] = int(np.argmax(scores))
                continue
            choice = self.choose(observation, j)
            if choice != current and choice >= 0:
                requests[j] = choice
        return requests

    def prepare(self, observation: SignalObservation) -> None:
        """Per-decision precomputation shared by all junctions (override when needed)."""

    def score_phases(self, observation: SignalObservation, junction: int) -> FloatArray:
        """A value per phase of ``junction`` (higher is better); used when a change is forced."""
        layout = self.layout
        assert layout is not None
        return layout.phase_sum(self.waiting_demand_veh(observation))[junction]

    def choose(self, observation: SignalObservation, junction: int) -> int:
        """The phase to run at ``junction`` (its current phase to keep it)."""
        raise NotImplementedError

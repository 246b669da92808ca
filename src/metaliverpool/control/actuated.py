"""Actuated control with gap-out (``actuated``).

Phases run in plan order (candidate phases only, skipping phases with no vehicle waiting or approaching).
A phase holds at least ``min_phase_s``; it then *gaps out* as soon as no vehicle waits at the stop line
for any movement it serves (stop-line detectors see no call), or *maxes out* at ``max_phase_s``. The
starvation guard of :mod:`metaliverpool.control.base` applies.
"""

from __future__ import annotations

import numpy as np

from metaliverpool.control.base import AdaptiveController
from metaliverpool.sim.control_api import SignalObservation


class ActuatedController(AdaptiveController):
    """Gap-out actuated control (implements ``SignalController``)."""

    name = "actuated"

    def __init__(self, network, **settings: float) -> None:
        settings.setdefault("min_phase_s", 7.0)
        settings.setdefault("max_phase_s", 50.0)
        super().__init__(network, **settings)

    def choose(self, observation: SignalObservation, junction: int) -> int:
        """Keep the phase while its stop lines have calls; otherwise the next phase with demand."""
        layout = self.layout
        assert layout is not None
        current = int(observation.phase_index[junction])
        queues = layout.phase_sum(observation.movement_queue_veh)[junction]
        if queues[current] > 0.5:
            return current
        demand = layout.phase_sum(self.waiting_demand_veh(observation))[junction]
        count = int(observation.phase_count[junction])
        for step in range(1, count + 1):
            phase = (current + step) % count
            if layout.candidate[junction, phase] and demand[phase] > 0 and phase != current:
                return phase
        return current

    def score_phases(self, observation: SignalObservation, junction: int) -> np.ndarray:
        """Next phase in plan order scores highest (cyclic service when a change is forced)."""
        count = int(observation.phase_count[junction])
        current = int(observation.phase_index[junction])
        distance = (np.arange(self.layout.served.shape[1]) - current) % max(count, 1)  # type: ignore[union-attr]
        return -distance.astype(np.float64)

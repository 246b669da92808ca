"""Our predictive controller (``lookahead``): exhaustive service that stops feeding blocked exits, with a
look-ahead, pressure-weighted choice of the next phase.

Each decision, for every movement it estimates how many vehicles could really move in the next
``horizon_s`` seconds and whether they have somewhere to go:

- *room*: a movement whose way out is filling up (out-link occupancy, or the queues of the links after it
  over their storage) is discounted linearly from ``fill_start`` to zero at full, so green is not spent
  pushing vehicles into a queue that would spill back into this junction (blocking back);
- *keep*: the current phase stays green while its movements still have more than ``gap_veh`` vehicles
  queued *that can move* (queue x room): exhaustive service, like actuated control, except that a phase
  whose exits are blocked ends at once instead of holding green for vehicles that cannot leave;
- *look-ahead choice*: when the phase ends, the next is the one that would move the most pressure in the
  green left after amber and all-red: per movement ``min(queue + approach_weight x approaching,
  saturation flow x (horizon - clearance)) x room x weight``, with ``weight`` the max-pressure weight
  (queue minus downstream queue, at least ``min_weight``), summed over the phase's movements.

The guard rules of :mod:`metaliverpool.control.base` apply (minimum and maximum phase, starvation).
Without the room discount (``fill_start = 1``) it is a pressure-ordered actuated controller; the
discount is what prevents blocking back (``docs/ai.md`` has the comparison).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metaliverpool.control.base import AdaptiveController
from metaliverpool.sim.control_api import SignalObservation, SignalSafetyConfig
from metaliverpool.sim.network import SimNetwork

FloatArray = npt.NDArray[np.float64]


class LookAheadController(AdaptiveController):
    """Anti-blocking exhaustive service, look-ahead phase choice (ours; a ``SignalController``)."""

    name = "lookahead"

    def __init__(
        self,
        network: SimNetwork,
        safety: SignalSafetyConfig | None = None,
        *,
        horizon_s: float = 20.0,
        approach_weight: float = 0.5,
        fill_start: float = 0.7,
        gap_veh: float = 0.5,
        min_weight: float = 1.0,
        **settings: float,
    ) -> None:
        settings.setdefault("min_phase_s", 7.0)
        settings.setdefault("max_phase_s", 50.0)
        super().__init__(network, **settings)
        self.safety = safety or SignalSafetyConfig()
        self.horizon_s = horizon_s
        self.approach_weight = approach_weight
        self.fill_start = fill_start
        self.gap_veh = gap_veh
        self.min_weight = min_weight
        self._live: FloatArray | None = None
        self._value: FloatArray | None = None

    def prepare(self, observation: SignalObservation) -> None:
        """Movable queue of every phase and the look-ahead value of switching to it."""
        layout = self.layout
        assert layout is not None
        fill = layout.downstream_fill(observation)
        room = np.clip((1.0 - fill) / max(1.0 - self.fill_start, 1e-9), 0.0, 1.0)
        queue = observation.movement_queue_veh
        demand = queue + self.approach_weight * observation.movement_approaching_veh
        weight = np.maximum(queue - layout.downstream_queue_veh(observation), self.min_weight)
        green_s = max(self.horizon_s - self.safety.amber_s - self.safety.all_red_s, 0.0)
        moved = np.minimum(demand, layout.saturation_vps * green_s) * room * weight
        self._live = layout.phase_sum(queue * room)
        self._value = np.where(layout.candidate, layout.phase_sum(moved), -np.inf)

    def score_phases(self, observation: SignalObservation, junction: int) -> FloatArray:
        """Look-ahead value of switching to each phase."""
        assert self._value is not None
        return self._value[junction]

    def choose(self, observation: SignalObservation, junction: int) -> int:
        """Keep while the current phase has movable queue; otherwise the best other phase with value."""
        assert self._live is not None and self._value is not None
        current = int(observation.phase_index[junction])
        if self._live[junction, current] > self.gap_veh:
            return current
        scores = self._value[junction].copy()
        scores[current] = -np.inf
        best = int(np.argmax(scores))
        return best if np.isfinite(scores[best]) and scores[best] > 0 else current

"""Our predictive controller (``lookahead``): max-pressure with a look-ahead that prevents blocking back.

Each decision it forecasts, for every candidate phase, how many vehicles the phase would really move in
the next ``horizon_s`` seconds, and picks the phase that moves the most pressure:

- look-ahead: a movement's demand is its stop-line queue plus ``approach_weight`` x the vehicles already
  driving towards the stop line (they arrive within the horizon), capped by what its saturation flow can
  discharge in the green left after the change (a change costs amber + all-red, so the current phase
  gets the full horizon and the others ``horizon_s - amber - all-red``);
- blocking back: a movement whose way out is filling up (out-link occupancy, or the queues of the links
  after it over their storage) is discounted linearly from ``fill_start`` to zero at full, so green is not
  spent pushing vehicles into a queue that would spill back into this junction and block its other
  movements; the space left downstream also caps the discharge;
- pressure weighting: each moved vehicle counts with the movement's max-pressure weight (queue minus the
  downstream queue, at least ``min_weight``), so long queues are served first as in max-pressure.

The phase changes when another phase's value beats the current one's by ``switch_margin`` (hysteresis
against flapping). The guard rules of :mod:`metaliverpool.control.base` apply.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metaliverpool.control.base import AdaptiveController
from metaliverpool.sim.control_api import SignalObservation, SignalSafetyConfig
from metaliverpool.sim.network import SimNetwork

FloatArray = npt.NDArray[np.float64]


class LookAheadController(AdaptiveController):
    """Look-ahead, anti-blocking max-pressure (ours; implements ``SignalController``)."""

    name = "lookahead"

    def __init__(
        self,
        network: SimNetwork,
        safety: SignalSafetyConfig | None = None,
        *,
        horizon_s: float = 20.0,
        approach_weight: float = 0.5,
        fill_start: float = 0.7,
        switch_margin: float = 1.1,
        min_weight: float = 1.0,
        **settings: float,
    ) -> None:
        settings.setdefault("min_phase_s", 8.0)
        super().__init__(network, **settings)
        self.safety = safety or SignalSafetyConfig()
        self.horizon_s = horizon_s
        self.approach_weight = approach_weight
        self.fill_start = fill_start
        self.switch_margin = switch_margin
        self.min_weight = min_weight
        self._moved_now: FloatArray | None = None
        self._moved_change: FloatArray | None = None

    def prepare(self, observation: SignalObservation) -> None:
        """Forecast each phase's weighted discharge if kept and if switched to."""
        layout = self.layout
        assert layout is not None
        fill = layout.downstream_fill(observation)
        room = np.clip((1.0 - fill) / max(1.0 - self.fill_start, 1e-9), 0.0, 1.0)
        demand = observation.movement_queue_veh + self.approach_weight * observation.movement_approaching_veh
        weight = np.maximum(observation.movement_queue_veh - layout.downstream_queue_veh(observation), 0.0)
        weight = np.maximum(weight, self.min_weight)
        clearance = self.safety.amber_s + self.safety.all_red_s
        keep = np.minimum(demand, layout.saturation_vps * self.horizon_s) * room * weight
        change = (
            np.minimum(demand, layout.saturation_vps * max(self.horizon_s - clearance, 0.0)) * room * weight
        )
        self._moved_now = np.where(layout.candidate, layout.phase_sum(keep), -np.inf)
        self._moved_change = np.where(layout.candidate, layout.phase_sum(change), -np.inf)

    def score_phases(self, observation: SignalObservation, junction: int) -> FloatArray:
        """Forecast weighted discharge of switching to each phase."""
        assert self._moved_change is not None
        return self._moved_change[junction]

    def choose(self, observation: SignalObservation, junction: int) -> int:
        """Keep the current phase unless another moves ``switch_margin`` times more."""
        assert self._moved_now is not None and self._moved_change is not None
        current = int(observation.phase_index[junction])
        scores = self._moved_change[junction].copy()
        scores[current] = -np.inf
        best = int(np.argmax(scores))
        if np.isfinite(scores[best]) and scores[best] > self.switch_margin * max(
            self._moved_now[junction, current], 0.0
        ):
            return best
        return current

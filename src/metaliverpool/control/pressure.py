"""Max-pressure control (Varaiya 2013; the ``MaxPressure`` baseline of PressLight/CoLight/MPLight).

The pressure of a movement is its stop-line queue minus the queue downstream of it (on its out-link
plus the mean over the links after it, i.e. equal turning shares); a phase's pressure is the sum over the
movements it serves. After ``min_phase_s`` of green the controller switches to the phase of highest
pressure whenever that is higher than the current phase's.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metaliverpool.control.base import AdaptiveController
from metaliverpool.sim.control_api import SignalObservation


class MaxPressureController(AdaptiveController):
    """Max-pressure (implements ``SignalController``)."""

    name = "max-pressure"

    def __init__(self, network, **settings: float) -> None:
        settings.setdefault("min_phase_s", 10.0)
        super().__init__(network, **settings)
        self._pressure: npt.NDArray[np.float64] | None = None

    def prepare(self, observation: SignalObservation) -> None:
        """Phase pressures of every junction."""
        layout = self.layout
        assert layout is not None
        movement = observation.movement_queue_veh - layout.downstream_queue_veh(observation)
        pressure = layout.phase_sum(movement)
        self._pressure = np.where(layout.candidate, pressure, -np.inf)

    def score_phases(self, observation: SignalObservation, junction: int) -> npt.NDArray[np.float64]:
        """Phase pressures."""
        assert self._pressure is not None
        return self._pressure[junction]

    def choose(self, observation: SignalObservation, junction: int) -> int:
        """The phase of highest pressure (ties keep the current phase)."""
        scores = self.score_phases(observation, junction)
        current = int(observation.phase_index[junction])
        best = int(np.argmax(scores))
        return best if scores[best] > scores[current] else current

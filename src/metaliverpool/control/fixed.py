"""Fixed-time control timed by Webster (1958) from the demand's turning flows (``fixed``).

The candidate phases of each junction run in plan order, each for its Webster green, separated by the
simulator's amber and all-red. Webster: cycle ``C0 = (1.5 L + 5) / (1 - Y)`` clamped to 40-120 s, with
``L`` the lost time (amber + all-red per phase) and ``Y`` the sum of the phases' critical flow ratios
(largest flow / saturation flow among the movements a phase serves that are not served by every phase);
greens share ``C0 - L`` in proportion to the ratios, at least ``min_green_s``
(:func:`metaliverpool.sim.signals.webster_timings`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from metaliverpool.control.layout import JunctionLayout, build_layout
from metaliverpool.sim.control_api import KEEP_PHASE, SignalObservation, SignalSafetyConfig
from metaliverpool.sim.network import SimNetwork
from metaliverpool.sim.signals import webster_timings

FloatArray = npt.NDArray[np.float64]


class WebsterFixedTimeController:
    """Pre-timed plan: candidate phases in order with Webster greens (implements ``SignalController``)."""

    name = "fixed"

    def __init__(
        self,
        network: SimNetwork,
        turn_flow_vph: FloatArray,
        safety: SignalSafetyConfig | None = None,
        *,
        decision_interval_s: float = 1.0,
        min_green_s: float = 7.0,
        equal_green_s: float | None = None,
    ) -> None:
        self.network = network
        self.turn_flow_vph = np.asarray(turn_flow_vph, dtype=np.float64)
        self.safety = safety or SignalSafetyConfig()
        self.decision_interval_s = decision_interval_s
        self.min_green_s = max(min_green_s, self.safety.min_green_s)
        self.equal_green_s = equal_green_s
        self.layout: JunctionLayout | None = None
        self.order: list[list[int]] = []
        self.green_s: list[dict[int, float]] = []

    def _plan(self, observation: SignalObservation) -> None:
        layout = build_layout(self.network, observation)
        self.layout = layout
        lost_per_phase = self.safety.amber_s + self.safety.all_red_s
        for j in range(layout.junction_count):
            phases = [int(p) for p in np.flatnonzero(layout.candidate[j])]
            rows = np.arange(int(layout.movement_indptr[j]), int(layout.movement_indptr[j + 1]))
            ratios = []
            for p in phases:
                own = rows[layout.served[rows, p] & ~layout.always[rows]]
                turn = [
                    self.network.turn_index(int(layout.movement_in_link[m]), int(layout.movement_out_link[m]))
                    for m in own
                ]
                flow = self.turn_flow_vph[turn] if turn else np.zeros(0)
                sat = layout.saturation_vps[own] * 3600.0
                ratios.append(float(np.max(flow / sat)) if own.size else 0.0)
            if self.equal_green_s is not None:
                greens = [max(self.equal_green_s, self.min_green_s)] * len(phases)
            else:
                _, greens = webster_timings(
                    ratios, lost_per_phase * len(phases), min_green_s=self.min_green_s
                )
                greens = [max(g, self.min_green_s) for g in greens]
            self.order.append(phases)
            self.green_s.append(dict(zip(phases, greens, strict=True)))

    def cycle_s(self, junction: int) -> float:
        """Cycle length of a junction's plan (s), once planned."""
        clearance = self.safety.amber_s + self.safety.all_red_s
        return float(sum(self.green_s[junction].values()) + clearance * len(self.order[junction]))

    def decide(self, observation: SignalObservation) -> npt.NDArray[np.int32]:
        """Move to the next phase in order when the current one has shown its green."""
        if self.layout is None:
            self._plan(observation)
        requests = np.full(observation.junction_count, KEEP_PHASE, dtype=np.int32)
        for j in range(observation.junction_count):
            order = self.order[j]
            if observation.in_transition[j] or not order:
                continue
            current = int(observation.phase_index[j])
            if current not in self.green_s[j]:
                requests[j] = (
                    order[0] if observation.phase_elapsed_s[j] >= self.safety.min_green_s else KEEP_PHASE
                )
                continue
            if observation.phase_elapsed_s[j] + 1e-9 >= self.green_s[j][current]:
                requests[j] = order[(order.index(current) + 1) % len(order)]
        return requests

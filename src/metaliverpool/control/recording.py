"""A controller wrapper that records what the junctions saw and were told (for KPIs and safety checks).

Per decision and junction it keeps the time, the phase, whether the junction was changing phase, the
green shown so far, and whether the junction was *blocked*: some movement with vehicles waiting had its
way out full (downstream fill >= ``blocked_fill``), i.e. queues spilling back into the junction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from metaliverpool.control.layout import JunctionLayout, build_layout
from metaliverpool.sim.control_api import SignalController, SignalObservation
from metaliverpool.sim.network import SimNetwork


@dataclass
class RecordingController:
    """Wraps ``inner``; the simulator sees the same decisions (implements ``SignalController``)."""

    inner: SignalController
    network: SimNetwork
    blocked_fill: float = 0.95
    time_s: list[float] = field(default_factory=list)
    phase_index: list[npt.NDArray[np.int32]] = field(default_factory=list)
    in_transition: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    phase_elapsed_s: list[npt.NDArray[np.float64]] = field(default_factory=list)
    requested: list[npt.NDArray[np.int32]] = field(default_factory=list)
    blocked: list[npt.NDArray[np.bool_]] = field(default_factory=list)
    movement_queue_veh: list[npt.NDArray[np.float64]] = field(default_factory=list)
    layout: JunctionLayout | None = None
    decision_interval_s: float = 0.0

    def __post_init__(self) -> None:
        self.decision_interval_s = float(self.inner.decision_interval_s)

    def decide(self, observation: SignalObservation) -> npt.NDArray[np.int32]:
        """Record, then pass the observation on."""
        if self.layout is None:
            self.layout = build_layout(self.network, observation)
        layout = self.layout
        fill = layout.downstream_fill(observation)
        stuck = (observation.movement_queue_veh > 0) & (fill >= self.blocked_fill)
        blocked = np.zeros(observation.junction_count, dtype=bool)
        blocked[layout.movement_junction[stuck]] = True
        decision = np.asarray(self.inner.decide(observation), dtype=np.int32)
        self.time_s.append(observation.time_s)
        self.phase_index.append(observation.phase_index.copy())
        self.in_transition.append(observation.in_transition.copy())
        self.phase_elapsed_s.append(observation.phase_elapsed_s.copy())
        self.requested.append(decision.copy())
        self.blocked.append(blocked)
        self.movement_queue_veh.append(observation.movement_queue_veh.copy())
        return decision

    def blocked_junction_time_s(self) -> float:
        """Junction-seconds spent blocked (decisions x interval)."""
        return float(sum(int(b.sum()) for b in self.blocked) * self.decision_interval_s)

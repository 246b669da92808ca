"""The interface between the simulator and signal controllers (observe → act).

A controller implements :class:`SignalController`; the simulator calls :meth:`SignalController.decide`
every ``decision_interval_s`` seconds of simulated time with one :class:`SignalObservation` covering all
signalised junctions it controls, and gets back one requested phase per junction. Learned controllers
live in ``metaliverpool.control`` and never need to import anything else from ``metaliverpool.sim``
(no torch in the core).

The simulator, not the controller, enforces safety (:class:`SignalSafetyConfig`):

* a request is ignored until the current phase has shown at least ``min_green_s`` of green;
* a phase is ended by the simulator after ``max_green_s`` of green even if the controller keeps it
  (it moves to the next phase in the plan order);
* every change of phase runs the current phase's amber then all-red before the new green starts;
  vehicles never cross during amber or all-red;
* a request for an unknown phase, or a phase with no movements, is ignored.

So no controller can produce unsafe or impossible timings.

Units: times in seconds from the scenario start; queues in vehicles.

Movements
---------
A movement is a turn ``(in_link_id, out_link_id)`` through a junction. For junction ``j`` the movements
are rows ``movement_indptr[j]:movement_indptr[j + 1]`` of the movement arrays, and phase ``p`` of ``j``
lets movement ``m`` go when ``phase_movement_mask[m]`` has bit ``p`` set
(``(mask >> p) & 1``). Phases are numbered ``0..phase_count[j] - 1`` in plan order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

KEEP_PHASE = -1
"""A decision that keeps the current phase (the simulator still ends it at ``max_green_s``)."""


@dataclass(frozen=True)
class SignalSafetyConfig:
    """Safety rules the simulator enforces on every controller (seconds)."""

    min_green_s: float = 5.0
    max_green_s: float = 90.0
    amber_s: float = 3.0
    all_red_s: float = 2.0


@dataclass(frozen=True)
class SignalObservation:
    """The state of every controlled junction at ``time_s`` (struct of arrays).

    Per junction (length J): ``junction_id`` (the simulator's junction index), ``phase_index`` (the phase
    now green, or the phase being changed to during amber/all-red), ``phase_elapsed_s`` (green shown so
    far in that phase; 0 during a change), ``in_transition`` (True during amber or all-red),
    ``phase_count`` and ``movement_indptr`` (length J + 1, rows into the movement arrays).

    Per movement (length M): ``movement_in_link_id``, ``movement_out_link_id``, ``movement_queue_veh``
    (vehicles on the in-link that have reached the stop line and wait to make this movement),
    ``movement_approaching_veh`` (vehicles on the in-link still driving to the stop line that will make
    this movement), ``movement_out_occupancy`` (vehicles on the out-link divided by its storage, 0..1,
    so a controller can see spillback) and ``phase_movement_mask`` (bit ``p`` set when phase ``p`` serves
    the movement).
    """

    time_s: float
    junction_id: npt.NDArray[np.int32]
    phase_index: npt.NDArray[np.int32]
    phase_elapsed_s: npt.NDArray[np.float64]
    in_transition: npt.NDArray[np.bool_]
    phase_count: npt.NDArray[np.int32]
    movement_indptr: npt.NDArray[np.int64]
    movement_in_link_id: npt.NDArray[np.int32]
    movement_out_link_id: npt.NDArray[np.int32]
    movement_queue_veh: npt.NDArray[np.float64]
    movement_approaching_veh: npt.NDArray[np.float64]
    movement_out_occupancy: npt.NDArray[np.float64]
    phase_movement_mask: npt.NDArray[np.int64]

    @property
    def junction_count(self) -> int:
        """Number of controlled junctions J."""
        return int(self.junction_id.shape[0])

    def phase_pressure_veh(self, row: int) -> npt.NDArray[np.float64]:
        """Queued vehicles served by each phase of junction row ``row`` (a max-pressure style helper)."""
        start, end = int(self.movement_indptr[row]), int(self.movement_indptr[row + 1])
        count = int(self.phase_count[row])
        masks = self.phase_movement_mask[start:end]
        queues = self.movement_queue_veh[start:end]
        served = ((masks[:, None] >> np.arange(count, dtype=np.int64)[None, :]) & 1).astype(bool)
        return np.asarray(queues @ served, dtype=np.float64)


@runtime_checkable
class SignalController(Protocol):
    """Chooses phases for signalised junctions; the simulator enforces :class:`SignalSafetyConfig`."""

    decision_interval_s: float
    """How often (simulated seconds) :meth:`decide` is called; rounded up to whole simulation steps."""

    def decide(self, observation: SignalObservation) -> npt.NDArray[np.int32]:
        """Return one requested phase index per junction row (or :data:`KEEP_PHASE`), length J."""
        ...

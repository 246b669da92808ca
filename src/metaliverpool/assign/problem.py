"""An assignment problem: a compiled road graph and one or more user classes with their demand.

A :class:`UserClass` is a kind of vehicle with its own demand matrix (vehicles per hour, zone by zone), a
PCU factor (how much of a link's capacity one vehicle uses) and a toll weight: seconds of generalised cost
per unit of toll, i.e. ``3600 / value_of_time`` with the value of time in toll units per hour. Class ``k``
pays ``time_s(link PCU flow) + link_fixed_cost_s + toll_weight_s[k] * link_toll`` on a link.

:class:`AssignmentProblem` checks the inputs once and holds the stacked arrays every algorithm uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from metaliverpool.errors import InputError
from metaliverpool.network.graph import RoadGraph

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class UserClass:
    """One vehicle class: demand (veh/h, zone by zone), PCU factor and toll weight (s per toll unit)."""

    name: str
    demand_vph: FloatArray
    pcu: float = 1.0
    toll_weight_s: float = 0.0

    @classmethod
    def with_value_of_time(
        cls, name: str, demand_vph: npt.ArrayLike, *, pcu: float = 1.0, value_of_time_per_h: float
    ) -> UserClass:
        """A class whose tolls weigh ``3600 / value_of_time_per_h`` seconds per toll unit."""
        if not value_of_time_per_h > 0:
            raise InputError(f"class {name}", f"value of time must be > 0, found {value_of_time_per_h}")
        return cls(name, np.asarray(demand_vph, dtype=np.float64), pcu, 3600.0 / value_of_time_per_h)


@dataclass(frozen=True, eq=False)
class AssignmentProblem:
    """A graph and its user classes, checked and stacked.

    Attributes
    ----------
    graph:
        The network.
    classes:
        The user classes, in order.
    demand_vph:
        float64[classes, zones, zones] demand with the diagonal (intrazonal trips) set to zero.
    class_pcu:
        float64[classes] PCU factor of each class.
    class_fixed_cost_s:
        float64[classes, links] flow-independent cost each class pays per link (fixed cost plus weighted
        toll), in seconds.
    """

    graph: RoadGraph
    classes: tuple[UserClass, ...]
    demand_vph: FloatArray
    class_pcu: FloatArray
    class_fixed_cost_s: FloatArray

    @classmethod
    def build(cls, graph: RoadGraph, classes: Sequence[UserClass]) -> AssignmentProblem:
        """Check the classes against the graph and stack their arrays.

        Raises
        ------
        InputError
            No class, a repeated class name, a demand matrix of the wrong shape or with a negative or
            non-finite entry, or a PCU factor or toll weight that is not finite and positive (PCU) or
            non-negative (toll weight).
        """
        if not classes:
            raise InputError("assignment", "at least one user class is needed")
        names = [c.name for c in classes]
        if len(set(names)) != len(names):
            raise InputError("assignment", f"class names must be unique, found {names}")
        zones = graph.zone_count
        demand = np.zeros((len(classes), zones, zones), dtype=np.float64)
        for k, user_class in enumerate(classes):
            source = f"class {user_class.name}"
            matrix = np.asarray(user_class.demand_vph, dtype=np.float64)
            if matrix.shape != (zones, zones):
                raise InputError(source, f"demand must be {zones} x {zones} (zones), found {matrix.shape}")
            if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
                bad = np.argwhere(~np.isfinite(matrix) | (matrix < 0))[0]
                raise InputError(
                    source,
                    f"demand must be finite and >= 0, found {matrix[bad[0], bad[1]]}",
                    where=f"zones {bad[0]} -> {bad[1]}",
                )
            if not (math.isfinite(user_class.pcu) and user_class.pcu > 0):
                raise InputError(source, f"PCU factor must be > 0, found {user_class.pcu}")
            if not (math.isfinite(user_class.toll_weight_s) and user_class.toll_weight_s >= 0):
                raise InputError(source, f"toll weight must be >= 0, found {user_class.toll_weight_s}")
            demand[k] = matrix
            np.fill_diagonal(demand[k], 0.0)
        pcu = np.array([c.pcu for c in classes], dtype=np.float64)
        fixed = np.empty((len(classes), graph.link_count), dtype=np.float64)
        for k, user_class in enumerate(classes):
            fixed[k] = graph.link_fixed_cost_s + user_class.toll_weight_s * graph.link_toll
        return cls(graph, tuple(classes), demand, pcu, fixed)

    @property
    def class_count(self) -> int:
        """Number of user classes."""
        return len(self.classes)

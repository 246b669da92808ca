"""The network now and its next hour, from the detectors that report and the twin's simulation.

**Now.** A link with a detector takes the detector's latest speed. Every other link takes its simulated
speed (the twin's baseline simulation: length over mean traversal time) times a *ratio* filled in from
the detectors: each detector link's ratio is observed speed over simulated speed, and a link without one
gets the inverse-distance-weighted mean (weights ``1 / (d + 50 m)``) of the ratios of its
``neighbours`` nearest detector links, so a slow-down seen by the detectors spreads to the streets
around them in proportion to what the simulation says those streets carry. Speeds are capped at
free flow. Congestion level is ``1 - speed / free-flow speed``, clipped to 0..1.

**Forecast.** Every detector link is forecast 5 to 60 minutes ahead in 5-minute steps by two simple
methods: *persistence* (the speed now) and *trend* (Holt's linear trend over the link's refreshes,
``level + steps * slope``, clipped to 0..free flow). :class:`HorizonGuard` keeps each method's forecasts
until their target time, scores them then against what the detectors reported, and per horizon uses the
method with the lower mean absolute error over the last ``window`` matured forecasts (persistence until
both have ``min_matured`` of them). Links without a detector get the forecast ratio filled in as above.

**New sensors.** Nothing here is trained: a detector reporting on a link for the first time is used at
once for now, starts its own trend at its first refresh and enters the error pool when its first
forecast matures. The learned models of ``forecast train`` are not used here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

FloatArray = npt.NDArray[np.float64]

STEP_MIN = 5
HORIZONS_MIN: tuple[int, ...] = tuple(range(STEP_MIN, 61, STEP_MIN))
"""Forecast horizons (minutes): 5 to 60 in 5-minute steps."""

METHODS = ("persistence", "trend")
WEIGHT_OFFSET_M = 50.0


def neighbour_weights(
    detector_x_m: FloatArray,
    detector_y_m: FloatArray,
    link_x_m: FloatArray,
    link_y_m: FloatArray,
    neighbours: int = 3,
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Per link, its ``neighbours`` nearest detectors (indexes) and their weights ``1 / (d + 50 m)``."""
    k = min(neighbours, detector_x_m.size)
    tree = cKDTree(np.column_stack([detector_x_m, detector_y_m]))
    d, nearest = tree.query(np.column_stack([link_x_m, link_y_m]), k=k)
    d = np.asarray(d, dtype=np.float64).reshape(link_x_m.size, k)
    nearest = np.asarray(nearest, dtype=np.int64).reshape(link_x_m.size, k)
    return nearest, 1.0 / (d + WEIGHT_OFFSET_M)


def weighted_ratio(
    nearest: npt.NDArray[np.int64], weight: FloatArray, detector_ratio: FloatArray
) -> FloatArray:
    """The weighted mean of the nearest detectors' ratios per link."""
    return np.asarray((weight * detector_ratio[nearest]).sum(axis=1) / weight.sum(axis=1), dtype=np.float64)


def fill_ratio(
    detector_x_m: FloatArray,
    detector_y_m: FloatArray,
    detector_ratio: FloatArray,
    link_x_m: FloatArray,
    link_y_m: FloatArray,
    neighbours: int = 3,
) -> FloatArray:
    """Per link, the inverse-distance-weighted mean ratio of its ``neighbours`` nearest detectors (module
    docstring); 1.0 everywhere when there is no detector."""
    if detector_ratio.size == 0:
        return np.ones(link_x_m.size)
    nearest, weight = neighbour_weights(detector_x_m, detector_y_m, link_x_m, link_y_m, neighbours)
    return weighted_ratio(nearest, weight, detector_ratio)


def congestion_level(speed_mps: FloatArray, free_speed_mps: FloatArray) -> FloatArray:
    """``1 - speed / free-flow speed`` clipped to 0..1."""
    return np.asarray(np.clip(1.0 - speed_mps / np.maximum(free_speed_mps, 1e-9), 0.0, 1.0), dtype=np.float64)


@dataclass
class LinkTrend:
    """Holt's linear trend per link (by link id): smoothed level and slope per refresh."""

    alpha: float = 0.5
    beta: float = 0.3
    level: dict[int, float] = field(default_factory=dict)
    slope: dict[int, float] = field(default_factory=dict)

    def update(self, link_id: int, value: float) -> None:
        """Add one refresh's value of a link (the first two set the level and the initial slope)."""
        if link_id not in self.level:
            self.level[link_id] = value
            return
        previous = self.level[link_id]
        if link_id not in self.slope:
            self.slope[link_id] = value - previous
            self.level[link_id] = value
            return
        level = self.alpha * value + (1.0 - self.alpha) * (previous + self.slope[link_id])
        self.slope[link_id] = self.beta * (level - previous) + (1.0 - self.beta) * self.slope[link_id]
        self.level[link_id] = level

    def forecast(self, link_id: int, steps: int) -> float:
        """The value ``steps`` refreshes ahead (the level alone while there is no slope)."""
        return self.level[link_id] + steps * self.slope.get(link_id, 0.0)


@dataclass
class HorizonGuard:
    """Per horizon and method, forecasts waiting for their target time and the errors of those matured."""

    window: int = 12
    min_matured: int = 3
    pending: list[tuple[float, int, str, dict[int, float]]] = field(default_factory=list)
    errors: dict[tuple[int, str], deque[float]] = field(default_factory=dict)

    def add(self, target_unix_s: float, horizon_min: int, method: str, values: dict[int, float]) -> None:
        """Keep a forecast (link id -> value) to score when its target time comes."""
        self.pending.append((target_unix_s, horizon_min, method, values))

    def mature(self, now_unix_s: float, observed: dict[int, float], tolerance_s: float) -> None:
        """Score every forecast whose target time is within ``tolerance_s`` of now (or past) against the
        links observed now; each matured forecast adds its mean absolute error."""
        waiting = []
        for target, horizon, method, values in self.pending:
            if target > now_unix_s + tolerance_s:
                waiting.append((target, horizon, method, values))
                continue
            shared = [abs(v - observed[link]) for link, v in values.items() if link in observed]
            if shared and now_unix_s - target <= tolerance_s:
                key = (horizon, method)
                self.errors.setdefault(key, deque(maxlen=self.window)).append(float(np.mean(shared)))
        self.pending = waiting

    def mae(self, horizon_min: int, method: str) -> float | None:
        """Mean of the recent errors (None before any matured)."""
        errors = self.errors.get((horizon_min, method))
        return float(np.mean(errors)) if errors else None

    def matured(self, horizon_min: int, method: str) -> int:
        """Number of recent matured forecasts."""
        return len(self.errors.get((horizon_min, method), ()))

    def choose(self, horizon_min: int) -> str:
        """The method to use at a horizon (module docstring)."""
        if any(self.matured(horizon_min, m) < self.min_matured for m in METHODS):
            return "persistence"
        scores = {m: self.mae(horizon_min, m) or 0.0 for m in METHODS}
        return "trend" if scores["trend"] < scores["persistence"] else "persistence"


@dataclass(frozen=True)
class NetworkState:
    """The network now and forecast: per link (``link_id`` order) speed (m/s) and congestion level by
    horizon (0 = now), the links a detector saw, and per forecast horizon the method used and the recent
    errors (m/s) of it and of persistence."""

    refreshed_unix_s: float
    link_id: npt.NDArray[np.int64]
    detector: npt.NDArray[np.bool_]
    speed_mps: dict[int, FloatArray]
    level: dict[int, FloatArray]
    method: dict[int, str]
    recent_mae_mps: dict[int, float | None]
    persistence_mae_mps: dict[int, float | None]
    matured: dict[int, int]


@dataclass
class StateEstimator:
    """The twin's links (ids, centre x/y in a local metric projection, simulated and free-flow speeds)
    and the forecast memory kept between refreshes."""

    link_id: npt.NDArray[np.int64]
    x_m: FloatArray
    y_m: FloatArray
    simulated_speed_mps: FloatArray
    free_speed_mps: FloatArray
    neighbours: int = 3
    trend: LinkTrend = field(default_factory=LinkTrend)
    guard: HorizonGuard = field(default_factory=HorizonGuard)

    def refresh(self, now_unix_s: float, observed_mps: dict[int, float], interval_s: float) -> NetworkState:
        """The state at ``now`` from the detectors' latest speeds (link id -> m/s; links not in the twin
        are ignored)."""
        row_of = {int(link): k for k, link in enumerate(self.link_id)}
        seen = {link: v for link, v in observed_mps.items() if link in row_of and np.isfinite(v)}
        self.guard.mature(now_unix_s, seen, interval_s / 2.0)
        for link, value in seen.items():
            self.trend.update(link, value)
        rows = np.array([row_of[link] for link in seen], dtype=np.int64)
        detector = np.zeros(self.link_id.size, dtype=np.bool_)
        detector[rows] = True
        near = (
            neighbour_weights(self.x_m[rows], self.y_m[rows], self.x_m, self.y_m, self.neighbours)
            if rows.size
            else None
        )
        speed: dict[int, FloatArray] = {
            0: self._fill(rows, near, np.array(list(seen.values()), dtype=np.float64))
        }
        method: dict[int, str] = {}
        for horizon in HORIZONS_MIN:
            steps = max(1, round(horizon * 60.0 / interval_s))
            forecasts = {
                "persistence": dict(seen),
                "trend": {
                    link: min(
                        max(self.trend.forecast(link, steps), 0.0), float(self.free_speed_mps[row_of[link]])
                    )
                    for link in seen
                },
            }
            for name, values in forecasts.items():
                self.guard.add(now_unix_s + horizon * 60.0, horizon, name, values)
            method[horizon] = self.guard.choose(horizon)
            chosen = forecasts[method[horizon]]
            speed[horizon] = self._fill(
                rows, near, np.array([chosen[link] for link in seen], dtype=np.float64)
            )
        return NetworkState(
            refreshed_unix_s=now_unix_s,
            link_id=self.link_id,
            detector=detector,
            speed_mps=speed,
            level={h: congestion_level(v, self.free_speed_mps) for h, v in speed.items()},
            method=method,
            recent_mae_mps={h: self.guard.mae(h, method[h]) for h in HORIZONS_MIN},
            persistence_mae_mps={h: self.guard.mae(h, "persistence") for h in HORIZONS_MIN},
            matured={h: self.guard.matured(h, method[h]) for h in HORIZONS_MIN},
        )

    def _fill(
        self,
        rows: npt.NDArray[np.int64],
        near: tuple[npt.NDArray[np.int64], FloatArray] | None,
        detector_speed_mps: FloatArray,
    ) -> FloatArray:
        """Speeds of every link: the detectors' own, the others filled by ratio (module docstring)."""
        simulated = np.maximum(self.simulated_speed_mps, 0.1)
        if near is None:
            return np.asarray(np.minimum(simulated, self.free_speed_mps), dtype=np.float64)
        filled = simulated * weighted_ratio(near[0], near[1], detector_speed_mps / simulated[rows])
        filled[rows] = detector_speed_mps
        return np.asarray(np.clip(filled, 0.0, self.free_speed_mps), dtype=np.float64)

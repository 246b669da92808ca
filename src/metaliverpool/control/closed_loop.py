"""The closed loop: forecast which junctions are about to block, retime those, leave the rest alone.

Every ``sample_interval_s`` the loop measures each eligible junction's *blocking risk*: the largest
occupancy (vehicles / storage, 0..1) of an exit that a waiting or approaching vehicle wants to enter.
A spilled-back exit (risk 1) is what blocks a junction. :class:`TrendRiskForecaster` forecasts the risk
``horizon_s`` ahead from the recent samples (Holt's linear trend: a smoothed level plus a smoothed
slope, extrapolated and clipped to 0..1). From the ``warm_up_samples``-th sample on, a junction whose
forecast reaches ``risk_threshold`` is flagged and, from then on, run by the adaptive controller (ours:
:class:`LookAheadController`, which ends a phase whose exits are full and serves movable queues); every
other junction keeps its fixed Webster plan. A flag is kept for the rest of the run (no flapping between
plans). ``flag_log`` records each flag: time, junction row, risk now and forecast.

``forecast`` chooses what flags a junction: ``trend`` (above); ``history``, the junction's mean risk at
the target time on earlier mornings the loop measured without steering (``risk_profile``, one row per
sample slot: sample ``k`` is taken at ``(k + 1) * sample_interval_s``; junctions without history fall
back to the trend); or ``reactive``, no forecast: the risk now (the baseline a forecast has to beat).

Every sample's risk and every available forecast are kept (``risk_samples``, ``forecast_samples``), so
:func:`risk_forecast_scores` can say how well each foresaw the risk ``horizon_s`` later, against
persistence (the risk now), on a run the loop did not steer (the counterfactual);
:func:`pool_risk_scores` pools such scores over runs into MAE, precision and recall.

The counterfactual is the same run without the loop (every junction on its fixed plan); the scenario
pipeline runs it as the baseline of an ``ai_signal_control`` scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from metaliverpool.control.fixed import WebsterFixedTimeController
from metaliverpool.control.lookahead import LookAheadController
from metaliverpool.sim.control_api import SignalObservation, SignalSafetyConfig
from metaliverpool.sim.network import SimNetwork

FloatArray = npt.NDArray[np.float64]

FORECASTS = ("trend", "history", "reactive")
"""What may flag a junction (module docstring)."""


@dataclass
class TrendRiskForecaster:
    """Holt's linear trend per junction: ``level`` and ``slope`` (per sample) smoothed with ``alpha`` and
    ``beta`` (initial slope: the first difference); the forecast ``steps`` samples ahead is
    ``level + steps * slope`` clipped to 0..1."""

    alpha: float = 0.5
    beta: float = 0.3
    level: FloatArray | None = None
    slope: FloatArray | None = None

    def update(self, risk: FloatArray) -> None:
        """Add one sample per junction (the first two set the level and the initial slope)."""
        if self.level is None:
            self.level = risk.copy()
            return
        if self.slope is None:
            self.slope = risk - self.level
            self.level = risk.copy()
            return
        previous = self.level
        self.level = self.alpha * risk + (1.0 - self.alpha) * (previous + self.slope)
        self.slope = self.beta * (self.level - previous) + (1.0 - self.beta) * self.slope

    def forecast(self, steps: float) -> FloatArray:
        """Risk ``steps`` samples ahead (0..1); with one sample only, that sample (persistence)."""
        if self.level is None:
            raise ValueError("no sample yet")
        slope = self.slope if self.slope is not None else np.zeros_like(self.level)
        return np.asarray(np.clip(self.level + steps * slope, 0.0, 1.0), dtype=np.float64)


@dataclass(frozen=True)
class FlagEvent:
    """A junction flagged at risk: when (s), which (junction row), its risk then and the forecast."""

    time_s: float
    junction: int
    risk: float
    forecast: float


@dataclass
class ClosedLoopController:
    """Fixed Webster plans, with forecast-flagged junctions handed to the look-ahead controller.

    ``eligible``: per junction row of the plan, whether the loop may take it over (all when ``None``).
    """

    network: SimNetwork
    turn_flow_vph: FloatArray
    safety: SignalSafetyConfig = field(default_factory=SignalSafetyConfig)
    eligible: npt.NDArray[np.bool_] | None = None
    horizon_s: float = 1800.0
    risk_threshold: float = 0.5
    sample_interval_s: float = 300.0
    warm_up_samples: int = 3
    decision_interval_s: float = 1.0
    forecast: str = "trend"
    risk_profile: FloatArray | None = None
    flag_log: list[FlagEvent] = field(default_factory=list)
    risk_samples: list[FloatArray] = field(default_factory=list)
    forecast_samples: dict[str, list[FloatArray]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.forecast not in FORECASTS:
            raise ValueError(f"forecast must be one of {FORECASTS}, got {self.forecast!r}")
        if self.forecast == "history" and self.risk_profile is None:
            raise ValueError("the history forecast needs a risk profile")
        self.fixed = WebsterFixedTimeController(self.network, self.turn_flow_vph, self.safety)
        self.adaptive = LookAheadController(self.network, self.safety)
        self.forecaster = TrendRiskForecaster()
        self.flagged: npt.NDArray[np.bool_] | None = None
        self.next_sample_s = self.sample_interval_s
        self.samples = 0

    def decide(self, observation: SignalObservation) -> npt.NDArray[np.int32]:
        """The fixed plan's request, or the adaptive controller's at flagged junctions."""
        if self.flagged is None:
            self.flagged = np.zeros(observation.junction_count, dtype=np.bool_)
        if observation.time_s >= self.next_sample_s:
            self.next_sample_s += self.sample_interval_s
            self._sample(observation)
        fixed = np.asarray(self.fixed.decide(observation), dtype=np.int32)
        if not self.flagged.any():
            return fixed
        # the adaptive controller starts tracking a junction's movements when the first one is flagged
        adaptive = np.asarray(self.adaptive.decide(observation, self.flagged), dtype=np.int32)
        return np.where(self.flagged, adaptive, fixed).astype(np.int32)

    def _sample(self, observation: SignalObservation) -> None:
        assert self.flagged is not None
        risk = junction_blocking_risk(observation)
        self.forecaster.update(risk)
        steps = self.horizon_s / self.sample_interval_s
        forecasts = {"trend": self.forecaster.forecast(steps)}
        if self.risk_profile is not None:
            row = min(self.samples + round(steps), self.risk_profile.shape[0] - 1)
            known = self.risk_profile[row]
            forecasts["history"] = np.where(np.isfinite(known), known, forecasts["trend"])
        self.risk_samples.append(risk)
        for name, values in forecasts.items():
            self.forecast_samples.setdefault(name, []).append(values)
        ahead = risk if self.forecast == "reactive" else forecasts[self.forecast]
        self.samples += 1
        if self.samples < self.warm_up_samples:
            return  # a trend needs a few samples: no flag in the first minutes
        eligible = np.ones_like(self.flagged) if self.eligible is None else self.eligible
        new = eligible & ~self.flagged & (ahead >= self.risk_threshold)
        for junction in np.flatnonzero(new):
            self.flag_log.append(
                FlagEvent(observation.time_s, int(junction), float(risk[junction]), float(ahead[junction]))
            )
        self.flagged |= new


def junction_blocking_risk(observation: SignalObservation) -> FloatArray:
    """Per junction: the largest exit occupancy (0..1) among movements with vehicles waiting or coming."""
    demand = (observation.movement_queue_veh + observation.movement_approaching_veh) > 0
    occupancy = np.where(demand, np.clip(observation.movement_out_occupancy, 0.0, 1.0), 0.0)
    risk = np.zeros(observation.junction_count)
    counts = np.diff(observation.movement_indptr)
    rows = np.repeat(np.arange(observation.junction_count), counts)
    np.maximum.at(risk, rows, occupancy)
    return risk


def risk_forecast_scores(
    risk_samples: list[FloatArray], forecasts: dict[str, list[FloatArray]], steps: int, threshold: float
) -> dict[str, float | int]:
    """How well each forecast (and persistence, the risk now) foresaw the risk ``steps`` samples later,
    summed over junctions and samples.

    Pairs where the risk is 0 both now and later (idle junctions) are left out of the errors. Returns the
    pair count ``n`` and per forecast name (``persistence`` and each key of ``forecasts``): the absolute
    error sum ``abs_error_NAME`` (divide by ``n`` for the MAE) and, for the event "risk later >=
    ``threshold``", ``hits_NAME``, ``false_alarms_NAME`` and ``misses_NAME``.
    """
    named = {"persistence": risk_samples, **forecasts}
    out: dict[str, float | int] = {"n": 0}
    for name in named:
        out |= {f"abs_error_{name}": 0.0, f"hits_{name}": 0, f"false_alarms_{name}": 0, f"misses_{name}": 0}
    for t in range(len(risk_samples) - steps):
        now, later = risk_samples[t], risk_samples[t + steps]
        active = (now > 0) | (later > 0)
        out["n"] += int(active.sum())
        event = later >= threshold
        for name, values in named.items():
            guess = values[t]
            out[f"abs_error_{name}"] += float(np.abs(guess - later)[active].sum())
            out[f"hits_{name}"] += int(((guess >= threshold) & event).sum())
            out[f"false_alarms_{name}"] += int(((guess >= threshold) & ~event).sum())
            out[f"misses_{name}"] += int(((guess < threshold) & event).sum())
    return out


def pool_risk_scores(scores: list[dict[str, float | int]]) -> dict[str, Any]:
    """Sum :func:`risk_forecast_scores` of several runs; per forecast name the MAE, hits, false alarms,
    misses, precision and recall (None where undefined), and the pooled pair count ``pairs``."""
    total = {key: sum(score[key] for score in scores) for key in scores[0]}
    pairs = int(total["n"])
    pooled: dict[str, Any] = {"pairs": pairs}
    for name in (key.removeprefix("abs_error_") for key in total if key.startswith("abs_error_")):
        hits, alarms, misses = (total[f"{k}_{name}"] for k in ("hits", "false_alarms", "misses"))
        pooled[name] = {
            "mae": total[f"abs_error_{name}"] / pairs if pairs else None,
            "hits": hits,
            "false_alarms": alarms,
            "misses": misses,
            "precision": hits / (hits + alarms) if hits + alarms else None,
            "recall": hits / (hits + misses) if hits + misses else None,
        }
    return pooled

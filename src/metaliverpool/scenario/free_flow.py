"""Calibrate the network's free-flow speeds to an observed free-flow area speed (a network parameter).

A link's free-flow speed is its speed limit times a factor by road class
(:mod:`metaliverpool.network.road_classes`: 1.0 on classified roads, 0.85 on residential and unclassified,
0.5 on service roads and living streets): judgement. TomTom publishes a city centre's speed and its
congestion level, the extra travel time over free flow, so the centre's free-flow speed is observed
(:func:`metaliverpool.ingest.lcr_observations.tomtom_free_flow_speed_mps`). :func:`calibrate_free_flow`
fits **one factor** ``k`` that multiplies ``free_speed_mps`` of every link inside the observation's circle
(the road-class pattern is kept, as matrix estimation keeps the prior's pattern), bounded by
:attr:`FreeFlowConfig.factor_bounds`.

The free-flow speed is measured as the validation measures an area speed
(:mod:`metaliverpool.metrics.validation`): vehicle-km over vehicle-hours of the area's links, each at its
zero-flow time (free-flow time plus the junction's uniform delay,
:func:`metaliverpool.network.coding.zero_flow_time_s`), weighted by the static engine's equilibrium flows
of the twin's demand over the period. With the weights ``q`` and delays ``d`` fixed the speed is
``S(k) = sum(q L) / (sum(q L / v) / k + sum(q d))``, so ``k = sum(q L / v) / (sum(q L) / S* - sum(q d))``
solves ``S(k) = S*``. The signal plans and give-way capacities depend on routes chosen on free-flow times,
so after each solve the network is coded again (:func:`metaliverpool.ingest.coding.code_network`) and the
flows assigned again, until ``S`` is within :attr:`FreeFlowConfig.tolerance` of ``S*`` (a fixed point; two
or three rounds on the central twin). ``docs/calibration.md`` ("Free-flow speeds").
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metaliverpool.edits.schema import RunSettings
from metaliverpool.errors import InputError
from metaliverpool.ingest.coding import code_network
from metaliverpool.metrics.validation import links_in_area, weighted_speed_mps
from metaliverpool.network.coding import zero_flow_time_s
from metaliverpool.network.twin import Twin
from metaliverpool.observed.model import AreaSpeed
from metaliverpool.scenario.engines import period_hours, run_static


@dataclass(frozen=True)
class FreeFlowConfig:
    """How :func:`calibrate_free_flow` runs.

    Attributes
    ----------
    factor_bounds:
        The factor stays within these: below 0.5 the links would cruise at under half their limit with
        nothing in the way, above 1.2 at a fifth over it, beyond what DfT's speed-compliance statistics show
        for free-flowing cars on urban roads; a target beyond either says something else is wrong.
    tolerance:
        Stop when the modelled free-flow speed is within this share of the observed.
    rounds:
        Solve-code-assign rounds at most.
    value_of_time_gbp_per_h:
        Weighs tolls in the static assignment that gives the weights.
    """

    factor_bounds: tuple[float, float] = (0.5, 1.2)
    tolerance: float = 0.002
    rounds: int = 6
    value_of_time_gbp_per_h: float = 10.0


def free_flow_speed_mps(twin: Twin, flow_vph: pd.Series, link_ids: np.ndarray) -> float:
    """Free-flow mean speed (m/s) of ``link_ids``: vehicle-km over vehicle-hours at zero-flow link times,
    weighted by ``flow_vph`` (indexed by ``link_id``)."""
    links = twin.links.set_index("link_id").reindex(link_ids)
    weights = flow_vph.reindex(link_ids).fillna(0.0).to_numpy()
    return weighted_speed_mps(weights, links["length_m"], zero_flow_time_s(links))


def _static_flow_vph(twin: Twin, config: FreeFlowConfig) -> pd.Series:
    settings = RunSettings(engine="static", value_of_time_gbp_per_h=config.value_of_time_gbp_per_h)
    loads = run_static(twin, settings, 0).link_loads
    return loads.set_index("link_id")["flow_veh"] / period_hours(twin.trips)


def with_free_speed_factor(twin: Twin, link_ids: np.ndarray, factor: float) -> Twin:
    """``twin`` with ``free_speed_mps`` of ``link_ids`` times ``factor``, its network coded again."""
    links = twin.links.copy()
    chosen = links["link_id"].isin(link_ids).to_numpy()
    links.loc[chosen, "free_speed_mps"] = links.loc[chosen, "free_speed_mps"].to_numpy() * factor
    return code_network(dataclasses.replace(twin, links=links))


def _solve(twin: Twin, prior: Twin, flow_vph: pd.Series, link_ids: np.ndarray, target_mps: float) -> float:
    """The factor (on ``prior``'s speeds) giving ``target_mps`` with ``twin``'s weights and delays fixed."""
    links = twin.links.set_index("link_id").reindex(link_ids)
    q = flow_vph.reindex(link_ids).fillna(0.0).to_numpy()
    length = links["length_m"].to_numpy(dtype=np.float64)
    prior_speed = prior.links.set_index("link_id")["free_speed_mps"].reindex(link_ids).to_numpy(np.float64)
    delay = zero_flow_time_s(links) - length / links["free_speed_mps"].to_numpy(dtype=np.float64)
    running_s = float(np.sum(q * length / prior_speed))
    allowed_s = float(np.sum(q * length)) / target_mps - float(np.sum(q * delay))
    return running_s / allowed_s if allowed_s > 0 else np.inf


def calibrate_free_flow(
    twin: Twin, area: AreaSpeed, config: FreeFlowConfig | None = None
) -> tuple[Twin, dict[str, Any]]:
    """``twin`` (coded) with the free-flow speeds inside ``area`` scaled so that its free-flow speed there
    matches ``area.speed_mps`` (module docstring), and the record of it (``calibration.network`` in the
    manifest).

    Raises
    ------
    InputError
        ``area`` is not a free-flow speed, or no link of the twin lies inside it.
    """
    config = config or FreeFlowConfig()
    started = time.perf_counter()
    if not area.free_flow:
        raise InputError(area.source, "not a free-flow speed", where=f"area {area.area_id!r}")
    link_ids = links_in_area(twin, area)
    if link_ids.size == 0:
        raise InputError(
            area.source, "no link of the twin lies inside the area", where=f"area {area.area_id!r}"
        )
    low, high = config.factor_bounds
    factor, current, rounds = 1.0, twin, []
    prior_mps = speed_mps = float("nan")
    for round_number in range(config.rounds + 1):
        flow = _static_flow_vph(current, config)
        speed_mps = free_flow_speed_mps(current, flow, link_ids)
        prior_mps = speed_mps if round_number == 0 else prior_mps
        rounds.append({"factor": round(factor, 4), "free_flow_kmh": round(speed_mps * 3.6, 3)})
        solved = float(np.clip(_solve(current, twin, flow, link_ids, area.speed_mps), low, high))
        close = abs(speed_mps / area.speed_mps - 1.0) <= config.tolerance
        if close or solved == factor or round_number == config.rounds:
            break
        factor = solved
        current = with_free_speed_factor(twin, link_ids, factor)
    record = {
        "parameter": "free_speed_mps",
        "method": (
            "one factor on the free-flow speed (speed limit x road-class factor) of every link inside the "
            "area, network coded again, solved for the area's free-flow speed at zero-flow link times "
            "weighted by the static equilibrium flows"
        ),
        "observation": area.area_id,
        "source": area.source,
        "observed_kmh": round(area.speed_mps * 3.6, 3),
        "prior_kmh": round(prior_mps * 3.6, 3),
        "static_kmh": round(speed_mps * 3.6, 3),
        "factor": round(factor, 4),
        "factor_bounds": [low, high],
        "at_bound": bool(factor in (low, high)),
        "links": int(link_ids.size),
        "rounds": rounds,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return current, record

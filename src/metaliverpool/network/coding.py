"""Network coding: the stop-line capacity and junction delay of every link, read by both engines.

One meaning of capacity (``docs/network-coding.md``): a link's **capacity** is the largest rate (PCU/h)
at which its downstream stop line discharges under its junction control, averaged over a signal cycle:

- uncontrolled or priority (major) approach: the saturation flow ``S`` of its lanes;
- signalised approach: ``S * g / C`` (green ratio of the phases serving it, Webster plan);
- give-way (minor) approach: Harders' gap-acceptance capacity against the major flow, at most ``S``.

The static engine uses that capacity in its volume-delay function and adds the junction's uniform delay
(Webster's first term at zero flow, ``C (1 - g / C)^2 / 2``) to the free-flow time; the simulator discharges
queues at ``S`` and models the red time and the gaps itself, so on average it gives the same capacity.

Published forms (known-answer tests in ``tests/network/test_coding.py``):

- saturation flow per lane, TRL RR67 (Kimber, McDonald and Hounsell 1986), unopposed streams:
  ``S = (S0 - 140 dn) / (1 + 1.5 f / r)`` with ``S0 = 2080 - 42 dg G + 100 (w - 3.25)`` (PCU/h);
- uniform delay, Webster (1958): ``d1 = C (1 - lambda)^2 / (2 (1 - lambda x))``, at zero flow
  ``C (1 - lambda)^2 / 2`` (s);
- give-way capacity, Harders (1968) as in HCM 2000 eq. 17-3: ``c = v exp(-v tc) / (1 - exp(-v tf))``
  (``v`` conflicting flow in veh/s, ``tc`` critical gap, ``tf`` follow-up headway), ``1 / tf`` at ``v = 0``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

RR67_BASE_PCU_PER_H = 2080.0
"""RR67 base saturation flow of a 3.25 m, level, straight-ahead, non-nearside lane (PCU/h)."""
RR67_NEARSIDE_LOSS_PCU_PER_H = 140.0
"""RR67 reduction for a nearside (kerbside) lane (PCU/h)."""
RR67_UPHILL_LOSS_PER_PERCENT = 42.0
"""RR67 reduction per percent of uphill gradient (PCU/h)."""
RR67_WIDTH_GAIN_PER_M = 100.0
"""RR67 change per metre of lane width away from 3.25 m (PCU/h)."""
DEFAULT_LANE_WIDTH_M = 3.25
"""Lane width when the source gives none (OSM rarely tags ``width`` per lane): RR67's reference width."""
JAM_DENSITY_VPM = 0.2
"""Jam density per lane (veh/m): 5 m per queued car, bumper to bumper plus gap (UXsim's default; the
simulator's default since its first version, so the peers compare)."""


def rr67_saturation_flow_pcu_per_h(
    *,
    lane_width_m: float = DEFAULT_LANE_WIDTH_M,
    nearside: bool = False,
    uphill_gradient_percent: float = 0.0,
    turning_share: float = 0.0,
    turning_radius_m: float = math.inf,
) -> float:
    """Saturation flow of one lane (PCU/h), TRL RR67: ``(S0 - 140 dn) / (1 + 1.5 f / r)``,
    ``S0 = 2080 - 42 G + 100 (w - 3.25)`` (``G`` uphill gradient in percent, downhill counts 0)."""
    s0 = (
        RR67_BASE_PCU_PER_H
        - RR67_UPHILL_LOSS_PER_PERCENT * max(uphill_gradient_percent, 0.0)
        + RR67_WIDTH_GAIN_PER_M * (lane_width_m - DEFAULT_LANE_WIDTH_M)
    )
    turning = 1.5 * turning_share / turning_radius_m if math.isfinite(turning_radius_m) else 0.0
    return (s0 - RR67_NEARSIDE_LOSS_PCU_PER_H * float(nearside)) / (1.0 + turning)


def link_saturation_flow_vph(lanes: npt.ArrayLike) -> FloatArray:
    """Saturation flow of a link's stop line (PCU/h, all lanes): one nearside lane plus ``lanes - 1``
    non-nearside lanes at RR67 defaults (3.25 m, level, straight ahead; at least one lane)."""
    count = np.maximum(np.floor(np.asarray(lanes, dtype=np.float64) + 1e-9), 1.0)
    nearside = rr67_saturation_flow_pcu_per_h(nearside=True)
    return nearside + (count - 1.0) * rr67_saturation_flow_pcu_per_h()


def uniform_delay_s(cycle_s: npt.ArrayLike, green_ratio: npt.ArrayLike) -> FloatArray:
    """Webster's uniform delay at zero flow, ``C (1 - g/C)^2 / 2`` (s); 0 where there is no cycle."""
    cycle = np.asarray(cycle_s, dtype=np.float64)
    ratio = np.clip(np.asarray(green_ratio, dtype=np.float64), 0.0, 1.0)
    return np.where(cycle > 0.0, cycle * (1.0 - ratio) ** 2 / 2.0, 0.0)


def give_way_capacity_vph(
    conflicting_flow_vph: npt.ArrayLike, critical_gap_s: npt.ArrayLike, follow_up_s: npt.ArrayLike
) -> FloatArray:
    """Capacity of one give-way lane (veh/h), Harders: ``v exp(-v tc) / (1 - exp(-v tf))`` with ``v`` the
    conflicting flow in veh/s; ``3600 / tf`` when nothing conflicts."""
    v = np.asarray(conflicting_flow_vph, dtype=np.float64) / 3600.0
    tc = np.asarray(critical_gap_s, dtype=np.float64)
    tf = np.asarray(follow_up_s, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        flowing = v * np.exp(-v * tc) / -np.expm1(-v * tf)
    return np.where(v > 0.0, flowing, 1.0 / tf) * 3600.0


CODED_LINK_COLUMNS = (
    "saturation_flow_vph",
    "green_ratio",
    "cycle_s",
    "stop_line_capacity_vph",
    "junction_delay_s",
    "jam_density_vpm",
)
"""Link columns the build adds (``docs/twin-format.md``)."""


def zero_flow_time_s(links: pd.DataFrame) -> FloatArray:
    """Each link's travel time at zero flow (s): ``length_m / free_speed_mps``, plus the junction's uniform
    delay ``junction_delay_s`` on a coded network (the static engine's time at zero flow; the simulator's
    on average, as it shows the red itself)."""
    time_s = links["length_m"].to_numpy(dtype=np.float64) / links["free_speed_mps"].to_numpy(dtype=np.float64)
    if "junction_delay_s" in links.columns:
        time_s = time_s + links["junction_delay_s"].to_numpy(dtype=np.float64)
    return time_s


def code_links(
    lanes: npt.ArrayLike,
    green_ratio: npt.ArrayLike,
    cycle_s: npt.ArrayLike,
    give_way_gap_s: npt.ArrayLike,
    conflicting_flow_vph: npt.ArrayLike,
) -> pd.DataFrame:
    """The coded columns of links (one row per link, in the order given).

    ``green_ratio`` and ``cycle_s``: of the signal at the link's end (1 and 0 where none);
    ``give_way_gap_s``: critical gap of a give-way approach (0 on major or uncontrolled approaches);
    ``conflicting_flow_vph``: the major flow it gives way to. Give-way lanes follow up at the lane's
    saturation headway ``3600 / S``, the headway the simulator discharges them at.
    """
    saturation = link_saturation_flow_vph(lanes)
    ratio = np.clip(np.asarray(green_ratio, dtype=np.float64), 0.0, 1.0)
    cycle = np.asarray(cycle_s, dtype=np.float64)
    gap = np.asarray(give_way_gap_s, dtype=np.float64)
    count = np.maximum(np.floor(np.asarray(lanes, dtype=np.float64) + 1e-9), 1.0)
    per_lane = saturation / count
    give_way = np.minimum(
        give_way_capacity_vph(conflicting_flow_vph, gap, 3600.0 / per_lane) * count, saturation
    )
    capacity = np.where(gap > 0.0, give_way, saturation * ratio)
    return pd.DataFrame(
        {
            "saturation_flow_vph": saturation,
            "green_ratio": ratio,
            "cycle_s": cycle,
            "stop_line_capacity_vph": capacity,
            "junction_delay_s": uniform_delay_s(cycle, ratio),
            "jam_density_vpm": np.full(saturation.shape, JAM_DENSITY_VPM),
        }
    )

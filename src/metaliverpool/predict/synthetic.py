"""A documented, physically plausible generator of link-speed histories (for tests and demos).

The network is a radial tree: ``n_branches`` corridors of ``branch_links`` links each merge into a trunk
of ``trunk_links`` links that leads out of the area (a city-centre approach). Traffic moves by the cell
transmission model with one cell per link (Daganzo 1994): each link sends
``min(n * v_free * dt / L, capacity * dt)`` vehicles, each link receives at most
``min(capacity * dt, jam_density * L - n)``; merges share the downstream supply in proportion to demand,
and a link whose downstream cannot receive holds *all* its vehicles (first in, first out), so queues
spill back upstream along the graph. A share of each link's outflow turns off (always free) and side
streets feed every link with a demand queue that yields to the mainline.

Demand per link and minute = base rate x daily profile (weekday AM and PM peaks, a midday plateau, lower
weekend peaks around midday, an earlier Friday PM peak) x a day factor (log-normal, sigma 10 %,
day-to-day variation) x minute noise. Incidents (unknown to forecasters) cut one link's capacity to
30-60 % for 20-90 min, about 1.5 per day over the network; roadworks (known, reported in ``events``)
halve a link's capacity for 2-5 whole days. The speed of a link over a step is
``min(v_free, outflow * L / (n * dt))``; a sensor reports the 5-minute mean with Gaussian noise
(0.3 m/s) and 0.5 % missing values. Days are simulated in parallel from an empty network at midnight
(night demand is low, so the network is near empty then anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaliverpool.predict.series import SECONDS_PER_DAY, SensorSeries


@dataclass(frozen=True)
class SyntheticHistory:
    """Speeds (m/s) and flows (veh/h) per link and step, with the link adjacency (upstream -> downstream)."""

    speed: SensorSeries
    flow: SensorSeries
    adjacency: np.ndarray


def _profile(hours: np.ndarray, weekday: int) -> np.ndarray:
    """Demand multiplier by hour of day (0..24) for day of week ``weekday`` (0 = Monday)."""

    def bump(centre: float, width: float) -> np.ndarray:
        return np.exp(-0.5 * ((hours - centre) / width) ** 2)

    night = 0.08
    if weekday >= 5:
        return night + 0.55 * bump(13.0, 2.8) + 0.15 * bump(19.0, 2.0)
    pm_centre = 16.5 if weekday == 4 else 17.25
    return night + 1.0 * bump(8.0, 0.9) + 0.9 * bump(pm_centre, 1.2) + 0.45 * bump(12.5, 2.5)


def generate_history(
    n_days: int = 28,
    interval_min: float = 5.0,
    n_branches: int = 3,
    branch_links: int = 4,
    trunk_links: int = 4,
    seed: int = 0,
    roadworks_per_week: float = 1.0,
    incidents_per_day: float = 1.5,
) -> SyntheticHistory:
    """Simulate ``n_days`` days from Monday 00:00 and return link speed and flow series (module doc)."""
    rng = np.random.default_rng(seed)
    dt_s = 30.0
    n_links = n_branches * branch_links + trunk_links
    downstream = np.full(n_links, -1)
    for b in range(n_branches):
        for k in range(branch_links):
            i = b * branch_links + k
            downstream[i] = i + 1 if k < branch_links - 1 else n_branches * branch_links
    for k in range(trunk_links - 1):
        downstream[n_branches * branch_links + k] = n_branches * branch_links + k + 1
    merge = np.zeros((n_links, n_links))
    has_down = downstream >= 0
    merge[np.flatnonzero(has_down), downstream[has_down]] = 1.0
    is_trunk = np.arange(n_links) >= n_branches * branch_links
    length_m = rng.uniform(420.0, 800.0, n_links)
    free_speed_mps = np.where(is_trunk, 13.4, rng.uniform(11.0, 13.4, n_links))
    lanes = np.where(is_trunk, 2.0, 1.0)
    capacity_vps = lanes * 1800.0 / 3600.0
    branch_ends = np.flatnonzero(has_down & is_trunk[np.maximum(downstream, 0)] & ~is_trunk)
    capacity_vps[branch_ends] *= 0.6  # the merge is signalised: a corridor gets about 60 % green
    storage_veh = lanes * length_m / 7.5
    exit_share = rng.uniform(0.05, 0.15, n_links)
    exit_share[~has_down] = 1.0
    entry_vph = np.where(is_trunk, 360.0, 250.0) * rng.uniform(0.8, 1.2, n_links)
    entry_vph[np.arange(n_links) % branch_links == 0] *= 1.8  # corridor heads bring through traffic

    steps_per_day = int(SECONDS_PER_DAY / dt_s)
    hours = (np.arange(steps_per_day) + 0.5) * dt_s / 3600.0
    weekday = np.arange(n_days) % 7
    day_factor = rng.lognormal(0.0, 0.10, n_days)
    profile = np.stack([_profile(hours, int(w)) for w in weekday]) * day_factor[:, None]  # (days, steps)

    capacity_factor = np.ones((n_days, steps_per_day, n_links))
    events_daily = np.zeros((n_days, n_links))
    n_roadworks = rng.poisson(roadworks_per_week * n_days / 7.0)
    for _ in range(n_roadworks):
        link = rng.integers(n_links)
        first = rng.integers(n_days)
        last = min(n_days, first + rng.integers(2, 6))
        events_daily[first:last, link] = 0.5
    capacity_factor *= 1.0 - events_daily[:, None, :]
    n_incidents = rng.poisson(incidents_per_day * n_days)
    for _ in range(n_incidents):
        day, link = rng.integers(n_days), rng.integers(n_links)
        start = int(rng.uniform(6.0, 21.0) * 3600 / dt_s)
        stop = start + int(rng.uniform(20.0, 90.0) * 60 / dt_s)
        capacity_factor[day, start:stop, link] *= rng.uniform(0.3, 0.6)

    vehicles = np.zeros((n_days, n_links))
    side_queue = np.zeros((n_days, n_links))
    out_steps = round(interval_min * 60 / dt_s)
    n_out = steps_per_day // out_steps
    speed_sum = np.zeros((n_days, n_out, n_links))
    flow_sum = np.zeros((n_days, n_out, n_links))
    noise = rng.lognormal(0.0, 0.15, (steps_per_day, n_days, n_links))
    for step in range(steps_per_day):
        capacity = capacity_vps * capacity_factor[:, step, :] * dt_s
        side_queue += entry_vph / 3600.0 * dt_s * profile[:, step, None] * noise[step]
        sending = np.minimum(vehicles * free_speed_mps * dt_s / length_m, capacity)
        receiving = np.maximum(np.minimum(capacity, storage_veh - vehicles), 0.0)
        continuing = sending * (1.0 - exit_share)
        asked = continuing @ merge  # demand arriving at each link from upstream
        ratio = np.divide(receiving, asked, out=np.ones_like(asked), where=asked > 1e-12)
        ratio = np.minimum(ratio, 1.0)
        down_ratio = np.where(has_down, ratio[:, np.maximum(downstream, 0)], 1.0)
        outflow = sending * down_ratio  # FIFO: a blocked link holds its exiting vehicles too
        inflow = (outflow * (1.0 - exit_share)) @ merge
        entering = np.minimum(side_queue, np.maximum(receiving - inflow, 0.0))
        side_queue -= entering
        with np.errstate(invalid="ignore", divide="ignore"):
            speed = np.where(vehicles > 1e-6, outflow * length_m / (vehicles * dt_s), free_speed_mps)
        speed = np.clip(speed, 0.3, free_speed_mps)
        vehicles += inflow + entering - outflow
        slot = step // out_steps
        speed_sum[:, slot, :] += speed
        flow_sum[:, slot, :] += outflow
    speed_mps = (speed_sum / out_steps).reshape(n_days * n_out, n_links)
    flow_vph = (flow_sum * 3600.0 / (out_steps * dt_s)).reshape(n_days * n_out, n_links)
    speed_mps = np.clip(speed_mps + rng.normal(0.0, 0.3, speed_mps.shape), 0.3, None)
    missing = rng.random(speed_mps.shape) < 0.005
    speed_mps[missing] = np.nan
    events = np.repeat(events_daily, n_out, axis=0)
    sensor_ids = tuple(f"link_{i}" for i in range(n_links))
    interval_s = interval_min * 60.0
    adjacency = merge.copy()
    return SyntheticHistory(
        speed=SensorSeries(speed_mps, sensor_ids, interval_s, 0.0, events),
        flow=SensorSeries(flow_vph, sensor_ids, interval_s, 0.0, events.copy()),
        adjacency=adjacency,
    )

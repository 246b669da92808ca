"""The live state loop: every ``interval_s`` of the feed's clock, the network now and its next hour.

:class:`LiveStateLoop` watches the archive's newest phenomenon time (the feed's clock, which runs fast
in an accelerated replay). Each time it has moved ``interval_s`` (300 s by default) past the last
refresh, the loop reads every speed detector's newest Observation of the last two intervals, refreshes
the :class:`~metaliverpool.predict.live_state.StateEstimator` (now, and 5 to 60 minutes ahead in
5-minute steps, each horizon's method chosen on its recent errors), saves the state as JSON
(:func:`state_payload`) in ``live_state``, and hands it to ``on_state`` (the signal desk).

Speed Datastreams are those whose unit is one of :data:`SPEED_UNITS`; count Datastreams are archived
but do not enter the state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from metaliverpool.predict.live_state import HORIZONS_MIN, NetworkState, StateEstimator
from metaliverpool.store.live_archive import LiveArchive
from metaliverpool.store.live_state_store import LiveStateStore

SPEED_UNITS = {"m/s": 1.0, "km/h": 1.0 / 3.6}
"""Units of the speed Datastreams used, with their factor to m/s."""

SHOWN_MIN = (0, 15, 30, 60)
"""Horizons the map shows (0 = now)."""

KMH_PER_MPS = 3.6


def _kmh(value: float | None) -> float | None:
    return None if value is None else round(value * KMH_PER_MPS, 2)


def state_payload(state: NetworkState, twin_id: str, interval_s: float) -> dict[str, Any]:
    """The state as JSON: link ids, which have a detector, the congestion level in percent (integers)
    per horizon (``"0"`` = now, then every 5 minutes to 60), and per horizon the method used, the
    recent mean absolute error (km/h) of it and of persistence, and the number of matured forecasts."""
    return {
        "twin_id": twin_id,
        "refreshed_unix_s": state.refreshed_unix_s,
        "interval_s": interval_s,
        "link_id": state.link_id.tolist(),
        "detector": state.detector.astype(int).tolist(),
        "detectors": int(state.detector.sum()),
        "level_pct": {
            str(h): np.round(v * 100.0).astype(int).tolist() for h, v in sorted(state.level.items())
        },
        "horizons": [
            {
                "horizon_min": h,
                "method": state.method[h],
                "recent_mae_kmh": _kmh(state.recent_mae_mps[h]),
                "persistence_mae_kmh": _kmh(state.persistence_mae_mps[h]),
                "matured": state.matured[h],
            }
            for h in HORIZONS_MIN
        ],
        "shown_min": list(SHOWN_MIN),
    }


class LiveStateLoop:
    """Refreshes the state of one twin from one archive (see the module docstring)."""

    def __init__(
        self,
        archive: LiveArchive,
        store: LiveStateStore,
        estimator: StateEstimator,
        twin_id: str,
        *,
        interval_s: float = 300.0,
        on_state: Callable[[dict[str, Any], float], None] | None = None,
    ) -> None:
        self.archive = archive
        self.store = store
        self.estimator = estimator
        self.twin_id = twin_id
        self.interval_s = interval_s
        self.on_state = on_state
        self.last_unix_s: float | None = None
        self.refreshes = 0

    def observed_mps(self, now_unix_s: float) -> dict[int, float]:
        """Each detector link's newest speed (m/s; the mean where several detectors share a link)."""
        rows = self.archive.latest_link_results(list(SPEED_UNITS), now_unix_s - 2.0 * self.interval_s)
        sums: dict[int, list[float]] = {}
        for link, unit, result, _ in rows:
            sums.setdefault(link, []).append(result * SPEED_UNITS[unit])
        return {link: float(np.mean(values)) for link, values in sums.items()}

    def step(self) -> dict[str, Any] | None:
        """Refresh when the feed's clock has moved ``interval_s`` since the last refresh; returns the
        state saved, or None."""
        now = self.archive.newest_end_unix_s()
        if now is None or (self.last_unix_s is not None and now - self.last_unix_s < self.interval_s):
            return None
        state = self.estimator.refresh(now, self.observed_mps(now), self.interval_s)
        payload = state_payload(state, self.twin_id, self.interval_s)
        self.store.save_state(self.twin_id, now, payload)
        self.last_unix_s = now
        self.refreshes += 1
        if self.on_state is not None:
            self.on_state(payload, now)
        return payload

    def run(self, stop: threading.Event, *, poll_s: float = 1.0, duration_s: float | None = None) -> None:
        """Step every ``poll_s`` until ``stop`` is set or ``duration_s`` has passed."""
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            self.step()
            stop.wait(poll_s)

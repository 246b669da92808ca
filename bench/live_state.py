"""Benchmark of the live state refresh: ``StateEstimator.refresh`` alone (the fill from the detectors and
the 12 guarded forecast horizons), on synthetic links and detectors.

``python bench/live_state.py``: for 8,021 links (the central twin's car links) with 200 detectors and with
a detector on every link, and 20,000 links with 10,000 detectors, 15 refreshes 5 minutes of feed time
apart, each with new random speeds; prints the median and largest refresh time (s). Not included: reading
the archive and writing the state (one query and one row each), and the baseline simulation.
"""

from __future__ import annotations

import time

import numpy as np

from metaliverpool.predict.live_state import StateEstimator

CASES = ((8021, 200), (8021, 8021), (20000, 10000))
REFRESHES = 15


def main() -> None:
    rng = np.random.default_rng(0)
    for links, detectors in CASES:
        estimator = StateEstimator(
            np.arange(links, dtype=np.int64),
            rng.uniform(0, 5000, links),
            rng.uniform(0, 5000, links),
            rng.uniform(5, 15, links),
            np.full(links, 15.0),
        )
        times_s = []
        for k in range(REFRESHES):
            chosen = rng.choice(links, detectors, replace=False)
            observed = dict(zip(chosen.tolist(), rng.uniform(2, 15, detectors).tolist(), strict=True))
            started = time.perf_counter()
            estimator.refresh(k * 300.0, observed, 300.0)
            times_s.append(time.perf_counter() - started)
        print(
            f"{links} links, {detectors} detectors: median refresh {np.median(times_s):.3f} s, "
            f"largest {max(times_s):.3f} s"
        )


if __name__ == "__main__":
    main()

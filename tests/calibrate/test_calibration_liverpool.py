"""Calibration of the real liverpool-centre twin to the Mersey tunnel counts (static engine only here; the
dynamic check is exercised on a small twin in ``test_calibration.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metaliverpool.assign.odme import OdmeConfig
from metaliverpool.ingest.lcr_observations import lcr_observations
from metaliverpool.ingest.observations import match_observations
from metaliverpool.scenario.calibration import CalibrationConfig, calibrate_twin
from metaliverpool.store.bundle import read_twin


@pytest.mark.slow
def test_tunnel_counts_calibrate_the_centre(liverpool_centre_bundle: Path, liverpool_data: Path) -> None:
    twin = read_twin(liverpool_centre_bundle)
    matched = match_observations(lcr_observations(liverpool_data), twin)
    targets = matched.count_targets("calibration")
    assert len(targets) >= 4  # both tunnels, both directions
    config = CalibrationConfig(odme=OdmeConfig(max_cell_change=3.0, outer_iterations=8), dynamic_check=False)
    calibrated, record = calibrate_twin(twin, matched, config)
    rows = record["results"]["targets"]
    prior_geh = np.array([r["prior_geh"] for r in rows])
    static_geh = np.array([r["static_geh"] for r in rows])
    assert prior_geh.max() > 10.0  # the prior's tunnel flows are far from the counts
    assert np.sum(static_geh < 5) == len(rows)  # measured: every target GEH < 5 from iteration 2
    assert (
        record["results"]["cell_factor_min"] >= 0.25 - 1e-9
        and record["results"]["cell_factor_max"] <= 4 + 1e-9
    )
    change = len(calibrated.trips) / len(twin.trips) - 1.0
    assert abs(change) <= 0.05 + 1e-4  # the total band
    assert record["summary"].startswith("Calibrated to ")
    # the network first: the centre's free-flow speed brought to TomTom's (30.7 km/h) by one bounded factor
    network = record["network"]
    assert network["static_kmh"] == pytest.approx(network["observed_kmh"], rel=0.002)
    assert network["prior_kmh"] > 1.2 * network["observed_kmh"]  # measured: 42 km/h before
    assert 0.5 < network["factor"] < 1.0 and not network["at_bound"]

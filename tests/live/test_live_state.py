"""The network now and forecast: filling links no detector sees, the per-horizon guard, the refresh loop
on the real archive."""

from __future__ import annotations

import numpy as np
import pytest

from live.signal_twins import crossroads_twin
from metaliverpool.predict.live_state import HORIZONS_MIN, StateEstimator, fill_ratio
from metaliverpool.service.live_baseline import baseline_case, state_estimator
from metaliverpool.service.live_state import LiveStateLoop
from metaliverpool.store.live_archive import ArchiveRow, LiveArchive
from metaliverpool.store.live_state_store import LiveStateStore


def test_fill_ratio_is_the_inverse_distance_weighted_mean_of_the_nearest() -> None:
    ratio = fill_ratio(
        np.array([0.0, 100.0, 5000.0]),
        np.zeros(3),
        np.array([0.5, 1.0, 2.0]),
        np.array([0.0, 50.0]),
        np.zeros(2),
        neighbours=2,
    )
    # link at x=0: detectors at 0 m and 100 m, weights 1/50 and 1/150
    assert ratio[0] == pytest.approx((0.5 / 50 + 1.0 / 150) / (1 / 50 + 1 / 150))
    assert ratio[1] == pytest.approx(0.75)  # halfway: equal weights
    assert np.all(fill_ratio(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(4), np.zeros(4)) == 1.0)


def _estimator(links: int = 4) -> StateEstimator:
    return StateEstimator(
        link_id=np.arange(links, dtype=np.int64) + 10,
        x_m=np.arange(links, dtype=np.float64) * 100.0,
        y_m=np.zeros(links),
        simulated_speed_mps=np.full(links, 10.0),
        free_speed_mps=np.full(links, 15.0),
    )


def test_undetected_links_follow_the_detectors_ratio_and_levels_follow_speeds() -> None:
    state = _estimator().refresh(0.0, {10: 5.0, 99: 1.0}, 300.0)  # link 99 is not in the twin
    assert state.detector.tolist() == [True, False, False, False]
    assert np.allclose(state.speed_mps[0], 5.0)  # one detector at half the simulated speed
    assert np.allclose(state.level[0], 1 - 5.0 / 15.0)
    assert set(state.level) == {0, *HORIZONS_MIN}


def test_the_guard_uses_the_trend_only_once_it_beats_persistence() -> None:
    estimator = _estimator()
    interval_s = 300.0
    for k in range(40):  # a steady slow-down: 14 m/s falling 0.2 m/s every 5 minutes
        state = estimator.refresh(k * interval_s, {10: 14.0 - 0.2 * k, 11: 13.0 - 0.2 * k}, interval_s)
        if k < 3:
            assert set(state.method.values()) == {"persistence"}
    for horizon in (15, 30, 60):
        assert state.method[horizon] == "trend"
        assert state.recent_mae_mps[horizon] < state.persistence_mae_mps[horizon]
        assert state.persistence_mae_mps[horizon] == pytest.approx(0.2 * horizon / 5)
    estimator = _estimator()
    rng = np.random.default_rng(1)
    for k in range(40):  # noise around a constant: the trend chases the noise, persistence is kept
        state = estimator.refresh(k * interval_s, {10: 10.0 + rng.normal(0, 1.5)}, interval_s)
    assert state.method[60] == "persistence"


def test_a_new_sensor_is_used_at_once_without_training() -> None:
    estimator = _estimator()
    estimator.refresh(0.0, {10: 6.0}, 300.0)
    state = estimator.refresh(300.0, {10: 6.0, 13: 12.0}, 300.0)
    assert state.detector.tolist() == [True, False, False, True]
    assert state.speed_mps[0][3] == 12.0


def test_the_loop_refreshes_every_interval_of_the_feeds_clock(archive_url: str) -> None:
    case = baseline_case(crossroads_twin())
    archive, store = LiveArchive(archive_url), LiveStateStore(archive_url)
    archive.ensure_schema()
    store.ensure_schema()
    link = int(case.network.link_external_id[0])
    archive.record_datastreams([(7, 1, "speed", "detector", "m/s", 300.0, link, None)])
    seen: list[float] = []
    loop = LiveStateLoop(
        archive, store, state_estimator(case), "test", interval_s=300.0, on_state=lambda _p, t: seen.append(t)
    )
    assert loop.step() is None  # an empty archive
    start = 1_800_000_000.0
    for k, speed in enumerate((8.0, 7.0, 6.0)):
        archive.insert([ArchiveRow(7, start + 300 * k, start + 300 * (k + 1), speed, start, False)])
        payload = loop.step()
        assert payload is not None
        assert loop.step() is None  # the feed's clock has not moved
        row = payload["link_id"].index(link)
        free = float(case.network.link_free_speed_mps[0])
        assert payload["level_pct"]["0"][row] == round(100 * max(0.0, 1 - speed / free))
        assert payload["detectors"] == 1
    assert seen == [start + 300.0, start + 600.0, start + 900.0]
    latest = store.latest_state("test")
    assert latest is not None and latest["refreshed_unix_s"] == start + 900.0
    assert store.latest_state("test", start + 900.0) is None
    assert [h["horizon_min"] for h in latest["horizons"]] == list(HORIZONS_MIN)
    archive.close()
    store.close()

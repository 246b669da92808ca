"""TAG M3.1 statistics against hand-computed answers, and ``metaliverpool validate`` on a small twin."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaliverpool.cli.main import main
from metaliverpool.metrics.validation import (
    coincidence_ratio,
    compare,
    convergence,
    flow_tolerance_vph,
    flow_within_tolerance,
    geh,
    journey_time_within_tolerance,
    matrix_change,
    regression,
)
from metaliverpool.observed.model import MORNING_PEAK, LinkCount, LinkRef, ObservationSet
from metaliverpool.scenario.engines import run_static
from metaliverpool.scenario.svg_charts import nice_ticks
from metaliverpool.scenario.validation import STATIC_SETTINGS
from metaliverpool.scenario.validation_report import geh_band_vph
from metaliverpool.store.bundle import write_twin
from small_twins import LAT0, LON0, grid_twin


def test_geh_known_values() -> None:
    assert float(geh(1000.0, 900.0)) == pytest.approx(math.sqrt(2 * 100**2 / 1900), abs=1e-12)
    assert float(geh(1000.0, 900.0)) == pytest.approx(3.244, abs=5e-4)
    assert float(geh(100.0, 0.0)) == pytest.approx(math.sqrt(200.0))
    assert float(geh(0.0, 0.0)) == 0.0


@given(st.integers(0, 100_000), st.integers(0, 100_000))
def test_geh_is_symmetric_and_zero_only_for_equal_flows(m: int, c: int) -> None:
    assert float(geh(m, c)) == pytest.approx(float(geh(c, m)))
    assert (float(geh(m, c)) == 0.0) == (m == c)


@given(st.floats(1.0, 1e4), st.sampled_from([5.0, 10.0]))
def test_geh_band_edges_have_that_geh(observed: float, level: float) -> None:
    low, high = geh_band_vph(np.array([observed]), level)
    assert float(geh(high[0], observed)) == pytest.approx(level, rel=1e-9)
    if low[0] >= 0:
        assert float(geh(low[0], observed)) == pytest.approx(level, rel=1e-9)


def test_tag_flow_bands_at_their_edges() -> None:
    observed = np.array([699.0, 700.0, 2700.0, 2701.0])
    assert flow_tolerance_vph(observed).tolist() == pytest.approx([100.0, 105.0, 405.0, 400.0])
    assert flow_within_tolerance([799, 805, 806, 3101, 3401], [699, 700, 700, 2701, 3000]).tolist() == [
        True,
        True,
        False,
        True,
        False,
    ]
    assert journey_time_within_tolerance([359, 361, 1150, 1151], [300, 300, 1000, 1000]).tolist() == [
        True,
        False,
        True,
        False,
    ]


def test_regression_and_convergence_known_answers() -> None:
    fit = regression([1.0, 2.0, 3.0, 4.0], [3.0, 5.0, 7.0, 9.0])
    assert (fit["slope"], fit["intercept"], fit["r2"]) == pytest.approx((2.0, 1.0, 1.0))
    assert convergence(5e-4)["pass"] and not convergence(2e-3)["pass"]
    assert not convergence(None)["pass"]


def test_tag_stability_needs_four_consecutive_iterations_above_98_percent() -> None:
    gaps = [0.1, 0.01, 5e-4, 4e-4, 3e-4, 2e-4]
    stable = convergence(gaps, [0.5, 0.9, 0.985, 0.99, 0.99])
    assert stable["gap_pass"] and stable["stability"]["last"] == [0.9, 0.985, 0.99, 0.99]
    assert not stable["stability"]["pass"] and not stable["pass"], "0.9 is within the last four"
    steady = convergence(gaps, [0.5, 0.981, 0.985, 0.99, 0.99])
    assert steady["stability"]["pass"] and steady["pass"]
    assert not convergence(gaps[:4], [0.99, 0.99, 0.99])["stability"]["pass"], "three comparisons only"
    exact = convergence(gaps, [0.5, 0.98, 0.99, 0.99, 0.99])
    assert not exact["stability"]["pass"], "more than 98%: 98% itself fails"
    unrecorded = convergence([0.2, 5e-4])
    assert unrecorded["pass"] and not unrecorded["stability"]["recorded"], "the gap alone judges a DTA"
    assert not convergence([*gaps, 2e-3], [0.99] * 6)["pass"], "stable but the last gap is above 0.1%"


def test_matrix_change_statistics_by_hand() -> None:
    prior = np.array([[0.0, 10.0], [10.0, 0.0]])
    calibrated = np.array([[0.0, 10.0], [30.0, 0.0]])
    distance = np.array([[0.0, 1.5], [2.5, 0.0]])
    # shares by 1 km band: prior [0, .5, .5], calibrated [0, .25, .75] -> (0.25 + 0.5) / (0.5 + 0.75)
    assert coincidence_ratio(prior, calibrated, distance) == pytest.approx(0.6)
    result = matrix_change(prior, calibrated, distance)
    tld = result["trip_length"]
    assert tld["prior_mean_km"] == pytest.approx(2.0) and tld["calibrated_mean_km"] == pytest.approx(2.25)
    assert tld["prior_sd_km"] == pytest.approx(0.5) and tld["calibrated_sd_km"] == pytest.approx(
        math.sqrt(0.1875)
    )
    verdicts = {c["name"]: c["pass"] for c in result["criteria"]}
    assert not verdicts["Trip length: mean change"]  # +12.5%
    varied = np.array([[5.0, 10.0], [20.0, 1.0]])
    same = matrix_change(varied, 1.005 * varied, distance)
    assert same["cells"]["slope"] == pytest.approx(1.005) and same["cells"]["r2"] == pytest.approx(1.0)
    assert all(c["pass"] for c in same["criteria"] if c["pass"] is not None)
    assert same["trip_length"]["coincidence_ratio"] == pytest.approx(1.0)


def test_the_85_percent_share_must_be_exceeded() -> None:
    twin = grid_twin(5)
    flows = pd.DataFrame({"link_id": twin.links["link_id"], "flow_vph": 1000.0, "time_s": 10.0})
    where = LinkRef(lon=LON0, lat=LAT0, bearing_deg=0.0)

    def counts(good: int, bad: int) -> ObservationSet:
        observed = [1000.0] * good + [1500.0] * bad  # GEH 0 and 14.1
        return ObservationSet(
            counts=tuple(
                LinkCount(f"c{k}", where, value, MORNING_PEAK, "validation", "t", link_ids=(k,))
                for k, value in enumerate(observed)
            )
        )

    def verdict(good: int, bad: int) -> dict[str, object]:
        return compare(counts(good, bad), flows, twin)["groups"]["validation"]["criteria"][0]

    assert verdict(17, 3)["share"] == pytest.approx(0.85) and not verdict(17, 3)["pass"]
    assert verdict(18, 2)["pass"] and verdict(18, 2)["met"] == 18


def test_validate_command_on_a_small_twin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    twin = grid_twin(5)
    keep = twin.trips["trip_id"] % (twin.trips["origin_zone_id"] + 2) != 0  # OD cells of unequal size
    twin.trips = twin.trips[keep].reset_index(drop=True)
    bundle = tmp_path / "grid"
    write_twin(twin, bundle)
    trips = twin.trips.groupby(["origin_zone_id", "destination_zone_id"]).size().rename("trips").reset_index()
    trips["trips"] = trips["trips"].astype(float)
    trips.astype({"origin_zone_id": "int32", "destination_zone_id": "int32"}).to_parquet(
        bundle / "od_prior.parquet"
    )
    counts = tmp_path / "counts.csv"
    counts.write_text(
        "site_id,lon,lat,bearing_deg,flow_vph,period,use,name\n"
        f"a,{LON0 + 0.001},{LAT0},90,300,07:00-10:00,calibration,south edge eastbound\n"
        f"b,{LON0 + 0.001},{LAT0},270,250,07:00-10:00,validation,south edge westbound\n"
        f"far,{LON0 + 0.1},{LAT0},270,250,07:00-10:00,validation,nowhere\n"
    )
    out = tmp_path / "report"
    main(["validate", "--twin", str(bundle), "--observations", str(counts), "--out", str(out)])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    document = json.loads((out / "validation.json").read_text())
    conv = document["convergence"]
    assert summary["unmatched"] == 1 and summary["convergence"] is conv["pass"]
    # the static run stops at its gap (1e-8): its stability is recorded per iteration
    assert conv["gap_pass"] and conv["stability"]["recorded"]
    assert len(conv["stability"]["shares"]) == conv["iterations"] - 1
    assert conv["pass"] is (conv["iterations"] > 4 and min(conv["stability"]["last"]) > 0.98)
    assert document["engine"] == "static" and document["unmatched"][0].startswith("count far")
    (a,) = document["groups"]["calibration"]["counts"]
    (b,) = document["groups"]["validation"]["counts"]
    assert a["link_ids"] == [0] and b["link_ids"] == [1]
    # the modelled flow is the static engine's hourly flow on the matched link
    loads = run_static(twin, STATIC_SETTINGS, 1).link_loads.set_index("link_id")
    hours = 1.0  # trips depart over one hour
    assert a["modelled_vph"] == pytest.approx(loads.at[0, "flow_veh"] / hours, rel=1e-6)
    assert a["geh"] == pytest.approx(float(geh(a["modelled_vph"], 300.0)))
    matrix = document["matrix"]
    assert matrix["cells"]["slope"] == pytest.approx(1.0)
    assert all(c["pass"] for c in matrix["criteria"] if c["pass"] is not None)
    assert [row["change"] for row in matrix["sectors"]] == pytest.approx([0.0] * len(matrix["sectors"]))
    assert (out / "validation.html").read_text().startswith("<!DOCTYPE html>")


def test_dynamic_engine_counts_each_observation_over_its_own_period() -> None:
    from metaliverpool.observed.model import Period
    from metaliverpool.scenario.validation import validate_twin
    from small_twins import two_route_twin

    twin = two_route_twin(trips_per_hour=600)  # 600 trips A -> B departing 07:00-08:00, all by the fast road
    fast_road = LinkRef(lon=LON0 + 0.0045, lat=LAT0 + 0.0005, bearing_deg=80.0)
    hour = 3600.0
    obs = ObservationSet(
        counts=(
            LinkCount("first", fast_road, 600.0, Period(7 * hour, 8 * hour), "validation", "t"),
            LinkCount("second", fast_road, 600.0, Period(8 * hour, 9 * hour), "validation", "t"),
            LinkCount("both", fast_road, 600.0, Period(7 * hour, 9 * hour), "validation", "t"),
        )
    )
    document = validate_twin(twin, obs, "dynamic")
    rows = {r["id"]: r for r in document["groups"]["validation"]["counts"]}
    assert rows["first"]["link_ids"] == [0]  # the fast road's first link, entered on departure
    assert rows["first"]["modelled_vph"] == pytest.approx(600.0)
    assert rows["second"]["modelled_vph"] == pytest.approx(0.0)
    assert rows["both"]["modelled_vph"] == pytest.approx(300.0)
    assert document["run"]["engine"] == "dynamic"


def test_chart_ticks_are_round_and_inside() -> None:
    assert nice_ticks(9.5) == [2.0, 4.0, 6.0, 8.0]
    assert nice_ticks(4_800.0) == [1000.0, 2000.0, 3000.0, 4000.0]
    assert nice_ticks(0.0) == [] and nice_ticks(float("nan")) == []

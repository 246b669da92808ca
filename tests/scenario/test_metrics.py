"""Impact measures on small inputs with answers worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaliverpool.errors import InputError
from metaliverpool.metrics.access import car_access
from metaliverpool.metrics.emissions import link_emissions, load_emission_curves
from metaliverpool.metrics.equity import by_imd_decile
from metaliverpool.metrics.intervals import mean_interval, paired_change
from metaliverpool.metrics.journeys import compare_od, winners_losers, zone_changes
from metaliverpool.metrics.network import compare_link_flows, network_totals

T_975_2 = 4.302652729911275  # Student t, 97.5% quantile, 2 degrees of freedom (statistical tables: 4.303)


def test_interval_matches_the_t_table() -> None:
    interval = mean_interval([1.0, 2.0, 3.0])
    assert interval.mean == 2.0
    assert interval.upper - interval.mean == pytest.approx(T_975_2 / math.sqrt(3), rel=1e-9)
    single = mean_interval([5.0])
    assert (single.lower, single.upper, single.n) == (5.0, 5.0, 1)
    change = paired_change([10.0, 20.0, 30.0], [11.0, 22.0, 33.0])
    assert change.mean == 2.0
    with pytest.raises(ValueError, match="seeds must match"):
        paired_change([1.0], [1.0, 2.0])


def test_emission_curves_are_u_shaped_and_clamped() -> None:
    curves = load_emission_curves()
    speeds = np.arange(5.0, 131.0)
    for pollutant in ("co2", "nox", "pm25"):
        factor = curves.factor_g_per_km(pollutant, speeds)
        assert (factor > 0).all()
        assert 40 <= speeds[np.argmin(factor)] <= 95, "minimum at steady medium speed"
        assert factor[0] > 1.5 * factor.min(), "stop-start driving emits more per km"
        assert curves.factor_g_per_km(pollutant, [200.0])[0] == pytest.approx(
            curves.factor_g_per_km(pollutant, [130.0])[0]
        )
    assert 150 < curves.factor_g_per_km("co2", [30.0])[0] < 220


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.0, 5000.0), st.floats(1.0, 140.0)),
        min_size=1,
        max_size=30,
    )
)
def test_emission_totals_are_factor_times_vehicle_km(rows: list[tuple[float, float]]) -> None:
    curves = load_emission_curves()
    vkm = np.array([r[0] for r in rows])
    speed = np.array([r[1] for r in rows])
    grams = link_emissions(vkm, speed, curves)
    for pollutant in ("co2", "nox", "pm25"):
        expected = sum(curves.factor_g_per_km(pollutant, [s])[0] * v for v, s in rows)
        assert grams[f"{pollutant}_g"].sum() == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_fleet_shares_weight_the_curves(tmp_path: Path) -> None:
    table = tmp_path / "curves.csv"
    table.write_text(
        "# two segments with constant factors\n"
        "vehicle_class,pollutant,alpha,beta,gamma,delta,epsilon,zeta,eta,reduction,v_min_kmh,v_max_kmh,fleet_share\n"
        "car,co2,0,0,100,0,0,0,1,0,5,130,0.25\n"
        "car,co2,0,0,200,0,0,0,1,0.5,5,130,0.75\n"
        "car,nox,0,0,1,0,0,0,1,0,5,130,1\ncar,pm25,0,0,1,0,0,0,1,0,5,130,1\n"
    )
    curves = load_emission_curves(table)
    assert curves.factor_g_per_km("co2", [50.0])[0] == pytest.approx(0.25 * 100 + 0.75 * 200 * 0.5)
    bad = tmp_path / "bad.csv"
    bad.write_text(table.read_text().replace("0.75", "0.5"))
    with pytest.raises(InputError, match=r"fleet shares of car co2 sum to 0\.75"):
        load_emission_curves(bad)


def test_poly5_rows_are_fifth_degree_polynomials_and_unknown_forms_are_refused(tmp_path: Path) -> None:
    table = tmp_path / "curves.csv"
    header = (
        "vehicle_class,pollutant,equation,alpha,beta,gamma,delta,epsilon,zeta,eta,reduction,"
        "v_min_kmh,v_max_kmh,fleet_share\n"
    )
    table.write_text(
        header + "car,co2,poly5,1e-8,0,0,0,2,3,0,0,10,130,1\n"
        "car,nox,copert5,0,0,1,0,0,0,1,0,5,130,1\ncar,pm25,copert5,0,0,1,0,0,0,1,0,5,130,1\n"
    )
    curves = load_emission_curves(table)
    assert curves.factor_g_per_km("co2", [20.0])[0] == pytest.approx(1e-8 * 20.0**5 + 2 * 20.0 + 3)
    assert curves.factor_g_per_km("co2", [5.0])[0] == pytest.approx(1e-8 * 10.0**5 + 2 * 10.0 + 3)  # clamped
    bad = tmp_path / "bad.csv"
    bad.write_text(table.read_text().replace("poly5", "poly7"))
    with pytest.raises(InputError, match=r"unknown equation \['poly7'\]"):
        load_emission_curves(bad)


def loads(**columns: list[float]) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    frame.insert(0, "link_id", range(len(frame)))
    frame["base_link_id"] = frame["link_id"]
    frame["to_node_id"] = frame["link_id"]
    return frame


def test_network_totals_by_hand() -> None:
    frame = loads(
        length_m=[1000.0, 500.0],
        free_time_s=[60.0, 30.0],
        flow_veh=[100.0, 10.0],
        time_s=[90.0, 30.0],
        queue_veh=[2.0, 1.0],
    )
    totals = network_totals(frame)
    assert totals["vehicle_km"] == pytest.approx(100 + 5)
    assert totals["vehicle_hours"] == pytest.approx((100 * 90 + 10 * 30) / 3600)
    assert totals["delay_hours"] == pytest.approx(100 * 30 / 3600)
    assert totals["mean_speed_kmh"] == pytest.approx(105 / ((9000 + 300) / 3600))
    assert totals["queue_veh_at_junctions"] == 3.0


def test_rat_running_flag_follows_the_documented_rule() -> None:
    base = pd.DataFrame(
        {
            "base_link_id": [0, 1, 2, 3],
            "flow_veh": [300.0, 300.0, 300.0, 30.0],
            "highway": ["residential", "residential", "primary", "residential"],
        }
    )
    scen = base.assign(flow_veh=[420.0, 330.0, 900.0, 60.0])
    out = compare_link_flows(base, scen, period_h=3.0).set_index("base_link_id")
    # +40 veh/h (+40%) is under 50 veh/h; +10/h is too small; a primary road is not a residential street
    assert not out["rat_run"].any()
    scen = base.assign(flow_veh=[600.0, 330.0, 900.0, 300.0])
    out = compare_link_flows(base, scen, period_h=3.0).set_index("base_link_id")
    assert out["rat_run"].tolist() == [True, False, False, True]
    assert out.loc[0, "change_vph"] == pytest.approx(100.0)


def test_journeys_and_winners_by_hand() -> None:
    base = pd.DataFrame(
        {
            "origin_zone_id": [0, 0, 1, 1],
            "destination_zone_id": [1, 1, 0, 0],
            "travel_time_s": [600, 700, 300, 300.0],
        }
    )
    scen = base.assign(travel_time_s=[400, 500, 420, np.nan])
    od = compare_od(base, scen).set_index(["origin_zone_id", "destination_zone_id"])
    assert od.loc[(0, 1), "change_s"] == -200 and od.loc[(1, 0), "change_s"] == 120
    result = winners_losers(od.reset_index())
    assert result["trips_winning"] == 2 and result["trips_losing"] == 2
    zones = zone_changes(od.reset_index()).set_index("zone_id")
    assert zones.loc[0, "change_s"] == -200


def test_equity_is_population_weighted() -> None:
    zones = pd.DataFrame({"zone_id": [0, 1, 2], "population": [1000, 3000, 500], "imd_decile": [1, 1, 10]})
    values = pd.DataFrame({"zone_id": [0, 1, 2], "v": [10.0, 2.0, 7.0]})
    table = by_imd_decile(values, zones, "v").set_index("imd_decile")
    assert table.loc[1, "value"] == pytest.approx((1000 * 10 + 3000 * 2) / 4000)
    assert table.loc[10, "value"] == 7.0
    assert math.isnan(table.loc[5, "value"]) and table.loc[5, "population"] == 0


def test_car_access_by_hand() -> None:
    # 0 -> 1 (120 s) -> 2 (600 s); 2 -> 0 (60 s). GP at node 1, school at 2, hospital nowhere.
    zones = pd.DataFrame({"zone_id": [7], "node_id": [0]})
    services = pd.DataFrame({"kind": ["gp", "school", "school"], "node_id": [1, 2, 1]})
    table = car_access(3, [0, 1, 2, 0], [1, 2, 0, 1], [120.0, 600.0, 60.0, 300.0], zones, services).iloc[0]
    assert table["gp_nearest_min"] == pytest.approx(2.0), "the faster of two parallel links"
    assert table["school_nearest_min"] == pytest.approx(2.0)
    assert table["school_within_15min"] == 2 and table["school_within_30min"] == 2
    assert math.isnan(table["hospital_nearest_min"]) and table["hospital_within_30min"] == 0

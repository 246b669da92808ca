"""Access as DfT's Journey Time Statistics define it: ``metrics.jts``, ``ingest.jts`` and the command.

Known answers on a straight road (JTS speeds: walk 4.8 km/h, cycle 16 km/h, car legs to and from the car
walked at 4.8 km/h), the nearest-destination property, the JTS CSV reader and comparison on a fixture in
DfT's layout, and the command on the central twin.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_capture import run_cli
from metaliverpool.errors import InputError
from metaliverpool.ingest.jts import read_jts_tables
from metaliverpool.ingest.zones import read_oa_points
from metaliverpool.metrics.jts import (
    car_network,
    compare_with_jts,
    cycle_network,
    jts_access_table,
    jts_destinations,
    jts_differences,
    lsoa_origins,
    nearest_time_s,
    origin_points,
    walk_network,
)
from metaliverpool.network.twin import Twin, empty_table
from metaliverpool.scenario.access_map import NO_VALUE_COLOUR, SCALE_MAX_MIN, minutes_colour
from metaliverpool.store.bundle import read_twin
from small_twins import LAT0, LON0, grid_twin, make_twin, two_way

EARTH_RADIUS_M = 6_371_008.8
OFFSET_M = EARTH_RADIUS_M * math.radians(0.001)
"""The origin stands 0.001 degree of latitude north of the road: 111.195 m."""
WALK_MPS = 4.8 / 3.6
CYCLE_MPS = 16.0 / 3.6
CAR_MPS = 30.0 * 0.44704


def _straight_road() -> Twin:
    """Four nodes 0.005 degree of longitude apart (about 331 m) on one two-way residential street; one
    LSOA whose point stands 111.195 m north of node 0; a GP at node 3, an OSM hospital at node 1."""
    points = [(LON0 + 0.005 * k, LAT0) for k in range(4)]
    links = [spec for k in range(3) for spec in two_way(k, k + 1, 100 + k)]
    twin = make_twin(points, links, [("E01000001", 0, 1500, 5)])
    twin.zones = twin.zones.assign(anchor_lon=LON0, anchor_lat=LAT0 + 0.001)
    twin.services = pd.DataFrame(
        {
            "kind": ["gp", "hospital"],
            "source": ["nhs_choices_gp", "osm_amenities_2021"],
            "source_id": ["N1", "way/1"],
            "lon": [points[3][0], points[1][0]],
            "lat": [LAT0, LAT0],
        }
    )
    twin.active_nodes = empty_table("active_nodes")
    twin.active_links = empty_table("active_links")
    return twin


def test_straight_road_known_answers() -> None:
    twin = _straight_road()
    road_m = float(twin.links["length_m"].iloc[[0, 2, 4]].sum())  # node 0 -> 3, one direction
    networks = {
        "car": car_network(twin.nodes, twin.links, twin.links["length_m"].to_numpy() / CAR_MPS),
        "cycle": cycle_network(twin.nodes, twin.links, twin.active_nodes, twin.active_links),
        "walk": walk_network(twin.nodes, twin.links, twin.active_nodes, twin.active_links),
    }
    destinations = jts_destinations(twin.services)
    assert list(destinations) == ["GP"], "an OSM hospital is not a JTS hospital"
    table = jts_access_table(
        lsoa_origins(twin.zones), destinations, networks, study_bbox=(-3.5, 53.0, -2.5, 54.0)
    )
    row = table.iloc[0]
    assert row["LSOA_code"] == "E01000001"
    assert row["GPWalkt"] == pytest.approx((OFFSET_M + road_m) / WALK_MPS / 60.0, rel=1e-9)
    assert row["GPCyct"] == pytest.approx((OFFSET_M + road_m) / CYCLE_MPS / 60.0, rel=1e-9)
    # Car: walk 111.195 m to the car at node 0, drive 0 -> 3 at 30 mph, the GP is at the kerb.
    assert row["GPCart"] == pytest.approx((OFFSET_M / WALK_MPS + road_m / CAR_MPS) / 60.0, rel=1e-9)
    assert row["edge_services"] == "", "the study area is far bigger than the road"
    narrow = jts_access_table(
        lsoa_origins(twin.zones), destinations, networks, study_bbox=(LON0 - 0.001, 53.0, -2.5, 54.0)
    )
    assert narrow.loc[0, "edge_services"] == "GP", "the west edge (66 m) is nearer than the GP (1 km)"


def test_output_area_origins_are_averaged_per_lsoa() -> None:
    twin = _straight_road()
    walk = {"walk": walk_network(twin.nodes, twin.links, twin.active_nodes, twin.active_links)}
    road_m = float(twin.links["length_m"].iloc[[0, 2, 4]].sum())
    areas = pd.DataFrame(
        {
            "lsoa_code": ["E01000001", "E01000001", "E01999999"],
            "lon": [LON0, LON0 + 0.015, LON0],
            "lat": [LAT0 + 0.001, LAT0, LAT0],
        }
    )
    origins = lsoa_origins(twin.zones, areas)
    assert origins["LSOA_code"].tolist() == ["E01000001", "E01000001"], "OAs of other LSOAs are dropped"
    table = jts_access_table(origins, jts_destinations(twin.services), walk)
    # One OA 111.195 m off node 0 (then the whole road), the other at the GP's door (0 minutes).
    expected = 0.5 * ((OFFSET_M + road_m) / WALK_MPS / 60.0 + 0.0)
    assert table["GPWalkt"].tolist() == pytest.approx([expected], rel=1e-9)
    assert lsoa_origins(twin.zones, areas.iloc[2:]).shape[0] == 1, "an LSOA without OAs keeps its point"


def test_output_areas_of_the_data_folder(liverpool_data: Path) -> None:
    areas = read_oa_points(liverpool_data)
    assert len(areas) == 5091 and areas["oa_code"].is_unique  # SOURCES.md: 5,091 OAs
    assert areas.groupby("lsoa_code").size().between(1, 40).all()
    assert areas["lon"].between(-3.3, -2.5).all() and areas["lat"].between(53.2, 53.8).all()


def test_origin_is_the_anchor_or_a_point_on_the_zone() -> None:
    twin = _straight_road()
    lon, lat = origin_points(twin.zones)
    assert (lon[0], lat[0]) == (LON0, LAT0 + 0.001)
    lon, lat = origin_points(twin.zones.drop(columns=["anchor_lon", "anchor_lat"]))
    assert twin.zones["geometry"].iloc[0].contains(shapely.Point(lon[0], lat[0]))


def test_one_way_street_is_one_way_by_cycle_not_on_foot() -> None:
    twin = _straight_road()
    links = twin.links
    twin.links = links[~((links["from_node_id"] == 1) & (links["to_node_id"] == 2))].reset_index(drop=True)
    cycle = cycle_network(twin.nodes, twin.links, twin.active_nodes, twin.active_links)
    walk = walk_network(twin.nodes, twin.links, twin.active_nodes, twin.active_links)
    origin = ([LON0], [LAT0 + 0.001])
    gp = ([LON0 + 0.015], [LAT0])
    assert np.isfinite(nearest_time_s(walk, *origin, *gp)[0]), "pedestrians walk both ways"
    assert nearest_time_s(cycle, *origin, *gp)[0] == np.inf, "no way east from node 1 by cycle"
    back = nearest_time_s(cycle, *gp, *origin)[0]
    assert np.isfinite(back), "westwards the one-way street is open"


def test_schools_split_by_phase() -> None:
    services = pd.DataFrame(
        {
            "kind": ["school", "school", "school", "school", "school"],
            "source": ["gias_schools"] * 4 + ["osm_amenities_2021"],
            "source_id": ["1", "2", "3", "4", "node/5"],
            "lon": [0.0, 1.0, 2.0, 3.0, 4.0],
            "lat": [0.0] * 5,
        }
    )
    phases = {"1": "primary", "2": "secondary", "3": "all-through", "4": "sixth-form", "5": "primary"}
    places = jts_destinations(services, phases)
    assert places["PS"]["lon"].tolist() == [0.0, 2.0]
    assert places["SS"]["lon"].tolist() == [1.0, 2.0]
    assert "PS" not in jts_destinations(services), "no phases, no primary/secondary split"


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0.0, 0.008), st.floats(0.0, 0.008)), min_size=1, max_size=5),
    st.tuples(st.floats(0.0, 0.008), st.floats(0.0, 0.008)),
)
def test_adding_a_destination_never_increases_a_time(
    offsets: list[tuple[float, float]], extra: tuple[float, float]
) -> None:
    network = _GRID_WALK
    origin_lon = LON0 + np.array([0.0, 0.003, 0.0071])
    origin_lat = LAT0 + np.array([0.0, 0.0052, 0.0011])
    lon = LON0 + np.array([o[0] for o in offsets])
    lat = LAT0 + np.array([o[1] for o in offsets])
    before = nearest_time_s(network, origin_lon, origin_lat, lon, lat)
    after = nearest_time_s(
        network, origin_lon, origin_lat, np.append(lon, LON0 + extra[0]), np.append(lat, LAT0 + extra[1])
    )
    assert np.all(after <= before + 1e-9)
    assert np.all(np.isfinite(after))


_GRID = grid_twin()
_GRID_WALK = walk_network(_GRID.nodes, _GRID.links, empty_table("active_nodes"), empty_table("active_links"))

JTS_FIXTURE = """Table JTS0505: Travel time to GPs by mode of travel, LSOA: England 2019,,,,,,,
Source: fixture in DfT's layout,,,,,,,
,,,,,,,
LSOA_code,Region,LA_Code,LA_Name,GPPTt,GPCyct,GPCart,GPWalkt
E01000001,North West,E08000012,Liverpool,9.1,5.0,4.0,12.0
E01000002,North West,E08000012,Liverpool,8.0,6.0,..,15.0
E01000003,North West,E08000012,Liverpool,7.0,7.0,6.0,18.0
"""


def test_jts_csv_and_comparison(tmp_path: Path) -> None:
    path = tmp_path / "jts0505_2019.csv"
    path.write_text(JTS_FIXTURE, encoding="utf-8")
    published = read_jts_tables([path])
    assert list(published.columns) == ["LSOA_code", "GPPTt", "GPCyct", "GPCart", "GPWalkt"]
    assert math.isnan(published.loc[1, "GPCart"]), "'..' is a value JTS does not publish"
    ours = pd.DataFrame(
        {
            "LSOA_code": ["E01000001", "E01000002", "E01000003", "E01000009"],
            "GPCart": [3.0, 2.0, 8.0, 1.0],
            "GPWalkt": [12.0, 14.0, 20.0, 1.0],
            "GPCyct": [np.nan, 6.0, 7.5, 1.0],
        }
    )
    ours["edge_services"] = ["", "GP", "", ""]
    rows = compare_with_jts(ours, published).set_index("column")
    # GPCart: pairs (3, 4) and (8, 6); GPWalkt: (12, 12), (14, 15), (20, 18); GPCyct: (6, 6), (7.5, 7).
    assert rows.loc["GPCart", "lsoas"] == 2
    assert rows.loc["GPCart", "twin_median_min"] == pytest.approx(5.5)
    assert rows.loc["GPCart", "jts_median_min"] == pytest.approx(5.0)
    assert rows.loc["GPCart", "median_abs_diff_min"] == pytest.approx(1.5)
    assert rows.loc["GPWalkt", "median_abs_diff_min"] == pytest.approx(1.0)
    assert rows.loc["GPCyct", "lsoas"] == 2 and rows.loc["GPCyct", "median_abs_diff_min"] == pytest.approx(
        0.25
    )
    # signed differences, twin minus JTS: GPCart -1 and +2; GPWalkt 0, -1 (flagged) and +2
    assert (rows.loc["GPCart", "service"], rows.loc["GPCart", "mode"]) == ("GP", "car")
    assert rows.loc["GPCart", "median_diff_min"] == pytest.approx(0.5)
    assert rows.loc["GPWalkt", "mean_diff_min"] == pytest.approx(1.0 / 3.0)
    assert rows.loc["GPWalkt", "edge_lsoas"] == 1, "E01000002 is flagged for GP"
    assert rows.loc["GPWalkt", "median_abs_diff_unflagged_min"] == pytest.approx(1.0), "|0| and |+2|"
    pairs = jts_differences(ours, published)
    assert len(pairs) == 2 + 3 + 2 and "E01000009" not in set(pairs["LSOA_code"]), "not in JTS"
    flagged = pairs[pairs["edge"]]
    assert set(flagged["LSOA_code"]) == {"E01000002"} and set(flagged["service"]) == {"GP"}


def test_bad_jts_file_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(JTS_FIXTURE.replace("7.0,6.0,18.0", "7.0,six,18.0"), encoding="utf-8")
    with pytest.raises(InputError, match=r"line 7, field GPCart"):
        read_jts_tables([path])
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="LSOA_code"):
        read_jts_tables([path])


def test_access_command_on_the_central_twin(
    liverpool_centre_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "access.csv"
    jts = tmp_path / "jts.csv"
    twin = read_twin(liverpool_centre_bundle, tables=("zones",))
    codes = twin.zones.loc[twin.zones["kind"] == "lsoa", "zone_code"].astype(str)
    jts.write_text(
        "LSOA_code,GPCart,GPCyct,GPWalkt\n" + "".join(f"{code},5.0,8.0,20.0\n" for code in codes),
        encoding="utf-8",
    )
    page = tmp_path / "access.html"
    argv = ["access", "--twin", str(liverpool_centre_bundle), "--out", str(out), "--compare", str(jts)]
    code, stdout, _ = run_cli([*argv, "--map", str(page)], capsys)
    assert code == 0
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    services = ["PS", "SS", "GP", "Hosp"]
    expected = (
        ["LSOA_code"] + [f"{s}{m}" for s in services for m in ("Cart", "Cyct", "Walkt")] + ["edge_services"]
    )
    assert list(table.columns) == expected
    assert sorted(table["LSOA_code"]) == sorted(codes) and table["LSOA_code"].is_unique
    liverpool = table["LSOA_code"].isin(twin.zones.loc[twin.zones["lad_code"] == "E08000012", "zone_code"])
    car = table.loc[liverpool, [f"{s}Cart" for s in services]].to_numpy()
    assert liverpool.sum() >= 30 and np.isfinite(car).all() and (car > 0).all(), "Liverpool side: all by car"
    for service in services:
        for mode in ("Cart", "Cyct", "Walkt"):
            missing = table[f"{service}{mode}"].isna()
            flagged = (
                table["edge_services"].fillna("").str.split(";").apply(lambda codes, s=service: s in codes)
            )
            assert (flagged | ~missing).all(), f"an LSOA without {service}{mode} is flagged"
    walk, cycle = table["GPWalkt"].to_numpy(), table["GPCyct"].to_numpy()
    both = np.isfinite(walk) & np.isfinite(cycle)
    assert both.sum() >= len(table) // 2
    assert np.median(walk[both]) > np.median(cycle[both]), "on foot is slower than by cycle"
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["lsoas"] == len(table) and summary["services_left_out"] == ["Food", "Town"]
    html_text = page.read_text(encoding="utf-8")
    assert html_text.count("<svg class='map'") == 12 and html_text.count("<path class='lsoa'") == 12 * len(
        table
    )
    assert "GPWalkt: GP on foot" in html_text and "none reachable" in html_text
    gp_car = next(row for row in summary["comparison"] if row["column"] == "GPCart")
    assert gp_car["lsoas"] == table["GPCart"].notna().sum() and gp_car["jts_median_min"] == 5.0
    report = tmp_path / "access-vs-jts"
    document = json.loads((report / "comparison.json").read_text(encoding="utf-8"))
    assert [row["column"] for row in document["columns"]] == ["GPCart", "GPCyct", "GPWalkt"]
    assert len(document["lsoas"]) == sum(row["lsoas"] for row in document["columns"])
    differences = pd.read_csv(report / "differences.csv")
    car = differences[differences["column"] == "GPCart"].set_index("LSOA_code")
    assert car["difference_min"].to_numpy() == pytest.approx(
        table.set_index("LSOA_code").loc[car.index, "GPCart"].to_numpy() - 5.0, abs=0.01
    )
    assert (report / "comparison.html").read_text(encoding="utf-8").count("<svg class='chart'") == 3


def test_access_command_bad_input(
    liverpool_centre_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        ["access", "--twin", str(tmp_path / "nope"), "--out", str(tmp_path / "a.csv")], capsys
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and "nope" in err
    code, _, err = run_cli(["access", "--twin", "x", "--out", "y.csv", "--origins", "msoa"], capsys)
    assert code == 2 and "--origins" in err and len(err.strip().splitlines()) == 1
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker / "a.csv"
    code, _, err = run_cli(["access", "--twin", str(liverpool_centre_bundle), "--out", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.strip().startswith("error:") and "file.txt" in err


def test_minutes_colour_scale() -> None:
    assert minutes_colour(0.0) == "rgb(255,247,188)"
    assert minutes_colour(SCALE_MAX_MIN) == minutes_colour(95.0) == "rgb(8,48,107)", "long times saturate"
    assert minutes_colour(float("nan")) == NO_VALUE_COLOUR

"""Observation files read into known values, and every kind of bad file refused on one line with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metaliverpool.cli.main import main
from metaliverpool.demand.profile import HOURLY_SHARES
from metaliverpool.errors import InputError
from metaliverpool.ingest.dft_counts import AADF_TO_AM_PEAK_HOURLY, aadf_hourly_factor, read_dft_aadf
from metaliverpool.ingest.observations import file_kind, observed_files, read_observations
from metaliverpool.observed.model import MORNING_PEAK, LinkRef, Period

# The published headers (roadtraffic.dft.gov.uk downloads, aadfbydirection and rawcount files).
AADF_HEADER = (
    "count_point_id,year,region_id,region_name,local_authority_id,local_authority_name,road_name,road_type,"
    "start_junction_road_name,end_junction_road_name,easting,northing,latitude,longitude,link_length_km,"
    "link_length_miles,estimation_method,estimation_method_detailed,direction_of_travel,pedal_cycles,"
    "two_wheeled_motor_vehicles,cars_and_taxis,buses_and_coaches,lgvs,hgvs_2_rigid_axle,hgvs_3_rigid_axle,"
    "hgvs_4_or_more_rigid_axle,hgvs_3_or_4_articulated_axle,hgvs_5_articulated_axle,hgvs_6_articulated_axle,"
    "all_hgvs,all_motor_vehicles"
)
RAW_HEADER = (
    "count_point_id,direction_of_travel,year,count_date,hour,region_id,region_name,local_authority_id,"
    "local_authority_name,road_name,road_type,start_junction_road_name,end_junction_road_name,easting,"
    "northing,latitude,longitude,link_length_km,link_length_miles,pedal_cycles,two_wheeled_motor_vehicles,"
    "cars_and_taxis,buses_and_coaches,lgvs,hgvs_2_rigid_axle,hgvs_3_rigid_axle,hgvs_4_or_more_rigid_axle,"
    "hgvs_3_or_4_articulated_axle,hgvs_5_articulated_axle,hgvs_6_articulated_axle,all_hgvs,all_motor_vehicles"
)


def aadf_row(point: int, year: int, direction: str, flow: int) -> str:
    return (
        f"{point},{year},2,North West,161,Liverpool,A59,Major,A565,A5038,334000,391000,53.41,-2.98,0.5,0.31,"
        f"Counted,Manual count,{direction},5,10,800,20,150,10,2,1,1,2,3,19,{flow}"
    )


def raw_row(point: int, direction: str, date: str, hour: int, flow: int) -> str:
    return (
        f"{point},{direction},2019,{date},{hour},2,North West,161,Liverpool,Duke Street,Minor,,,"
        "334500,390000,"
        f"53.40,-2.975,0.4,0.25,3,4,{flow - 20},5,10,1,0,0,0,0,0,1,{flow}"
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_dft_aadf_by_direction_latest_year_factored_to_the_morning_peak(tmp_path: Path) -> None:
    rows = [
        aadf_row(7001, 2018, "N", 9000),
        aadf_row(7001, 2019, "N", 10000),
        aadf_row(7001, 2019, "S", 8000),
    ]
    rows.append(aadf_row(7002, 2019, "C", 6000))
    path = write(tmp_path / "dft_aadfbydirection_local_authority_id_161.csv", "\n".join([AADF_HEADER, *rows]))
    assert file_kind(path) == "dft_aadf"
    obs = read_observations([path])
    by_id = {c.site_id: c for c in obs.counts}
    assert set(by_id) == {"dft-7001-N", "dft-7001-S"}
    assert by_id["dft-7001-N"].flow_vph == pytest.approx(10000 * AADF_TO_AM_PEAK_HOURLY)
    assert pytest.approx(1.05 * 0.19 / 3) == AADF_TO_AM_PEAK_HOURLY
    assert by_id["dft-7001-N"].where == LinkRef(lon=-2.98, lat=53.41, bearing_deg=0.0)
    assert by_id["dft-7001-S"].where.bearing_deg == 180.0
    assert by_id["dft-7001-N"].period == MORNING_PEAK and by_id["dft-7001-N"].use == "calibration"
    assert by_id["dft-7001-N"].source.endswith(":3")  # line 3 of the file
    (combined,) = obs.screenlines
    assert combined.screenline_id == "dft-7002-C" and combined.flow_vph == pytest.approx(
        6000 * AADF_TO_AM_PEAK_HOURLY
    )
    assert combined.crossings == (LinkRef(lon=-2.98, lat=53.41, both_directions=True),)
    older = read_observations([path], year=2018)
    assert [c.flow_vph for c in older.counts] == [pytest.approx(9000 * AADF_TO_AM_PEAK_HOURLY)]
    assert not older.screenlines
    # the peak hour: TRA0307's 08:00-09:00 share of the three hours (demand.profile.HOURLY_SHARES)
    peak = read_dft_aadf(path, period=Period(8 * 3600.0, 9 * 3600.0))
    assert peak[0].flow_vph == pytest.approx(10000 * 1.05 * 0.19 * HOURLY_SHARES[1])
    assert aadf_hourly_factor(Period(7 * 3600.0, 9 * 3600.0)) == pytest.approx(
        1.05 * 0.19 * (HOURLY_SHARES[0] + HOURLY_SHARES[1]) / 2
    )
    with pytest.raises(InputError, match="whole hours inside 07:00-10:00"):
        read_dft_aadf(path, period=Period(16 * 3600.0, 19 * 3600.0))


def test_dft_raw_counts_give_the_mean_of_the_counted_hours_in_the_period(tmp_path: Path) -> None:
    rows = [
        raw_row(8001, "E", "2019-06-12 00:00:00", 7, 400),
        raw_row(8001, "E", "2019-06-12 00:00:00", 8, 600),
        raw_row(8001, "E", "2019-06-12 00:00:00", 9, 500),
        raw_row(8001, "E", "2019-06-12 00:00:00", 10, 9999),  # outside 07:00-10:00
        raw_row(8001, "W", "2019-06-12 00:00:00", 7, 300),
        raw_row(8001, "W", "2019-06-12 00:00:00", 8, 350),
    ]
    path = write(tmp_path / "dft_rawcount_local_authority_id_161.csv", "\n".join([RAW_HEADER, *rows]))
    assert file_kind(path) == "dft_rawcount"
    obs = read_observations([path])
    flows = {c.site_id: c.flow_vph for c in obs.counts}
    assert flows == {"dft-8001-E": pytest.approx(500.0), "dft-8001-W": pytest.approx(325.0)}
    east = next(c for c in obs.counts if c.site_id == "dft-8001-E")
    assert east.where.bearing_deg == 90.0 and "Duke Street" in east.name


def test_user_formats_read_known_values(tmp_path: Path) -> None:
    counts = write(
        tmp_path / "counts.csv",
        "site_id,osm_way_id,direction,flow_vph,period,use,name\n"
        "q1,4259870,forward,1234.5,07:00-10:00,calibration,Queensway\n"
        "q2,4259870,backward,800,08:00-09:00,validation,\n",
    )
    points = write(
        tmp_path / "points.csv",
        "site_id,lon,lat,bearing_deg,flow_vph,period,use\np1,-2.99,53.405,270,600,07:30-09:30,validation\n",
    )
    screen = write(
        tmp_path / "screen.csv",
        "screenline_id,name,flow_vph,period,use,osm_way_id,direction,lon,lat,bearing_deg\n"
        "river,Mersey,5000,07:00-10:00,calibration,4259870,forward,,,\n"
        "river,Mersey,5000,07:00-10:00,calibration,,,-3.0,53.40,225\n",
    )
    areas = write(
        tmp_path / "areas.csv",
        "area_id,name,lon,lat,radius_m,speed_kmh,period,use,condition\ncentre,City centre,-2.98,53.405,1500,"
        "23.8,07:00-10:00,validation,\n"
        "free,Free flow,-2.98,53.405,1500,30.7,07:00-10:00,calibration,free_flow\n",
    )
    route = {
        "route_id": "r1",
        "name": "Strand",
        "time_s": 420,
        "period": "07:00-10:00",
        "use": "validation",
    }
    routes = write(
        tmp_path / "routes.geojson",
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": [[-2.99, 53.40], [-2.98, 53.41]]},
                        "properties": route,
                    }
                ],
            }
        ),
    )
    obs = read_observations([counts, points, screen, areas, routes])
    q1, q2, p1 = obs.counts
    assert q1.where == LinkRef(osm_way_id=4259870, direction="forward") and q1.flow_vph == 1234.5
    assert q1.name == "Queensway" and q1.use == "calibration" and q1.source == "counts.csv:2"
    assert q2.period == Period(8 * 3600.0, 9 * 3600.0) and q2.where.direction == "backward"
    assert p1.where == LinkRef(lon=-2.99, lat=53.405, bearing_deg=270.0)
    assert p1.period == Period(7.5 * 3600.0, 9.5 * 3600.0)
    (river,) = obs.screenlines
    assert river.flow_vph == 5000 and len(river.crossings) == 2
    assert river.crossings[1] == LinkRef(lon=-3.0, lat=53.40, bearing_deg=225.0)
    centre, free = obs.area_speeds
    assert centre.speed_mps == pytest.approx(23.8 / 3.6) and centre.radius_m == 1500
    assert not centre.free_flow and free.free_flow and free.use == "calibration"  # condition, default period
    (strand,) = obs.routes
    assert strand.points == ((-2.99, 53.40), (-2.98, 53.41)) and strand.time_s == 420
    assert obs.sources == tuple(str(p) for p in (counts, points, screen, areas, routes))


COUNTS_HEADER = "site_id,lon,lat,bearing_deg,flow_vph,period,use\n"
BAD_FILES = {
    "unknown column": (
        "counts.csv",
        "site_id,lon,lat,bearing_deg,flow_vph,period,use,colour\na,-2.99,53.4,0,100,07:00-10:00,validation,red\n",
        ("line 1", "'colour'"),
    ),
    "bad number": (
        "counts.csv",
        COUNTS_HEADER + "a,-2.99,53.4,0,lots,07:00-10:00,validation\n",
        ("line 2", "'flow_vph'", "'lots'"),
    ),
    "negative flow": (
        "counts.csv",
        COUNTS_HEADER
        + "a,-2.99,53.4,0,100,07:00-10:00,validation\nb,-2.99,53.4,0,-5,07:00-10:00,validation\n",
        ("line 3", "'flow_vph'", ">= 0"),
    ),
    "bad period": (
        "counts.csv",
        COUNTS_HEADER + "a,-2.99,53.4,0,100,10:00-07:00,validation\n",
        ("line 2", "'period'", "HH:MM-HH:MM"),
    ),
    "unknown way direction": (
        "counts.csv",
        "site_id,osm_way_id,direction,flow_vph,period,use\na,5,north,100,07:00-10:00,validation\n",
        ("line 2", "'direction'", "'north'"),
    ),
    "unknown DfT direction": (
        "dft_aadfbydirection_local_authority_id_161.csv",
        AADF_HEADER + "\n" + aadf_row(1, 2019, "X", 100) + "\n",
        ("line 2", "'direction_of_travel'", "N, S, E, W or C"),
    ),
    "unknown use": (
        "counts.csv",
        COUNTS_HEADER + "a,-2.99,53.4,0,100,07:00-10:00,both\n",
        ("line 2", "'use'", "calibration, validation"),
    ),
    "unknown area speed condition": (
        "areas.csv",
        "area_id,name,lon,lat,radius_m,speed_kmh,period,use,condition\n"
        "c,C,-2.98,53.405,1500,30,07:00-10:00,calibration,night\n",
        ("line 2", "'condition'", "period or free_flow", "'night'"),
    ),
    "empty file": ("counts.csv", "", ("line 1", "empty file")),
    "header only": ("counts.csv", COUNTS_HEADER, ("line 2", "no data rows")),
    "unknown format": ("mystery.csv", "a,b\n1,2\n", ("line 1", "unknown observation file")),
    "route with one point": (
        "routes.geojson",
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": [[-2.99, 53.40]]},
                        "properties": {
                            "route_id": "r",
                            "time_s": 60,
                            "period": "07:00-10:00",
                            "use": "validation",
                        },
                    }
                ],
            }
        ),
        ("feature 1, geometry", "at least 2 points"),
    ),
    "screenline total differs between its rows": (
        "screen.csv",
        "screenline_id,name,flow_vph,period,use,lon,lat,bearing_deg\n"
        "s,S,100,07:00-10:00,validation,-2.99,53.4,0\ns,S,200,07:00-10:00,validation,-2.98,53.4,0\n",
        ("line 3", "different"),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_refused_naming_file_line_and_field(case: str, tmp_path: Path) -> None:
    name, content, expected = BAD_FILES[case]
    path = write(tmp_path / name, content)
    with pytest.raises(InputError) as error:
        read_observations([path])
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message
    for part in expected:
        assert part in message


@pytest.mark.parametrize("case", ["bad number", "route with one point", "empty file"])
def test_validate_cli_refuses_a_bad_file_on_one_line_and_writes_nothing(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, content, expected = BAD_FILES[case]
    path = write(tmp_path / name, content)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["validate", "--twin", str(tmp_path / "no-twin"), "--observations", str(path), "--out", str(out)]
        )
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2
    assert len(err.splitlines()) == 1 and str(path) in err and expected[0] in err
    assert not out.exists()


def test_observed_folder_listing_says_what_each_file_is(tmp_path: Path) -> None:
    folder = tmp_path / "observed"
    folder.mkdir()
    write(folder / "README.md", "# notes\n")
    write(folder / "lcr_observed_facts.csv", "fact_id,what\n")
    write(folder / "my_counts.csv", COUNTS_HEADER + "a,-2.99,53.4,0,100,07:00-10:00,validation\n")
    write(folder / "other.csv", "x,y\n1,2\n")
    listing = {entry["path"]: entry["what"] for entry in observed_files(tmp_path)}
    assert listing["observed/README.md"] == "notes"
    assert listing["observed/lcr_observed_facts.csv"].startswith("Published headline figures")
    assert listing["observed/my_counts.csv"] == "link counts"
    assert listing["observed/other.csv"].startswith("not an observation file")


def test_validate_cli_refuses_an_unknown_engine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "counts.csv", COUNTS_HEADER + "a,-2.99,53.4,0,100,07:00-10:00,validation\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--twin", str(tmp_path), "--observations", str(path), "--engine", "warp"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and "--engine" in err and "'warp'" in err

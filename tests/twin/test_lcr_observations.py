"""The Liverpool observations: morning-peak tunnel targets and the TomTom morning speed, their arithmetic,
their bad input, and that their points lie on the tunnels of the real central twin."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import shapely

from metaliverpool.demand.model import NtsTripRate
from metaliverpool.demand.profile import AM_PEAK_SHARE_OF_WEEKDAY as AM_PEAK_SHARE_OF_DAY
from metaliverpool.errors import InputError
from metaliverpool.ingest.lcr_observations import (
    COMMUTING_FILE,
    FACTS_FILE,
    KINGSWAY_SHARE_OF_TUNNELS,
    MERSEYFLOW_QUARTER_DAYS,
    MERSEYFLOW_QUARTER_VEHICLES,
    TUNNEL_BORES,
    lcr_observations,
    tunnel_flows_vph,
)
from metaliverpool.network.geodesy import local_xy_m
from metaliverpool.store.bundle import read_twin

FACTS_HEADER = "fact_id,what,value,unit,period,area,source,notes\n"


def _write_data(root: Path, annual: str = "3650000", weekday: float | None = None) -> Path:
    """A tiny data folder: the facts the reader needs and two commuting flows (300 in, 100 out)."""
    weekday = MERSEYFLOW_QUARTER_VEHICLES / MERSEYFLOW_QUARTER_DAYS if weekday is None else weekday
    (root / FACTS_FILE).parent.mkdir(parents=True)
    (root / FACTS_FILE).write_text(
        FACTS_HEADER
        + f"mersey_tunnels_annual_vehicles,t,{annual},vehicles per year,p,a,s,n\n"
        + f"mersey_gateway_sjb_weekday_vehicles,b,{weekday},vehicles per weekday,p,a,s,n\n"
        + "tomtom_liverpool_centre_speed_2024,c,15,mph,p,a,s,n\n",
        encoding="utf-8",
    )
    (root / COMMUTING_FILE).parent.mkdir(parents=True)
    (root / COMMUTING_FILE).write_text(
        "origin_code,origin_name,dest_code,dest_name,count\n"
        "E08000015,Wirral,E08000012,Liverpool,300\n"
        "E08000012,Liverpool,E08000015,Wirral,100\n",
        encoding="utf-8",
    )
    return root


def test_known_answer_on_hand_made_figures(tmp_path: Path) -> None:
    # 3.65 M a year = 10,000 a day; weekday factor 1 (weekday figure = the quarter's daily mean);
    # 07:00-10:00 share 0.19 over 3 h; commuting 300/400 = 0.75 towards Liverpool, half the traffic,
    # so 0.5 * 0.75 + 0.5 * 0.5 = 0.625.
    data = _write_data(tmp_path)
    flows, _ = tunnel_flows_vph(data)
    both_vph = 10_000.0 * AM_PEAK_SHARE_OF_DAY / 3.0
    kingsway = KINGSWAY_SHARE_OF_TUNNELS.value
    assert flows[("kingsway", True)] == pytest.approx(both_vph * kingsway * 0.625)
    assert flows[("kingsway", False)] == pytest.approx(both_vph * kingsway * 0.375)
    assert flows[("queensway", True)] == pytest.approx(both_vph * (1 - kingsway) * 0.625)
    observations = lcr_observations(data)
    by_id = {s.screenline_id: s.flow_vph for s in observations.screenlines}
    assert by_id["mersey_tunnels_to_liverpool"] == pytest.approx(both_vph * 0.625)
    area, free_flow = observations.area_speeds
    assert area.speed_mps == pytest.approx(15 * 0.44704 * 1.29 / 1.46)
    assert free_flow.speed_mps == pytest.approx(15 * 0.44704 * 1.29) and free_flow.free_flow


def test_real_figures_close_back_to_the_annual_total(liverpool_data: Path) -> None:
    observations = lcr_observations(liverpool_data)
    flows, factors = tunnel_flows_vph(liverpool_data)
    weekday = next(f for f in factors if f.name == "average weekday / average day")
    assert 1.0 < weekday.value < 1.2  # weekdays are busier than the average day
    assert weekday.value == pytest.approx(NtsTripRate().weekday_over_average_day)  # the trip rate's factor
    judgement = {f.name for f in factors if f.judgement}
    assert judgement == {  # the rest are published figures of the thing they stand for
        "average weekday / average day",
        "share of morning-peak tunnel traffic towards Liverpool",
    }
    morning_vehicles = sum(c.flow_vph for c in observations.counts) * 3.0
    annual = morning_vehicles / AM_PEAK_SHARE_OF_DAY / weekday.value * 365.0
    assert annual == pytest.approx(25_000_000.0)
    # each screenline is the sum of its two bores; every count and screenline calibrates
    for screenline in observations.screenlines:
        to_liverpool = screenline.screenline_id.endswith("liverpool")
        parts = [c.flow_vph for c in observations.counts if c.site_id.endswith("liverpool") == to_liverpool]
        assert screenline.flow_vph == pytest.approx(sum(parts))
        assert len(screenline.crossings) == 2
    assert {c.use for c in observations.counts + observations.screenlines} == {"calibration"}
    # the morning peak runs towards Liverpool; Kingsway carries more than Queensway
    assert flows[("kingsway", True)] > flows[("kingsway", False)] > flows[("queensway", False)]
    # TomTom: 14.8 mph over all hours, the morning peak slower; held out for validation
    area, free_flow = observations.area_speeds
    assert area.use == "validation" and not area.free_flow
    assert area.speed_mps * 3.6 == pytest.approx(14.8 * 1.609344 * 1.29 / 1.46, rel=1e-9)
    assert area.radius_m == pytest.approx(3 * 1609.344)
    # its free-flow speed (all-hours level 29% only) calibrates the network; same circle
    assert free_flow.use == "calibration" and free_flow.free_flow
    assert free_flow.speed_mps * 3.6 == pytest.approx(14.8 * 1.609344 * 1.29, rel=1e-9)  # 30.7 km/h
    assert (free_flow.centre_lon, free_flow.radius_m) == (area.centre_lon, area.radius_m)


def test_bad_facts_are_refused_with_line_and_field(tmp_path: Path) -> None:
    data = _write_data(tmp_path / "a", annual="lots")
    with pytest.raises(InputError, match=r"line 2, field 'value'"):
        lcr_observations(data)
    data = _write_data(tmp_path / "b")
    text = (data / FACTS_FILE).read_text(encoding="utf-8").replace("mph", "km/h")
    (data / FACTS_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"line 4, field 'unit'"):
        lcr_observations(data)
    data = _write_data(tmp_path / "c")
    (data / COMMUTING_FILE).unlink()
    with pytest.raises(InputError, match="file not found"):
        lcr_observations(data)


def _bearing_deg(x0: float, y0: float, x1: float, y1: float) -> float:
    return math.degrees(math.atan2(x1 - x0, y1 - y0)) % 360.0


@pytest.mark.slow
def test_each_bore_point_lies_on_a_tunnel_link_of_the_central_twin(liverpool_centre_bundle: Path) -> None:
    """Located by point and bearing (no link ids): within 25 m of a ``tunnel`` link whose direction at
    that point is within 20 degrees of the bearing, and no tunnel link of the opposite direction is as
    close and as well aligned."""
    twin = read_twin(liverpool_centre_bundle)
    tunnels = twin.links[twin.links["tunnel"] & (twin.links["access"] == "all")]
    ref_lat = 53.41
    for bore in TUNNEL_BORES:
        (px, py) = local_xy_m([bore.lon], [bore.lat], ref_lat)[0]
        matches = []
        for geometry, name in zip(tunnels["geometry"], tunnels["name"], strict=True):
            xy = local_xy_m(*np.asarray(geometry.coords).T, ref_lat)
            line = shapely.LineString(xy)
            distance = line.distance(shapely.Point(px, py))
            along = line.project(shapely.Point(px, py))
            a = line.interpolate(max(along - 5.0, 0.0))
            b = line.interpolate(min(along + 5.0, line.length))
            turn = abs((_bearing_deg(a.x, a.y, b.x, b.y) - bore.bearing_deg + 180.0) % 360.0 - 180.0)
            if distance < 25.0 and turn < 20.0:
                matches.append(str(name))
        assert matches, bore
        assert all(bore.tunnel in m.lower() for m in matches), (bore, matches)

"""OSM tag interpretation: maxspeed, lanes, oneway, access (examples from the OSM wiki plus properties)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaliverpool.ingest.osm_tags import (
    lanes_per_direction,
    parse_access,
    parse_direction,
    parse_maxspeed_mps,
    way_road,
)
from metaliverpool.network.road_classes import ROAD_CLASSES


@pytest.mark.parametrize(
    ("value", "expected_mps"),
    [
        ("30 mph", 13.4112),
        ("20mph", 8.9408),
        ("50", 50 / 3.6),
        ("50 km/h", 50 / 3.6),
        ("GB:nsl_single", 60 * 0.44704),
        ("30 mph;20 mph", 13.4112),
        ("signals", None),
        ("none", None),
        ("", None),
    ],
)
def test_parse_maxspeed(value: str, expected_mps: float | None) -> None:
    result = parse_maxspeed_mps(value)
    if expected_mps is None:
        assert result is None
    else:
        assert result == pytest.approx(expected_mps)


@given(st.integers(min_value=1, max_value=120))
def test_mph_is_converted_exactly(mph: int) -> None:
    assert parse_maxspeed_mps(f"{mph} mph") == pytest.approx(mph * 1609.344 / 3600)


@given(st.integers(min_value=1, max_value=8), st.sampled_from(sorted(ROAD_CLASSES)))
def test_two_way_lane_split_never_exceeds_total(total: int, highway: str) -> None:
    forward, backward, source = lanes_per_direction({"lanes": str(total)}, 0, ROAD_CLASSES[highway])
    assert forward == backward >= 1 and source == "tag"
    assert forward + backward <= max(total, 2)


def test_direction_rules() -> None:
    assert parse_direction({"oneway": "yes"}, "primary") == 1
    assert parse_direction({"oneway": "-1"}, "primary") == -1
    assert parse_direction({"junction": "roundabout"}, "primary") == 1
    assert parse_direction({}, "motorway") == 1
    assert parse_direction({"oneway": "no", "junction": "roundabout"}, "primary") == 0
    assert parse_direction({}, "residential") == 0


def test_access_rules() -> None:
    assert parse_access({}, "primary") == "all"
    assert parse_access({"access": "no", "bus": "yes"}, "primary") == "bus_only"
    assert parse_access({"motor_vehicle": "no", "psv": "designated"}, "service") == "bus_only"
    assert parse_access({"access": "private"}, "service") is None
    assert parse_access({"access": "no", "motor_vehicle": "destination"}, "residential") == "all"
    assert parse_access({}, "busway") == "bus_only"


def test_not_drivable() -> None:
    assert way_road({"highway": "footway"}) is None
    assert way_road({"highway": "service", "service": "parking_aisle"}) is None
    assert way_road({"highway": "primary", "area": "yes"}) is None
    reverse = way_road({"highway": "primary", "oneway": "-1", "lanes": "3"})
    assert reverse is not None and reverse.direction == -1 and reverse.lanes_forward == 3

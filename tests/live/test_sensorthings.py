"""The SensorThings v1.1 client against a real HTTP server serving Hamburg-shaped pages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from live.conftest import LAT0, LON0, STEP, CannedService, count_thing, line, point, signal_thing
from metaliverpool.ingest.sensorthings import (
    SensorThingsClient,
    SensorThingsProblem,
    StaObservation,
    datastream_id_from_topic,
    observation_topic,
    parse_duration_s,
    parse_observation,
    parse_time_unix_s,
)
from metaliverpool.ingest.sensorthings_mqtt import observation_payload

T0 = parse_time_unix_s("2026-12-07T08:00:00Z")


def test_things_are_paged_through_next_links_and_a_bad_entity_is_skipped_and_named(
    canned: CannedService,
) -> None:
    east = line((LON0 + 0.4 * STEP, LAT0), (LON0 + 0.6 * STEP, LAT0))
    broken = count_thing(5003, 11003, point(LON0, LAT0))
    broken["Locations"] = []
    canned.pages[("/v1.1/Things", 0)] = {
        "@iot.count": 4,
        "value": [count_thing(5001, 11001, east), count_thing(5002, 11002, point(LON0, LAT0 + STEP), 5)],
        "@iot.nextLink": f"{canned.root}/Things?$top=2&$skip=2&$expand=Locations,Datastreams",
    }
    canned.pages[("/v1.1/Things", 2)] = {
        "value": [broken, signal_thing(27001, 70001, point(LON0 + STEP, LAT0 + STEP))]
    }
    with SensorThingsClient(canned.root, page_size=2) as client:
        things = client.things()
    assert [t.thing_id for t in things] == [5001, 5002, 27001]
    first = things[0]
    assert first.bearing_deg == pytest.approx(90.0, abs=0.01)  # the LineString runs east
    assert first.lon == pytest.approx(LON0 + 0.6 * STEP)  # the middle point of a two-point line is its end
    (stream,) = first.datastreams
    assert (stream.datastream_id, stream.thing_id, stream.interval_s, stream.is_signal) == (
        11001,
        5001,
        900.0,
        False,
    )
    assert things[1].bearing_deg is None and things[1].datastreams[0].interval_s == 300.0
    assert things[2].datastreams[0].is_signal
    assert client.skipped == 1
    assert "Thing 5003 field 'Locations'" in client.problems[0] and "Things?" in client.problems[0]
    path, query = canned.requests[0]
    assert path == "/v1.1/Things" and query["$expand"] == ["Locations,Datastreams"] and query["$top"] == ["2"]


def test_observations_filter_on_phenomenon_time_and_a_malformed_page_is_counted(
    canned: CannedService,
) -> None:
    path = "/v1.1/Datastreams(11001)/Observations"
    canned.pages[(path, 0)] = {
        "value": [
            {
                "@iot.id": 1,
                "phenomenonTime": "2026-12-07T08:00:00.000Z/2026-12-07T08:15:00.000Z",
                "result": 212,
            },
            {"@iot.id": 2, "phenomenonTime": "2026-12-07T08:15:00Z/2026-12-07T08:30:00Z", "result": "n/a"},
        ],
        "@iot.nextLink": f"{canned.root}/Datastreams(11001)/Observations?$skip=2",
    }
    canned.pages[(path, 2)] = b'{"value": [ {"@iot.id": 3, '  # cut off mid-page
    with SensorThingsClient(canned.root) as client:
        found = list(client.observations(11001, since_unix_s=T0, until_unix_s=T0 + 3600))
    assert found == [StaObservation(11001, T0, T0 + 900, 212.0)]
    assert client.skipped == 2
    assert "entity 1: Observation field 'result': expected a finite number, got 'n/a'" in client.problems[0]
    assert "page not read" in client.problems[1] and "$skip=2" in client.problems[1]
    query = canned.requests[0][1]
    assert query["$filter"] == [
        "phenomenonTime ge 2026-12-07T08:00:00.000Z and phenomenonTime lt 2026-12-07T09:00:00.000Z"
    ]
    assert query["$orderby"] == ["phenomenonTime asc"]


def test_a_next_link_to_another_host_is_not_followed_and_a_huge_page_is_refused(
    canned: CannedService, monkeypatch: pytest.MonkeyPatch
) -> None:
    canned.pages[("/v1.1/Things", 0)] = {
        "value": [count_thing(5001, 11001, point(LON0, LAT0))],
        "@iot.nextLink": "http://203.0.113.9/v1.1/Things?$skip=1",
    }
    with SensorThingsClient(canned.root) as client:
        assert [t.thing_id for t in client.things()] == [5001]
    assert "leaves the service" in client.problems[0] and len(canned.requests) == 1
    monkeypatch.setattr("metaliverpool.ingest.sensorthings.MAX_PAGE_BYTES", 1000)
    with SensorThingsClient(canned.root) as client:
        assert client.things() == []
    assert "page larger than 1000 bytes" in client.problems[0]


def test_an_unreachable_service_is_a_problem_not_a_crash() -> None:
    with SensorThingsClient("http://127.0.0.1:9/v1.1", timeout_s=2) as client:
        assert client.things() == []
    assert client.skipped == 1 and "ConnectError" in client.problems[0]


@pytest.mark.parametrize(
    ("entity", "expected"),
    [
        ({"phenomenonTime": "2026-12-07T08:00:00", "result": 1}, "no time zone"),
        (
            {"phenomenonTime": "2026-12-07T08:15:00Z/2026-12-07T08:00:00Z", "result": 1},
            "ends before it starts",
        ),
        ({"phenomenonTime": 17, "result": 1}, "expected an ISO 8601 time"),
        ({"phenomenonTime": "2026-12-07T08:00:00Z", "result": True}, "expected a finite number"),
        ({"phenomenonTime": "2026-12-07T08:00:00Z"}, "got None"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_a_malformed_observation_names_the_field(entity: object, expected: str) -> None:
    with pytest.raises(SensorThingsProblem, match=expected):
        parse_observation(entity, 1)


def test_durations_topics_and_instants() -> None:
    assert parse_duration_s("PT15M") == 900.0
    assert parse_duration_s("P0DT0H5M0S") == 300.0
    assert parse_duration_s("P1DT30S") == 86_430.0
    with pytest.raises(ValueError, match="ISO 8601 duration"):
        parse_duration_s("15 min")
    topic = observation_topic(11846, "city/x")
    assert topic == "city/x/v1.1/Datastreams(11846)/Observations"
    assert datastream_id_from_topic(topic) == 11846
    with pytest.raises(SensorThingsProblem, match=r"expected .*Datastreams"):
        datastream_id_from_topic("v1.1/Things(3)")
    instant = parse_observation({"phenomenonTime": "2026-12-07T08:00:01.500Z", "result": 3}, 9)
    assert instant == StaObservation(9, T0 + 1.5, T0 + 1.5, 3.0)


@given(
    start_ms=st.integers(0, 4_000_000_000_000),
    length_ms=st.integers(0, 86_400_000),
    result=st.one_of(
        st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False, width=32)
    ),
)
def test_a_published_observation_reads_back_as_itself(start_ms: int, length_ms: int, result: float) -> None:
    import json

    original = StaObservation(7, start_ms / 1000, (start_ms + length_ms) / 1000, float(result))
    entity = json.loads(observation_payload(original, 1))
    assert parse_observation(entity, 7) == original

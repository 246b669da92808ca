"""Observations matched to the links of small hand-made twins whose answers are known by construction."""

from __future__ import annotations

from metaliverpool.ingest.observations import match_observations
from metaliverpool.observed.model import (
    MORNING_PEAK,
    JourneyTimeRoute,
    LinkCount,
    LinkRef,
    ObservationSet,
    Screenline,
)
from small_twins import LAT0, LON0, LinkSpec, grid_twin, make_twin, two_route_twin, two_way

DEG_LAT_M = 110_540.0


def count(site: str, where: LinkRef) -> LinkCount:
    return LinkCount(site, where, 100.0, MORNING_PEAK, "validation", "test")


def test_point_and_bearing_pick_the_carriageway_of_that_direction() -> None:
    # Two one-way carriageways 22 m apart; the counted point is 5.5 m from the westbound one.
    points = [
        (LON0, LAT0 + 0.0001),
        (LON0 + 0.005, LAT0 + 0.0001),
        (LON0, LAT0 - 0.0001),
        (LON0 + 0.005, LAT0 - 0.0001),
    ]
    twin = make_twin(
        points, [LinkSpec(1, 0, 501, oneway=True, highway="primary"), LinkSpec(2, 3, 502, oneway=True)]
    )
    here = (LON0 + 0.0025, LAT0 + 0.00005)
    obs = ObservationSet(
        counts=(
            count("east", LinkRef(lon=here[0], lat=here[1], bearing_deg=85.0)),
            count("west", LinkRef(lon=here[0], lat=here[1], bearing_deg=275.0)),
            count("north", LinkRef(lon=here[0], lat=here[1], bearing_deg=0.0)),
            count("far", LinkRef(lon=here[0], lat=here[1] + 60.0 / DEG_LAT_M, bearing_deg=90.0)),
        )
    )
    matched = match_observations(obs, twin)
    by_id = {c.site_id: c.link_ids for c in matched.counts}
    assert by_id == {"east": (1,), "west": (0,), "north": (), "far": ()}
    assert len(matched.unmatched) == 2
    assert matched.unmatched[0].startswith("count north") and "within 45 degrees of 0" in matched.unmatched[0]
    assert matched.unmatched[1].startswith("count far") and "no car link within 50 m" in matched.unmatched[1]
    assert [t.target_id for t in matched.count_targets()] == ["east", "west"]  # the unmatched left out


def test_way_and_direction_follow_the_drawing_order_and_take_the_middle_link() -> None:
    # One two-way way of three segments, 100 m, 300 m and 100 m long, drawn northwards.
    step = 1.0 / DEG_LAT_M
    points = [(LON0, LAT0 + step * metres) for metres in (0.0, 100.0, 400.0, 500.0)]
    links = [*two_way(0, 1, 900), *two_way(1, 2, 900), *two_way(2, 3, 900)]
    twin = make_twin(points, links)  # links 2 (1 -> 2, northwards) and 3 (2 -> 1) are the long ones
    obs = ObservationSet(
        counts=(
            count("fwd", LinkRef(osm_way_id=900, direction="forward")),
            count("bwd", LinkRef(osm_way_id=900, direction="backward")),
            count("nowhere", LinkRef(osm_way_id=901, direction="forward")),
        )
    )
    drawn_north = match_observations(obs, twin, way_nodes={900: (1000, 1001, 1002, 1003)})
    assert [c.link_ids for c in drawn_north.counts] == [(2,), (3,), ()]
    assert drawn_north.unmatched == ("count nowhere (test): OSM way 901 has no car link in the twin",)
    drawn_south = match_observations(obs, twin, way_nodes={900: (1003, 1002, 1001, 1000)})
    assert [c.link_ids for c in drawn_south.counts[:2]] == [(3,), (2,)]
    unknown = match_observations(obs, twin, way_nodes={})
    assert unknown.counts[0].link_ids == () and "node order of OSM way 900 unknown" in unknown.unmatched[0]


def test_combined_count_takes_both_directions_and_screenline_all_crossings() -> None:
    twin = two_route_twin()  # links 4 (node 0 -> 3) and 5 (3 -> 0) are way 200's first segment
    slow_road = LinkRef(lon=LON0 + 0.0045, lat=LAT0 - 0.003, both_directions=True)
    fast_east = LinkRef(lon=LON0 + 0.0045, lat=LAT0 + 0.0005, bearing_deg=80.0)
    obs = ObservationSet(
        screenlines=(
            Screenline("c", "combined", (slow_road,), 300.0, MORNING_PEAK, "calibration", "test"),
            Screenline(
                "both", "both roads east", (fast_east, slow_road), 900.0, MORNING_PEAK, "validation", "t"
            ),
        )
    )
    matched = match_observations(obs, twin)
    assert [sorted(s.link_ids) for s in matched.screenlines] == [[4, 5], [0, 4, 5]]
    assert not matched.unmatched
    assert [(t.target_id, sorted(t.link_ids)) for t in matched.count_targets("calibration")] == [
        ("c", [4, 5])
    ]


def test_route_becomes_the_shortest_path_through_its_points() -> None:
    twin = grid_twin(5)  # node r*5+c at (LON0 + 0.002c, LAT0 + 0.002r)
    route = JourneyTimeRoute(
        "r",
        "east then north",
        ((LON0 - 0.0002, LAT0), (LON0 + 0.008, LAT0 + 0.0001), (LON0 + 0.008, LAT0 + 0.008)),
        300.0,
        MORNING_PEAK,
        "validation",
        "test",
    )
    matched = match_observations(ObservationSet(routes=(route,)), twin)
    (path,) = [r.link_ids for r in matched.routes]
    links = twin.links.set_index("link_id")
    nodes = [int(links.at[path[0], "from_node_id"])] + [int(links.at[k, "to_node_id"]) for k in path]
    assert nodes == [0, 1, 2, 3, 4, 9, 14, 19, 24]

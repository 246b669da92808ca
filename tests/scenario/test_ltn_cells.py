"""The low-traffic-neighbourhood preview on small graphs with known answers: filters, cells, rat-runs
before and after, and the plain reason when it changes nothing."""

from __future__ import annotations

from metaliverpool.edits.ltn_cells import ltn_preview
from metaliverpool.edits.schema import LowTrafficNeighbourhood
from metaliverpool.network.twin import Twin
from small_twins import LAT0, LON0, LinkSpec, make_twin

STEP = 0.002
MAIN_MPS = 13.4
SIDE_MPS = 8.0


def _pair(a: int, b: int, way: int, name: str, highway: str, speed: float) -> list[LinkSpec]:
    return [
        LinkSpec(x, y, way, highway=highway, name=name, length_m=140.0, speed_limit_mps=speed)
        for x, y in ((a, b), (b, a))
    ]


def square(inner: bool = True) -> Twin:
    """A 3 x 3 grid: the ring of main roads (primary, 13.4 m/s) round a cross of residential streets
    (8 m/s) meeting at node 4. Going across (1 to 7, 3 to 5) the cross takes 35 s, the ring 41.8 s; going
    round a corner the ring is quicker (20.9 s against 35 s): four rat-runs (both ways of the two
    crossings)."""
    points = [(LON0 + c * STEP, LAT0 + r * STEP) for r in range(3) for c in range(3)]
    ring = [(0, 1), (1, 2), (2, 5), (5, 8), (8, 7), (7, 6), (6, 3), (3, 0)]
    links = [
        spec
        for k, (a, b) in enumerate(ring)
        for spec in _pair(a, b, 100 + k, "Ring Road", "primary", MAIN_MPS)
    ]
    if inner:
        spokes = {1: "North Street", 3: "West Street", 5: "East Street", 7: "South Street"}
        for k, (end, name) in enumerate(spokes.items()):
            links += _pair(4, end, 200 + k, name, "residential", SIDE_MPS)
    return make_twin(
        points, links, zones=[("E01000001", 0, 100, 5), ("E01000002", 4, 100, 5)] if inner else []
    )


def area(margin: float = STEP / 2) -> dict:
    west, south = LON0 - margin, LAT0 - margin
    east, north = LON0 + 2 * STEP + margin, LAT0 + 2 * STEP + margin
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_filters_cells_and_the_rat_runs_they_close() -> None:
    edit = LowTrafficNeighbourhood(kind="low_traffic_neighbourhood", area=area())
    preview = ltn_preview(square(), edit)
    assert preview["check"]["status"] == "ok" and not preview["changes_nothing"]
    assert preview["entries"] == 4  # the four spokes' ends on the ring
    # node 4 keeps one spoke; the other three are filtered
    assert len(preview["filters"]) == 3 and len(preview["filtered_link_ids"]) == 6
    assert len(preview["cells"]) == 1 and len(preview["cells"][0]["link_ids"]) == 2
    assert preview["cells"][0]["entries"] == ["Ring Road"]
    assert preview["rat_runs_before"] == 4 and preview["rat_runs_after"] == 0
    crossings = {(run["via"][0], run["via"][1]) for run in preview["rat_runs"]}
    assert crossings == {
        ("North Street", "South Street"),
        ("South Street", "North Street"),
        ("West Street", "East Street"),
        ("East Street", "West Street"),
    }
    assert all(abs(run["time_s"] - 2 * 140 / SIDE_MPS) < 0.1 for run in preview["rat_runs"])


def test_a_neighbourhood_no_route_crosses_changes_nothing_and_says_why() -> None:
    """The side streets are slower than going round: no quickest route uses them."""
    twin = square()
    twin.links.loc[twin.links["highway"] == "residential", "free_speed_mps"] = 3.0
    preview = ltn_preview(twin, LowTrafficNeighbourhood(kind="low_traffic_neighbourhood", area=area()))
    assert preview["rat_runs_before"] == 0 and preview["changes_nothing"]
    assert "no quickest route between its boundary roads runs through it" in preview["why"]


def test_an_area_without_side_streets_is_refused_with_the_checks_words() -> None:
    preview = ltn_preview(
        square(inner=False), LowTrafficNeighbourhood(kind="low_traffic_neighbourhood", area=area())
    )
    assert preview["changes_nothing"] and preview["check"]["status"] == "refused"
    assert "contains no street of the classes residential" in preview["why"]
    assert preview["cells"] == [] and preview["filters"] == []

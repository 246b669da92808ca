"""Honest comparisons: every scenario against the base twin as it is, the AI loop an edit like any other, its
effect decomposed when asked; one edit check for the run and the editor, edits named by number and label."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from metaliverpool.edits import parse_scenario
from metaliverpool.edits.apply import check_edits
from metaliverpool.errors import InputError
from metaliverpool.scenario.kpi_labels import decomposition_table, format_number
from metaliverpool.scenario.pipeline import run_pair, write_outputs
from small_twins import make_twin, two_route_twin, two_way

PACKAGE = [{"kind": "speed_limit", "speed_limit_mph": 15, "osm_way_ids": [100]}]
"""A package with an effect of its own: the fast road through the signalised junction slowed to 15 mph."""
LOOP = {"kind": "ai_signal_control", "risk_threshold": 0.05, "sample_interval_s": 120}
MEASURES = (("network", "vehicle_hours"), ("network", "delay_hours"), ("emissions", "co2_kg"))


def scenario(edits: list[dict[str, Any]], engine: str = "dynamic", **run: Any) -> Any:
    return parse_scenario(
        {
            "schema_version": 2,
            "name": "s",
            "edits": edits,
            "run": {"engine": engine, "seeds": [1, 2], "dta_iterations": 1, **run},
        },
        "s.yaml",
    )


def change(kpis: dict[str, Any], group: str, key: str) -> float:
    return float(kpis[group][key]["change"]["mean"])


@pytest.fixture(scope="module")
def runs() -> dict[str, Any]:
    twin = two_route_twin(trips_per_hour=1800)
    return {
        "package": run_pair(scenario(PACKAGE), twin),
        "with_loop": run_pair(scenario([*PACKAGE, LOOP]), twin),
        "decomposed": run_pair(scenario([*PACKAGE, LOOP], decompose=True), twin),
    }


def test_a_package_with_the_loop_is_compared_with_do_nothing(runs: dict[str, Any]) -> None:
    package, with_loop = runs["package"], runs["with_loop"]
    baseline_keys = {r.key for r in package.records if r.side == "baseline"}
    assert baseline_keys == {r.key for r in with_loop.records if r.side == "baseline"}, (
        "adding the loop must not change the baseline: both compare with the base twin as it is"
    )
    for group, key in MEASURES:
        own = change(package.impacts.kpis, group, key)
        assert own != 0.0, f"the package alone changes {key}"
        assert change(with_loop.impacts.kpis, group, key) != 0.0, "with the loop the package still shows"
    assert with_loop.ai_loop and with_loop.ai_loop[0]["flagged"], "the loop did take a junction over"


def test_decomposition_splits_package_and_loop(runs: dict[str, Any], tmp_path: Path) -> None:
    package, with_loop, decomposed = runs["package"], runs["with_loop"], runs["decomposed"]
    parts = decomposed.decomposition
    assert parts is not None
    assert {r.side for r in decomposed.records} == {"baseline", "scenario", "package"}
    for group, key in MEASURES:
        whole = change(decomposed.impacts.kpis, group, key)
        assert whole == pytest.approx(change(with_loop.impacts.kpis, group, key), rel=1e-12)
        alone = change(parts.package.kpis, group, key)
        adds = change(parts.loop_adds.kpis, group, key)
        # the package without the loop is the package's own effect (the same runs: shared by the cache key)
        assert alone == pytest.approx(change(package.impacts.kpis, group, key), rel=1e-12, abs=1e-12)
        assert alone + adds == pytest.approx(whole, rel=1e-9, abs=1e-9)
    document = write_outputs(decomposed, tmp_path / "out", None)
    assert set(document["decomposition"]) == {"package_without_loop", "loop_adds"}
    package_keys = {r.key for r in package.records if r.side == "scenario"}
    assert {r.key for r in decomposed.records if r.side == "package"} == package_keys
    html = (tmp_path / "out" / "report.html").read_text()
    assert "id='decomposition'" in html and "The loop adds" in html
    # the rows the report and the web panel show (one place: kpi_labels.decomposition_table)
    table = {row["key"]: row for row in decomposition_table(document)}
    vkm = table["network.vehicle_km"]
    assert vkm["label"] == "Vehicle-kilometres per morning" and vkm["unit"] == "veh-km"
    assert vkm["package_without_loop"] == format_number(
        change(parts.package.kpis, "network", "vehicle_km"), 0, signed=True
    )
    assert vkm["loop_adds"] == format_number(
        change(parts.loop_adds.kpis, "network", "vehicle_km"), 0, signed=True
    )
    assert not any(key.startswith(("journeys", "access")) for key in table)
    assert f"<td>{vkm['package_without_loop']}</td><td>{vkm['loop_adds']}</td>" in html
    assert decomposition_table(write_outputs(package, tmp_path / "plain", None)) == []


def test_static_engine_refuses_signal_edits_before_the_run(tmp_path: Path) -> None:
    twin = two_route_twin()
    static = scenario(
        [*PACKAGE, {"kind": "signal_plan", "osm_node_id": 1002, "optimise": True}, LOOP], "static"
    )
    with pytest.raises(InputError) as caught:
        run_pair(static, twin)
    message = str(caught.value)
    assert message.startswith(
        "s.yaml: edit 2 (signal optimisation at way 100): the static engine has no signals"
    )
    assert (
        "edit 3 (AI signal control of all signalised junctions): the static engine has no signals" in message
    )
    # a run that goes ahead anyway says so first, in kpis.json and at the top of the report
    result = run_pair(static, twin, skip_refused=True)
    document = write_outputs(result, tmp_path / "out", None)
    assert list(document)[:2] == ["schema", "refused_edits"]
    assert [r["edit"] for r in document["refused_edits"]] == [2, 3]
    assert document["deterministic"] is True and [r.side for r in result.records] == ["baseline", "scenario"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.index("id='refused-edits'") < html.index('id="twin-calibration"') < html.index("<h2>")
    assert "edit 2 (signal optimisation at way 100)" in html
    assert "[" not in html[html.index("<table id='kpis'>") : html.index("</table>")], "no interval: one run"


def verdicts(twin: Any, edits: list[dict[str, Any]], engine: str | None = None) -> list[tuple[str, str]]:
    _, checks = check_edits(twin, scenario(edits), engine=engine)
    return [(check.status, f"{check.title}: {check.message}") for check in checks]


def test_check_refuses_a_bus_lane_on_a_one_lane_street_naming_it() -> None:
    result = verdicts(two_route_twin(), [{"kind": "bus_lane", "osm_way_ids": [200]}])
    assert result == [
        (
            "refused",
            "edit 1 (bus lane on way 200): way 200 (OSM way 200) has 1 lane in a direction; "
            "a bus lane needs 2 (one stays for general traffic)",
        )
    ]


def test_check_flags_conflicting_edits_on_one_street() -> None:
    edits = [
        {"kind": "change_lanes", "osm_way_ids": [100], "lanes": 1},
        {"kind": "change_lanes", "osm_way_ids": [100], "lanes": 2},
        {"kind": "speed_limit", "speed_limit_mph": 20, "osm_way_ids": [100]},
        {"kind": "speed_limit", "speed_limit_mph": 30, "osm_way_ids": [100]},
        {"kind": "speed_limit", "speed_limit_mph": 20, "osm_way_ids": [200]},
    ]
    result = verdicts(two_route_twin(), edits)
    assert [status for status, _ in result] == ["ok", "refused", "ok", "refused", "ok"]
    assert result[1][1].startswith(
        "edit 2 (2 lanes on way 100): conflicts with edit 1 (1 lane on way 100): both set the lane count"
    )
    assert "conflicts with edit 3 (20 mph on way 100): both set the speed limit" in result[3][1]
    # the refused edits are left out of what runs: way 100 keeps the first lane count
    edited, _ = check_edits(two_route_twin(), scenario(edits))
    assert set(edited.links.loc[edited.links["osm_way_id"] == 100, "lanes"]) == {1}


def test_check_says_why_an_ltn_changes_nothing() -> None:
    # a main road 0-1 and a residential dead end 1-2: a cell around the dead end has one way in
    points = [(-2.99, 53.40), (-2.98, 53.40), (-2.98, 53.401)]
    links = [
        *two_way(0, 1, 100, highway="primary", lanes=2, capacity_vph=3000),
        *two_way(1, 2, 300, highway="residential"),
    ]
    twin = make_twin(points, links, [("E01000001", 0, 100, 1), ("E01000002", 1, 100, 5)], [(0, 1, 60)])
    area = {"type": "Polygon", "coordinates": [[[-2.985, 53.3995], [-2.975, 53.3995], [-2.975, 53.402],
                                                [-2.985, 53.402], [-2.985, 53.3995]]]}  # fmt: skip
    result = verdicts(twin, [{"kind": "low_traffic_neighbourhood", "area": area}])
    assert result[0][0] == "refused"
    assert result[0][1] == (
        "edit 1 (low-traffic neighbourhood (drawn area)): it changes nothing: its 2 street links have "
        "1 way(s) in for motor traffic, so no through route crosses the cell; "
        "draw it over streets between main roads"
    )


def test_check_passes_what_the_engine_represents() -> None:
    edits = [*PACKAGE, LOOP]
    assert [s for s, _ in verdicts(two_route_twin(), edits, "dynamic")] == ["ok", "ok"]
    assert [s for s, _ in verdicts(two_route_twin(), edits, "static")] == ["ok", "refused"]


def test_lane_edits_change_the_capacities_a_coded_twin_runs_on() -> None:
    from metaliverpool.network.coding import link_saturation_flow_vph

    twin = two_route_twin()
    lanes = twin.links["lanes"].to_numpy()
    twin.links["saturation_flow_vph"] = link_saturation_flow_vph(lanes)
    twin.links["stop_line_capacity_vph"] = 0.5 * twin.links["saturation_flow_vph"]  # a signal's green share
    edited, checks = check_edits(twin, scenario([{"kind": "bus_lane", "osm_way_ids": [100]}]))
    assert checks[0].status == "ok"
    way = edited.links[edited.links["osm_way_id"] == 100]
    one_lane = float(link_saturation_flow_vph([1])[0])
    assert set(way["lanes"]) == {1} and set(way["saturation_flow_vph"]) == {one_lane}
    assert way["stop_line_capacity_vph"].to_numpy() == pytest.approx(0.5 * one_lane)

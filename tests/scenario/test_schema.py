"""The scenario format: validation, one-line errors, version upgrades, round trips."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaliverpool.edits import SCHEMA_VERSION, load_scenario, parse_scenario, save_scenario, validate_edit
from metaliverpool.edits.schema import CloseRoad, SpeedLimit
from metaliverpool.edits.upgrade import upgrade_document
from metaliverpool.errors import InputError

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[-2.99, 53.40], [-2.98, 53.40], [-2.98, 53.41], [-2.99, 53.40]]],
}


def scenario_doc(*edits: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "name": "test", "edits": list(edits), **extra}


def test_validate_edit_returns_typed_edit() -> None:
    edit = validate_edit({"kind": "close_road", "osm_way_ids": [4085159], "vehicles": "general"})
    assert isinstance(edit, CloseRoad)
    assert edit.vehicles == "general"
    zone = validate_edit({"kind": "speed_limit", "speed_limit_mph": 20, "area": SQUARE})
    assert isinstance(zone, SpeedLimit)
    assert zone.area is not None and zone.area.to_shapely().area > 0


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            {"kind": "close_road", "osm_way_ids": [1], "colour": "red"},
            "plan.yaml: edit 2 (close_road), field 'colour': unknown field",
        ),
        (
            {
                "id": "z",
                "kind": "speed_limit",
                "speed_limit_mph": 20,
                "area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            },
            "plan.yaml: edit 2 'z' (speed_limit), field 'area.coordinates': polygon is invalid: Self-inter",
        ),
        (
            {
                "kind": "speed_limit",
                "speed_limit_mph": 20,
                "area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0]]]},
            },
            "plan.yaml: edit 2 (speed_limit), field 'area.coordinates': outer ring has 3 positions",
        ),
        ({"kind": "bus_lane"}, "plan.yaml: edit 2 (bus_lane), field 'osm_way_ids': Field required"),
        ({"kind": "teleport"}, "plan.yaml: edit 2 (teleport), field 'kind': unknown edit kind 'teleport'"),
        (
            {"kind": "signal_plan", "osm_node_id": 5, "cycle_s": 90, "green_splits": [0.5, 0.6]},
            "plan.yaml: edit 2 (signal_plan): green splits sum to 1.1, expected 1",
        ),
        (
            {"kind": "speed_limit", "speed_limit_mph": 20},
            "plan.yaml: edit 2 (speed_limit): give exactly one of 'osm_way_ids' or 'area'",
        ),
    ],
)
def test_bad_edit_gives_one_line_naming_file_edit_and_field(edit: dict[str, Any], expected: str) -> None:
    good = {"kind": "close_road", "osm_way_ids": [1]}
    with pytest.raises(InputError) as caught:
        parse_scenario(scenario_doc(good, edit), source="plan.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(expected), message


def test_validate_edit_errors_name_the_field() -> None:
    with pytest.raises(InputError, match=r"edit: edit 1 \(change_lanes\), field 'lanes'"):
        validate_edit({"kind": "change_lanes", "osm_way_ids": [1], "lanes": 0})


@pytest.mark.parametrize("version", [0, 3, "2", None])
def test_wrong_schema_version_is_refused(version: Any) -> None:
    document = scenario_doc()
    if version is None:
        del document["schema_version"]
    else:
        document["schema_version"] = version
    with pytest.raises(InputError, match=r"^plan.yaml: field 'schema_version': "):
        parse_scenario(document, source="plan.yaml")


def test_unknown_top_level_field_is_refused() -> None:
    with pytest.raises(InputError, match=r"^plan.yaml: field 'seed': unknown field$"):
        parse_scenario(scenario_doc(seed=3), source="plan.yaml")


def test_version_1_upgrades_to_current() -> None:
    old = {
        "schema_version": 1,
        "name": "old",
        "engine": "static",
        "seeds": 2,
        "demand_growth_percent": 5,
        "edits": [{"kind": "close_road", "osm_way_ids": [7]}],
    }
    upgraded = upgrade_document(old, "old.yaml")
    assert upgraded["schema_version"] == 2
    scenario = parse_scenario(old, source="old.yaml")
    assert scenario.run.engine == "static"
    assert scenario.run.seeds == [1, 2]
    assert scenario.demand.growth_percent == 5
    assert old["seeds"] == 2, "the input document is not modified"
    with pytest.raises(InputError, match=r"old.yaml: upgrading from version 1: .*positive integer"):
        parse_scenario({**old, "seeds": 0}, source="old.yaml")


edit_strategy = st.one_of(
    st.builds(
        lambda ways, vehicles: {"kind": "close_road", "osm_way_ids": ways, "vehicles": vehicles},
        st.lists(st.integers(1, 2**40), min_size=1, max_size=4),
        st.sampled_from(["all", "general"]),
    ),
    st.builds(
        lambda ways, lanes: {"kind": "change_lanes", "osm_way_ids": ways, "lanes": lanes},
        st.lists(st.integers(1, 2**40), min_size=1, max_size=3),
        st.integers(1, 8),
    ),
    st.builds(
        lambda mph, x, y, size: {
            "kind": "speed_limit",
            "speed_limit_mph": mph,
            "area": {
                "type": "Polygon",
                "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]],
            },
            "exclude_highways": ["trunk"],
        },
        st.sampled_from([10, 20, 30, 40]),
        st.floats(-3.1, -2.8),
        st.floats(53.3, 53.5),
        st.floats(0.001, 0.05),
    ),
    st.builds(
        lambda node, cycle, split: {
            "kind": "signal_plan",
            "osm_node_id": node,
            "cycle_s": cycle,
            "green_splits": [split, 1 - split],
            "offset_s": 0.0,
        },
        st.integers(1, 2**40),
        st.floats(30, 240),
        st.sampled_from([0.25, 0.5, 0.625]),
    ),
    st.builds(
        lambda code, homes, jobs: {
            "kind": "new_development",
            "lsoa_code": code,
            "homes": homes,
            "jobs": jobs,
        },
        st.from_regex(r"E01[0-9]{6}", fullmatch=True),
        st.integers(1, 5000),
        st.integers(0, 5000),
    ),
    st.builds(
        lambda pct: {"kind": "demand_change", "percent": pct}, st.floats(-99, 200).filter(lambda v: v != 0)
    ),
    st.builds(
        lambda a, n, b: {"kind": "turn_ban", "from_osm_way_id": a, "via_osm_node_id": n, "to_osm_way_id": b},
        st.integers(1, 2**40),
        st.integers(1, 2**40),
        st.integers(1, 2**40),
    ),
)


@settings(max_examples=40, deadline=None)
@given(
    edits=st.lists(edit_strategy, max_size=6),
    seeds=st.lists(st.integers(0, 1000), min_size=1, max_size=5, unique=True),
)
def test_scenarios_round_trip_through_yaml_and_json(
    tmp_path_factory: pytest.TempPathFactory, edits: list[dict[str, Any]], seeds: list[int]
) -> None:
    folder = tmp_path_factory.mktemp("round")
    scenario = parse_scenario(scenario_doc(*edits, run={"seeds": seeds}, base_twin="../twins/x"))
    for name in ("s.yaml", "s.json"):
        save_scenario(scenario, folder / name)
        again = load_scenario(folder / name)
        assert again == scenario
        save_scenario(again, folder / ("2" + name))
        assert (folder / ("2" + name)).read_text() == (folder / name).read_text()


def test_load_reports_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(InputError, match=r"broken.yaml: line \d+: invalid YAML"):
        load_scenario(broken)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text(json.dumps(scenario_doc({"kind": "close_road", "osm_way_ids": []})))
    with pytest.raises(InputError, match=r"bad.json: edit 1 \(close_road\), field 'osm_way_ids'"):
        load_scenario(bad_json)

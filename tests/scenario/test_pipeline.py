"""The scenario pipeline and CLI on a small twin bundle: outputs, cache, reproducibility, bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from cli_capture import run_cli
from metaliverpool.store.bundle import write_twin
from small_twins import grid_twin

CLOSED_WAY = 10_003  # a primary road on the grid's southern edge


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("twins") / "grid"
    write_twin(grid_twin(5), path)
    return path


def write_scenario(folder: Path, name: str, edits: list[dict[str, Any]], **extra: Any) -> Path:
    document = {
        "schema_version": 2,
        "name": name,
        "description": "test scenario",
        "base_twin": "grid",
        "edits": edits,
        "run": {"engine": "static", "seeds": [1, 2]},
        **extra,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_run_writes_kpis_and_report_and_uses_the_cache(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_scenario(
        bundle.parent, "close", [{"id": "south", "kind": "close_road", "osm_way_ids": [CLOSED_WAY]}]
    )
    cache = tmp_path / "cache"
    out = tmp_path / "out"
    code, stdout, stderr = run_cli(
        ["scenario", "run", str(scenario), "--out", str(out), "--cache", str(cache)], capsys
    )
    assert code == 0, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["runs"] == 2 and summary["cached_runs"] == 0, (
        "static runs are deterministic: one run per side whatever the seeds"
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "kpis.json",
        "links.parquet",
        "report.html",
        "scenario.yaml",
        "zones.parquet",
    ]
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["schema"] == "metaliverpool.kpis/1"
    assert kpis["diversion"]["closed_to_cars"] == {"links": 2, "max_scenario_vph": 0.0}
    links = pd.read_parquet(out / "links.parquet")
    assert (links.loc[links["osm_way_id"] == CLOSED_WAY, "scenario_vph"] == 0).all()
    assert links.loc[links["osm_way_id"] == CLOSED_WAY, "baseline_vph"].sum() > 0
    assert kpis["network"]["vehicle_hours"]["change"]["mean"] > 0, "closing a main road costs time"
    report = (out / "report.html").read_text()
    assert "<svg class='map'" in report
    # one line near the top says what the twin was calibrated against (this grid twin: nothing)
    assert report.index('id="twin-calibration"') < report.index("<h2>")
    assert "Twin: Not calibrated: demand is the prior (docs/validation.md)" in report

    again = tmp_path / "again"
    code, stdout, _ = run_cli(
        ["scenario", "run", str(scenario), "--out", str(again), "--cache", str(cache)], capsys
    )
    assert code == 0
    assert json.loads(stdout.strip().splitlines()[-1])["cached_runs"] == 2
    second = json.loads((again / "kpis.json").read_text())
    for key in ("network", "emissions", "journeys", "access", "equity", "diversion"):
        assert second[key] == kpis[key], f"{key} differs between identical runs"


def test_seeds_spread_over_ray_give_the_same_kpis(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_scenario(
        bundle.parent,
        "close-dynamic",
        [{"id": "south", "kind": "close_road", "osm_way_ids": [CLOSED_WAY]}],
        run={"engine": "dynamic", "seeds": [1]},
    )
    kpis = {}
    for name, extra in (("here", []), ("ray", ["--ray", "local", "--jobs", "2"])):
        out = tmp_path / name
        command = ["scenario", "run", str(scenario), "--out", str(out), "--seeds", "3", "--no-cache"]
        code, stdout, stderr = run_cli([*command, *extra], capsys)
        assert code == 0, stderr
        summary = json.loads(stdout.strip().splitlines()[-1])
        assert summary["runs"] == 6 and summary["cached_runs"] == 0
        kpis[name] = json.loads((out / "kpis.json").read_text())
    for key in ("network", "emissions", "journeys", "diversion"):
        assert kpis["ray"][key] == kpis["here"][key], f"{key} differs between local and Ray runs"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            {"id": "gone", "kind": "close_road", "osm_way_ids": [424242]},
            "bad.yaml: edit 1 (closure of OSM way 424242), field 'osm_way_ids': OSM way 424242 is not a road",
        ),
        (
            {
                "kind": "speed_limit",
                "speed_limit_mph": 20,
                "area": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            },
            "bad.yaml: edit 1 (speed_limit), field 'area.coordinates': polygon is invalid",
        ),
        (
            {"kind": "bus_lane", "osm_way_ids": [1], "lane": 2},
            "bad.yaml: edit 1 (bus_lane), field 'lane': unknown field",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: dict[str, Any], expected: str
) -> None:
    scenario = write_scenario(bundle.parent, "bad", [edit])
    out = tmp_path / "out"
    code, _, stderr = run_cli(["scenario", "run", str(scenario), "--out", str(out), "--no-cache"], capsys)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_wrong_schema_version_is_refused(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_scenario(bundle.parent, "future", [], schema_version=9)
    code, _, stderr = run_cli(
        ["scenario", "run", str(scenario), "--out", str(tmp_path / "o"), "--no-cache"], capsys
    )
    assert code == 2
    assert "future.yaml: field 'schema_version': unknown schema version 9" in stderr
    assert not (tmp_path / "o").exists()


def test_diff_of_files_and_of_runs(bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write_scenario(
        bundle.parent, "a", [{"id": "south", "kind": "close_road", "osm_way_ids": [CLOSED_WAY]}]
    )
    b = write_scenario(
        bundle.parent,
        "b",
        [
            {"id": "south", "kind": "close_road", "osm_way_ids": [CLOSED_WAY], "vehicles": "general"},
            {"kind": "demand_change", "percent": -10},
        ],
    )
    code, stdout, stderr = run_cli(["scenario", "diff", str(a), str(b)], capsys)
    assert code == 0, stderr
    diff = json.loads(stdout)
    assert [e["kind"] for e in diff["edits_added"]] == ["demand_change"]
    assert diff["edits_changed"][0]["id"] == "south" and diff["edits_removed"] == []
    for name, path in (("ra", a), ("rb", b)):
        assert (
            run_cli(["scenario", "run", str(path), "--out", str(tmp_path / name), "--no-cache"], capsys)[0]
            == 0
        )
    code, stdout, _ = run_cli(["scenario", "diff", str(tmp_path / "ra"), str(tmp_path / "rb")], capsys)
    assert code == 0
    kpis = json.loads(stdout)
    assert kpis["same_twin"] is True
    assert kpis["kpis"]["network.vehicle_km"]["b_minus_a"] < 0, "10% less traffic drives fewer kilometres"


def test_run_for_web_reports_progress_into_an_existing_folder(bundle: Path, tmp_path: Path) -> None:
    from metaliverpool.edits import parse_scenario
    from metaliverpool.scenario.pipeline import run_for_web

    scenario = parse_scenario(
        {
            "schema_version": 2,
            "name": "web",
            "edits": [{"kind": "demand_change", "percent": 5}],
            "run": {"engine": "static", "seeds": [1]},
        }
    )
    out = tmp_path / "run"
    out.mkdir()
    seen: list[float] = []
    document = run_for_web(scenario, bundle, out, lambda fraction, message: seen.append(fraction))
    assert (out / "kpis.json").is_file() and (out / "report.html").is_file()
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 4
    assert document["journeys"]["trips_unchanged"]["mean"] > 0


def test_notes_say_what_the_engine_does_not_model() -> None:
    from metaliverpool.edits import parse_scenario
    from metaliverpool.scenario.pipeline import engine_notes

    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    dynamic = parse_scenario(
        {
            "schema_version": 2,
            "name": "n",
            "edits": [
                {"kind": "turn_ban", "from_osm_way_id": 1, "via_osm_node_id": 2, "to_osm_way_id": 3},
                {"kind": "cordon_charge", "area": square, "charge_gbp": 2},
            ],
            "run": {"engine": "dynamic"},
        }
    )
    notes = " ".join(engine_notes(dynamic))
    assert notes == ""  # the dynamic route choice honours turn bans and weighs charges
    static = parse_scenario(
        {
            "schema_version": 2,
            "name": "s",
            "edits": [
                {"kind": "turn_ban", "from_osm_way_id": 1, "via_osm_node_id": 2, "to_osm_way_id": 3},
            ],
            "run": {"engine": "static"},
        }
    )
    assert engine_notes(static) == []  # both engines honour turn bans; signal edits are refused, not noted


def test_cli_refuses_edits_before_running_unless_told_to_skip_them(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = write_scenario(
        bundle.parent,
        "signals",
        [
            {"kind": "close_road", "osm_way_ids": [CLOSED_WAY]},
            {"kind": "signal_plan", "osm_node_id": 1006, "optimise": True},
        ],
    )
    out = tmp_path / "out"
    code, _, stderr = run_cli(["scenario", "run", str(scenario), "--out", str(out), "--no-cache"], capsys)
    assert code == 2 and not out.exists()
    assert "edit 2 (signal optimisation at" in stderr and "the static engine has no signals" in stderr
    command = ["scenario", "run", str(scenario), "--out", str(out), "--no-cache", "--skip-refused"]
    code, _, stderr = run_cli(command, capsys)
    assert code == 0, stderr
    kpis = json.loads((out / "kpis.json").read_text())
    assert [(r["edit"], r["kind"]) for r in kpis["refused_edits"]] == [(2, "signal_plan")]
    assert [e["edit"] for e in kpis["scenario"]["edits"]] == [1], "the refused edit is not in the run"

"""Every example scenario in ``scenarios/`` runs end to end on the real central-Liverpool twin (CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from metaliverpool.cli.main import main
from metaliverpool.edits import load_scenario
from metaliverpool.scenario.risk_profile import PROFILE_PATH, needs_risk_profile

pytestmark = pytest.mark.slow
SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.yaml"))
COMPARED = ("network", "emissions", "journeys", "access", "equity", "diversion")


@pytest.fixture(scope="module")
def bundle(liverpool_centre_calibrated_bundle: Path) -> Path:
    return liverpool_centre_calibrated_bundle  # the twin users get from `metaliverpool build`


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    main(args)
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_there_are_examples() -> None:
    assert len(SCENARIOS) >= 6
    for path in SCENARIOS:
        scenario = load_scenario(path)
        assert scenario.description and scenario.edits


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_example_runs_end_to_end(
    path: Path, bundle: Path, cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = load_scenario(path)
    args = [
        "scenario",
        "run",
        str(path),
        "--twin",
        str(bundle),
        "--out",
        str(tmp_path / "out"),
        "--cache",
        str(cache),
    ]
    if scenario.run.engine == "dynamic":
        args += ["--seeds", "1"]  # the simulator needs about a minute per seed and side here
    trains = needs_risk_profile(scenario) and not (bundle / PROFILE_PATH).is_file()
    # a freshly built twin has no junction-risk history: the run trains what the AI loop's history
    # forecast needs first (as `signals train-risk` does), then runs
    summary = run(args, capsys)
    if trains:
        assert (bundle / PROFILE_PATH).is_file()
    kpis = json.loads((tmp_path / "out" / "kpis.json").read_text())
    assert kpis["refused_edits"] == [] and all(c["status"] == "ok" for c in kpis["scenario"]["checks"])
    assert summary["runs"] == 2 * len(kpis["engine_seeds"])
    assert kpis["deterministic"] == (scenario.run.engine == "static")
    assert kpis["network"]["vehicle_km"]["baseline"]["mean"] > 10_000
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("<svg class='map'") == 3
    links = pd.read_parquet(tmp_path / "out" / "links.parquet")
    closed = [way for edit in scenario.edits if edit.kind == "close_road" for way in edit.osm_way_ids]
    if closed:
        on_closed = links[links["osm_way_id"].isin(closed)]
        assert len(on_closed) > 0 and (on_closed["scenario_vph"] == 0).all(), (
            "a closed road carries no traffic"
        )
        assert kpis["diversion"]["closed_to_cars"]["max_scenario_vph"] == 0


def test_same_seeds_same_impacts(bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = next(p for p in SCENARIOS if p.stem == "castle-street-pedestrian")
    documents = []
    for name in ("first", "second"):
        run(
            [
                "scenario",
                "run",
                str(path),
                "--twin",
                str(bundle),
                "--out",
                str(tmp_path / name),
                "--no-cache",
            ],
            capsys,
        )
        documents.append(json.loads((tmp_path / name / "kpis.json").read_text()))
    for key in COMPARED:
        assert documents[0][key] == documents[1][key]

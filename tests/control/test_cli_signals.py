"""``signals evaluate``: one JSON line last with KPIs per controller and demand; bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metaliverpool.cli.main import main


def test_signals_evaluate_on_a_short_jinan_run(
    benchmarks_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = benchmarks_data / "cityflow" / "Jinan_3_4"
    if not folder.is_dir():
        pytest.skip(f"no Jinan data at {folder}")
    main(["signals", "evaluate", "--cityflow-roadnet", str(folder / "roadnet_3_4.json"),
          "--cityflow-flow", str(folder / "anon_3_4_jinan_real.json"), "--controllers", "fixed,max-pressure",
          "--seeds", "2", "--demand-scale", "0.5", "--horizon-s", "600"])  # fmt: skip
    table = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(table["controllers"]) == {"fixed", "max-pressure"}
    entry = table["controllers"]["max-pressure"]["0.5"]
    for kpi in ("travel_time_s", "delay_s", "stops", "throughput_veh", "blocked_junction_s", "co2_kg"):
        assert entry[kpi]["n"] == 2 and entry[kpi]["lower"] <= entry[kpi]["mean"] <= entry[kpi]["upper"]
    assert entry["throughput_veh"]["mean"] > 0 and entry["co2_kg"]["mean"] > 0
    assert "travel_time_change_vs_fixed_pct" in entry


@pytest.mark.parametrize(
    "args",
    [
        ["--controllers", "magic", "--twin", "x"],
        ["--cityflow-roadnet", "a.json"],
        ["--twin", "x", "--demand-scale", "0,-1"],
        [],
    ],
)
def test_bad_input_exits_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["signals", "evaluate", *args])
    assert caught.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0

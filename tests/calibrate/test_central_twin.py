"""The central twin as ``metaliverpool build`` makes it by default: calibrated, validated, and its
dynamic morning peak holding together with the README's ``simulate`` flags (issue #16 targets)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_capture import run_cli
from metaliverpool.store.bundle import read_manifest

pytestmark = pytest.mark.slow


def test_the_default_build_is_calibrated_and_says_against_what(
    liverpool_centre_calibrated_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = read_manifest(liverpool_centre_calibrated_bundle)["calibration"]
    assert record["calibrated"] is True and record["engine"] == "static+dynamic"
    assert record["results"]["geh_below_5"]["static"] == "6/6"
    assert {o["use"] for o in record["observations"]} == {"calibration"}  # the held-out ones are apart
    held_out = record["validation"]["area_speeds"]
    assert [row["use"] for row in held_out] == ["validation"]
    speeds = held_out[0]["modelled_kmh_by_seed"]
    assert len(speeds) == 3 and min(speeds) > 0
    assert held_out[0]["modelled_kmh"] == pytest.approx(sum(speeds) / 3)
    # free-flow speeds calibrated statically to TomTom's free flow, checked on the simulated flows
    network = record["network"]
    assert network["static_kmh"] == pytest.approx(network["observed_kmh"], rel=0.002)
    assert "free_flow_speed" in {o["kind"] for o in record["observations"]}
    (check,) = record["validation"]["calibration_area_speeds"]
    assert check["free_flow"] and abs(check["difference"]) < 0.05  # measured: +1.0%
    assert "TomTom" in record["summary"] and "km/h modelled (mean of 3 seeds" in record["summary"]
    code, out, _ = run_cli(["twin", "info", str(liverpool_centre_calibrated_bundle)], capsys)
    assert code == 0 and record["summary"] in " ".join(out.split())


def test_the_calibrated_morning_peak_holds_together(
    liverpool_centre_calibrated_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the README's flags; seed 0 (the command's default)
    code, out, _ = run_cli(
        [
            "simulate",
            "--twin",
            str(liverpool_centre_calibrated_bundle),
            "--signals",
            "webster",
            "--dta-iterations",
            "3",
            "--gridlock-timeout",
            "300",
            "--out",
            str(tmp_path / "sim"),
        ],
        capsys,
    )
    summary = json.loads(out.strip().splitlines()[-1])
    assert code == 0
    assert summary["completed"] >= 0.995 * summary["vehicles"], summary
    assert summary["gridlock_interventions"] <= 0.005 * summary["vehicles"], summary

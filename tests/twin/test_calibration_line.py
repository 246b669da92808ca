"""The one line of what a twin was calibrated and validated against: from the manifest record, in
``twin info``, the scenario report and the twin catalogue the map reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from metaliverpool.cli.main import main
from metaliverpool.observed.summary import NOT_CALIBRATED, calibration_line
from metaliverpool.service.twins import TwinCatalog
from metaliverpool.store.bundle import write_twin
from small_twins import grid_twin

LINE = (
    "Calibrated to 4 river-crossing counts and DfT vehicle-km (GEH<5: 4/4); validated against TomTom "
    "centre speed: 22.1 km/h modelled vs 21.0 observed (+5%)"
)


def _record(**fields: Any) -> dict[str, Any]:
    return {
        "calibrated": True,
        "method": "Spiess gradient",
        "engine": "static",
        "observations": [
            {"id": "kingsway_to_liverpool", "kind": "count", "use": "calibration"},
            {"id": "queensway_to_liverpool", "kind": "count", "use": "calibration"},
            {"id": "tomtom", "kind": "area_speed", "use": "validation"},
        ],
        "results": {},
        "validation": None,
        **fields,
    }


def test_line_from_the_record() -> None:
    assert calibration_line({}) == NOT_CALIBRATED
    assert calibration_line({"calibration": None}) == NOT_CALIBRATED
    assert calibration_line({"calibration": {"calibrated": False}}) == NOT_CALIBRATED
    assert calibration_line({"calibration": _record(summary=LINE)}) == LINE
    # a summary is one line whatever its whitespace
    assert (
        calibration_line({"calibration": _record(summary="Calibrated to\n  4 counts")})
        == "Calibrated to 4 counts"
    )
    # no summary: made from the method and the observations' uses
    assert calibration_line({"calibration": _record()}) == (
        "Calibrated (Spiess gradient, static engine) to 2 observation(s); validated against 1 held out"
    )
    # an uncalibrated record never reads as calibrated
    line = calibration_line({"calibration": {"calibrated": False, "summary": "GEH<5 on 2/4 counts"}})
    assert line == "Not calibrated: GEH<5 on 2/4 counts"
    uncalibrated = {"calibrated": False, "summary": "Not calibrated: demand is the prior"}
    assert calibration_line({"calibration": uncalibrated}) == "Not calibrated: demand is the prior"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("calibration")
    prior = grid_twin(3)
    write_twin(prior, root / "prior")
    calibrated = grid_twin(3)
    calibrated.manifest["calibration"] = _record(summary=LINE)
    calibrated.manifest["region"] = "calibrated-grid"
    write_twin(calibrated, root / "calibrated")
    return root / "prior", root / "calibrated"


def test_twin_info_shows_the_line(bundles: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    prior, calibrated = bundles
    main(["twin", "info", str(calibrated)])
    lines = capsys.readouterr().out.splitlines()
    assert f"calibration: {json.dumps(LINE)}" in lines
    main(["twin", "info", str(prior), "--json"])
    assert json.loads(capsys.readouterr().out)["calibration"] == NOT_CALIBRATED


def test_catalogue_summary_for_the_map_carries_the_line(bundles: tuple[Path, Path]) -> None:
    catalogue = TwinCatalog(list(bundles))
    lines = {twin_id: catalogue.summary(twin_id)["calibration"] for twin_id in catalogue.entries}
    assert lines == {"test": NOT_CALIBRATED, "calibrated-grid": LINE}

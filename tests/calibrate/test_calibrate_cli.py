"""``metaliverpool calibrate`` on a small twin: observation files in, calibrated bundle out; bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from metaliverpool.cli.main import main
from metaliverpool.store.bundle import OD_PRIOR_TABLE, read_optional_table, read_twin, write_twin
from small_twins import grid_twin


def counts_csv(twin_dir: Path, path: Path, scale: float) -> None:
    """Counts at the midpoints of the 6 busiest links of the prior (static flows x ``scale``)."""
    from metaliverpool.edits.schema import RunSettings
    from metaliverpool.scenario.engines import run_static

    twin = read_twin(twin_dir)
    loads = run_static(twin, RunSettings(engine="static"), 1).link_loads
    busy = loads.sort_values("flow_veh").tail(6)
    nodes = twin.nodes.set_index("node_id")
    rows = ["site_id,lon,lat,bearing_deg,flow_vph,period,use,name"]
    for row in busy.itertuples():
        a, b = nodes.loc[row.from_node_id], nodes.loc[row.to_node_id]
        dx = (b.lon - a.lon) * math.cos(math.radians(a.lat))
        bearing = math.degrees(math.atan2(dx, b.lat - a.lat)) % 360
        lon, lat = (a.lon + b.lon) / 2, (a.lat + b.lat) / 2
        flow = row.flow_veh / 3.0 * scale
        rows.append(f"s{row.link_id},{lon:.6f},{lat:.6f},{bearing:.0f},{flow:.1f},07:00-10:00,calibration,")
    path.write_text("\n".join(rows) + "\n")


def test_calibrate_writes_a_calibrated_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prior = write_twin(grid_twin(trips_per_pair=600, departure_window_s=3 * 3600.0), tmp_path / "prior")
    counts_csv(prior, tmp_path / "counts.csv", 1.25)
    out = tmp_path / "calibrated"
    main(
        [
            "calibrate",
            "--twin",
            str(prior),
            "--observations",
            str(tmp_path / "counts.csv"),
            "--out",
            str(out),
            "--no-dynamic",
            "--max-cell-change",
            "1.0",
            "--trip-end-tolerance",
            "0.5",
            "--total-tolerance",
            "0.5",
        ]
    )
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["out"] == str(out) and summary["unmatched"] == []
    assert summary["geh_below_5"]["static"] == "6/6"
    twin = read_twin(out)
    assert twin.manifest["calibration"]["summary"] == summary["summary"]
    assert len(twin.trips) == summary["car_trips_calibrated"] > summary["car_trips_prior"]
    table = read_optional_table(out, OD_PRIOR_TABLE)
    assert table is not None and table["trips"].sum() == summary["car_trips_prior"]
    factors = np.array(
        [twin.manifest["calibration"]["results"][k] for k in ("cell_factor_min", "cell_factor_max")]
    )
    assert factors[0] >= 0.5 - 1e-9 and factors[1] <= 2.0 + 1e-9


def test_calibrate_bad_file_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prior = write_twin(grid_twin(trips_per_pair=600, departure_window_s=3 * 3600.0), tmp_path / "prior")
    bad = tmp_path / "counts.csv"
    bad.write_text(
        "site_id,lon,lat,bearing_deg,flow_vph,period,use,name\na,-2.99,53.405,90,-5,07:00-10:00,calibration,\n"
    )
    out = tmp_path / "calibrated"
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["calibrate", "--twin", str(prior), "--observations", str(bad), "--out", str(out), "--no-dynamic"]
        )
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "counts.csv" in error and "flow_vph" in error
    assert not out.exists()


def test_bad_cell_bound_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "calibrate",
                "--twin",
                str(tmp_path),
                "--observations",
                "x.csv",
                "--out",
                str(tmp_path / "o"),
                "--max-cell-change",
                "1,two",
            ]
        )
    assert exit_info.value.code == 2
    assert "--max-cell-change" in capsys.readouterr().err

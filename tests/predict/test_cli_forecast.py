"""The ``forecast`` commands: one JSON line last, bad input exits 2, a trained model is saved."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metaliverpool.cli.main import main
from metaliverpool.predict.series import save_series_csv
from metaliverpool.predict.synthetic import generate_history


@pytest.fixture(scope="module")
def series_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    history = generate_history(
        n_days=14, interval_min=15.0, n_branches=2, branch_links=2, trunk_links=2, seed=0
    )
    path = tmp_path_factory.mktemp("forecast") / "speeds.csv"
    save_series_csv(history.speed, path)
    return path


def test_evaluate_prints_scores_per_model_and_horizon(
    series_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["forecast", "evaluate", "--series", str(series_csv), "--interval-min", "15", "--horizons", "15,30",
          "--models", "ha,persistence,lgbm", "--lookback", "4"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary["scores"]) == {"ha", "persistence", "lgbm"}
    for model in summary["scores"].values():
        assert set(model) == {"15min", "30min"}
        assert all(np.isfinite(model["30min"][k]) for k in ("mae", "rmse", "mape_pct"))
    assert summary["split_rows"]["train_end"] == round(0.7 * summary["steps"])


def test_evaluate_reports_skill_and_choice_and_reads_matrix_adjacency(
    series_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n_sensors = len(series_csv.read_text().splitlines()[0].split(","))
    matrix = tmp_path / "adj.csv"  # N x N, no header, as several public benchmarks ship their graphs
    matrix.write_text("\n".join(",".join("1" if abs(i - j) == 1 else "0" for j in range(n_sensors))
                                for i in range(n_sensors)) + "\n")  # fmt: skip
    main(["forecast", "evaluate", "--series", str(series_csv), "--interval-min", "15", "--horizons", "15,30",
          "--models", "persistence,ha,lgbm", "--lookback", "4", "--adjacency", str(matrix)])  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    scores = summary["scores"]
    for horizon in ("15min", "30min"):
        assert scores["persistence"][horizon]["skill_vs_persistence"] == 0.0
        expected = 1.0 - scores["lgbm"][horizon]["mae"] / scores["persistence"][horizon]["mae"]
        assert scores["lgbm"][horizon]["skill_vs_persistence"] == pytest.approx(expected)
        chosen = summary["choice"]["lgbm"][horizon]
        validation = summary["validation_mae"]["lgbm"][horizon]
        assert validation[chosen] <= min(validation["persistence"], validation["ha"])
        if chosen != "lgbm":
            assert scores["lgbm"][horizon]["mae"] == scores[chosen][horizon]["mae"]


def test_train_saves_model_with_metadata(
    series_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    main(["forecast", "train", "--series", str(series_csv), "--interval-min", "15", "--model", "lgbm",
          "--out", str(out), "--lookback", "4"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    metadata = json.loads((out / "metadata.json").read_text())
    assert summary["path"] == str(out) and metadata["model"] == "lgbm"
    assert metadata["horizons_min"] == [15.0, 30.0, 60.0] and metadata["validation"]["30min"]["n"] > 0
    assert set(metadata["choice"]) == {"15min", "30min", "60min"} and summary["choice"] == metadata["choice"]
    assert metadata["settings"]["guard"]["choice"] == list(metadata["choice"].values())
    assert "skill_vs_persistence" in metadata["validation"]["60min"]


def test_bad_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,x\n", encoding="utf-8")
    with pytest.raises(SystemExit) as caught:
        main(["forecast", "evaluate", "--series", str(bad), "--interval-min", "5"])
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "line 2" in err
    with pytest.raises(SystemExit) as caught:
        main(["forecast", "evaluate", "--series", str(bad), "--interval-min", "5", "--models", "magic"])
    assert caught.value.code == 2


def test_history_writes_the_twin_series_with_events_and_adjacency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metaliverpool.predict.series import load_adjacency, load_series
    from web.twin_fixture import write_grid_twin

    twin = write_grid_twin(tmp_path / "grid")
    out = tmp_path / "flows.npz"
    main(["forecast", "history", "--twin", str(twin), "--out", str(out), "--days", "3", "--sensors", "4",
          "--interval-min", "1", "--quantity", "flow_vph"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    series = load_series(out, 1.0)
    assert summary["quantity"] == "flow_vph" and series.n_sensors == 4
    assert series.n_steps == summary["steps"] == 3 * series.steps_per_day and series.windowed
    assert series.start_time_s == 7 * 3600  # Monday 07:00: the twin's morning
    assert np.all(series.values >= 0) and series.values.sum() > 0
    links = set(range(24))  # the grid twin's link ids
    assert all(int(s) in links for s in series.sensor_ids)
    assert load_adjacency(out, series.sensor_ids).shape == (4, 4)
    for bad in (["--out", str(tmp_path / "h.csv")], ["--out", str(out), "--quantity", "queue"]):
        with pytest.raises(SystemExit) as caught:
            main(["forecast", "history", "--twin", str(twin), *bad])
        assert caught.value.code == 2


def test_skill_without_a_persistence_error_is_null(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flat.csv"  # constant speeds: persistence is exact, the skill has nothing to divide by
    path.write_text("a,b\n" + "10,12\n" * 200)
    main(["forecast", "evaluate", "--series", str(path), "--interval-min", "15", "--horizons", "15",
          "--models", "ha,persistence", "--lookback", "2"])  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["scores"]["persistence"]["15min"]["mae"] == 0.0
    assert summary["scores"]["ha"]["15min"]["skill_vs_persistence"] is None

"""Bad input to ``metaliverpool build``: one line on stderr naming the file, exit code 2, no bundle."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metaliverpool.cli.main import main


def run_build(capsys: pytest.CaptureFixture[str], out: Path, *args: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "--out", str(out), *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]  # no staging left
    return err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.osm.pbf"
    err = run_build(capsys, tmp_path / "twin", "--region", "liverpool-city-region", "--osm", str(missing))
    assert str(missing) in err and "not found" in err


def test_truncated_pbf(tmp_path: Path, crossroads_pbf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = crossroads_pbf.read_bytes()
    truncated = tmp_path / "truncated.osm.pbf"
    truncated.write_bytes(data[: len(data) // 2])
    err = run_build(capsys, tmp_path / "twin", "--region", "liverpool-city-region", "--osm", str(truncated))
    assert str(truncated) in err


def test_corrupt_pbf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = tmp_path / "corrupt.osm.pbf"
    corrupt.write_bytes(bytes(range(256)) * 40)
    err = run_build(capsys, tmp_path / "twin", "--region", "liverpool-city-region", "--osm", str(corrupt))
    assert str(corrupt) in err and "cannot read OSM data" in err


def test_truncated_json(tmp_path: Path, crossroads_json: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = crossroads_json.read_text()
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2])
    err = run_build(capsys, tmp_path / "twin", "--region", "liverpool-city-region", "--osm", str(truncated))
    assert str(truncated) in err and re.search(r"line \d+", err) and "not valid JSON" in err


def test_corrupt_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"elements": [{"type": "node", "id": 1}]}')
    err = run_build(capsys, tmp_path / "twin", "--region", "liverpool-city-region", "--osm", str(wrong))
    assert str(wrong) in err and "element 0" in err


def test_coordinates_outside_region(
    tmp_path: Path, crossroads_xml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the same network moved to central London
    text = crossroads_xml.read_text().replace('lat="53.', 'lat="51.').replace('lon="-2.9', 'lon="-0.1')
    london = tmp_path / "london.osm"
    london.write_text(text)
    err = run_build(capsys, tmp_path / "twin", "--region", "liverpool-city-region", "--osm", str(london))
    assert str(london) in err and "outside region" in err


def test_unknown_region(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = run_build(capsys, tmp_path / "twin", "--region", "atlantis")
    assert "atlantis" in err and "unknown region" in err and "liverpool-centre" in err


def test_failed_build_keeps_the_previous_bundle(
    tmp_path: Path, crossroads_json: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "twin"
    out.mkdir()
    (out / "marker").write_text("previous")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(SystemExit):
        main(["build", "--out", str(out), "--region", "liverpool-city-region", "--osm", str(bad)])
    assert (out / "marker").read_text() == "previous"


@pytest.mark.parametrize("suffix", [".osm", ".json"])
def test_way_referencing_an_absent_node(
    tmp_path: Path,
    crossroads_xml: Path,
    crossroads_json: Path,
    suffix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = crossroads_xml if suffix == ".osm" else crossroads_json
    text = source.read_text()
    broken = tmp_path / f"incomplete{suffix}"
    if suffix == ".osm":
        broken.write_text(text.replace('<node id="21" lat="53.4010" lon="-2.9900"/>', ""))
    else:
        import json

        document = json.loads(text)
        document["elements"] = [
            e for e in document["elements"] if not (e["type"] == "node" and e["id"] == 21)
        ]
        broken.write_text(json.dumps(document))
    err = run_build(capsys, tmp_path / "twin", "--region", "liverpool-city-region", "--osm", str(broken))
    assert str(broken) in err and "node 21" in err and "way 101" in err

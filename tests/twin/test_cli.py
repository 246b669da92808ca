"""``build --osm``, ``twin info``, ``twin export``, ``data status`` and ``data fetch`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely

from metaliverpool.cli.main import main
from metaliverpool.errors import DataUnavailableError
from metaliverpool.ingest.catalogue import SOURCES, Source, sha256_file
from metaliverpool.ingest.fetch import fetch_url
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.calibration import NOT_CALIBRATED
from metaliverpool.store.bundle import read_twin


def test_build_any_extract_then_info_and_export(
    tmp_path: Path, liverpool_data: Path, crossroads_pbf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "twin"
    main(["build", "--out", str(out), "--region", "liverpool-city-region", "--osm", str(crossroads_pbf)])
    twin = read_twin(out)
    assert twin.manifest["region"] == "liverpool-city-region"
    assert twin.manifest["calibration"] == NOT_CALIBRATED  # --osm: the prior unless --calibrate
    assert twin.manifest["sources"][0]["sha256"] == sha256_file(crossroads_pbf)
    assert (twin.zones["kind"] == "lsoa").any() and (twin.zones["kind"] == "external").any()
    assert len(twin.trips) > 0
    assert_trip_ends_in_their_zones(twin)
    capsys.readouterr()
    main(["twin", "info", str(out), "--json"])
    info = json.loads(capsys.readouterr().out)
    assert info["counts"]["links"] == len(twin.links) and info["signalised_junctions"] == 2
    assert info["calibration"] == NOT_CALIBRATED["summary"]
    main(["twin", "export", str(out), "--format", "geojson", "--out", str(tmp_path / "gj")])
    zones = json.loads((tmp_path / "gj" / "zones.geojson").read_text())
    assert len(zones["features"]) == len(twin.zones)


def test_build_calibrate_needs_the_counted_roads(
    tmp_path: Path, liverpool_data: Path, crossroads_pbf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "twin"
    args = ["build", "--out", str(out), "--region", "liverpool-city-region", "--osm", str(crossroads_pbf)]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--calibrate"])  # the Mersey tunnels are not in this extract
    assert exit_info.value.code == 2
    assert "no calibration count matches" in capsys.readouterr().err
    assert not out.exists()


def assert_trip_ends_in_their_zones(twin: Twin) -> None:
    """Each trip starts and ends at its zone's node or, for an LSOA, at a node inside the zone."""
    zones = twin.zones.set_index("zone_id")
    nodes = twin.nodes.set_index("node_id")
    for end in ("origin", "destination"):
        zone = zones.loc[twin.trips[f"{end}_zone_id"].to_numpy()]
        node = nodes.loc[twin.trips[f"{end}_node_id"].to_numpy()]
        at_node = zone["node_id"].to_numpy() == twin.trips[f"{end}_node_id"].to_numpy()
        lon, lat = node["lon"].to_numpy(), node["lat"].to_numpy()
        inside = shapely.contains_xy(zone["geometry"].to_numpy(), lon, lat)
        lsoa = (zone["kind"] == "lsoa").to_numpy()
        assert np.all(at_node | (lsoa & inside)), end


def test_export_rejects_unknown_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["twin", "export", str(tmp_path), "--format", "shapefile"])
    assert exit_info.value.code == 2 and "shapefile" in capsys.readouterr().err


def test_data_status_lists_every_source(liverpool_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["data", "status", "--json"])
    status = json.loads(capsys.readouterr().out)
    by_name = {r["name"]: r for r in status["sources"]}
    assert set(by_name) == {s.name for s in SOURCES}
    osm = by_name["osm_centre"]
    assert osm["found"] and osm["licence"] == "ODbL 1.0" and "OpenStreetMap" in osm["attribution"]
    assert osm["sha256"] == sha256_file(liverpool_data / SOURCES[0].path)
    assert by_name["imd2019"]["licence"] == "OGL v3.0"
    assert all(r["found"] for r in status["sources"] if r["required"])


def test_fetch_downloads_atomically(tmp_path: Path) -> None:
    source = tmp_path / "remote.csv"
    source.write_text("a,b\n1,2\n")
    target = fetch_url(source.as_uri(), tmp_path / "fetched" / "remote.csv")
    assert target.read_text() == "a,b\n1,2\n"


def test_fetch_offline_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(DataUnavailableError, match="cannot download"):
        fetch_url("http://127.0.0.1:9/merseyside-latest.osm.pbf", tmp_path / "x.pbf", timeout_s=2)
    assert not list(tmp_path.iterdir()) or not any(p.suffix == ".pbf" for p in tmp_path.iterdir())
    fake = Source("fake", "fetched/x.pbf", "", "", "", "", "", "http://127.0.0.1:9/x.osm.pbf")
    monkeypatch.setattr("metaliverpool.ingest.fetch.SOURCES", (fake,))
    monkeypatch.setenv("METALIVERPOOL_DATA", str(tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "fetch", "fake", "--timeout-s", "2"])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1 and "127.0.0.1:9" in err


def test_info_on_a_folder_that_is_not_a_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["twin", "info", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "manifest.json" in err and len(err.splitlines()) == 1

"""``metaliverpool survey``: buildings in three formats, a twin enriched with buildings and measured
widths, and bad input (corrupt LAS, DSM without CRS, mismatched grids) exiting 2 with nothing written."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from cli_capture import run_cli
from metaliverpool.store.bundle import read_optional_table, read_twin, write_twin
from metaliverpool.store.cityjson import REFERENCE_SYSTEM
from metaliverpool.store.geoparquet import read_geoparquet

from . import scenes


@pytest.fixture(scope="module")
def rasters(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return scenes.write_rasters(tmp_path_factory.mktemp("rasters"))


def test_buildings_formats(
    rasters: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dsm, dtm = rasters
    outputs = {}
    for name in ("b.parquet", "b.geojson", "b.city.json"):
        code, out, err = run_cli(
            ["survey", "buildings", "--dsm", str(dsm), "--dtm", str(dtm), "--out", str(tmp_path / name)],
            capsys,
        )
        assert code == 0, err
        outputs[name] = json.loads(out.strip().splitlines()[-1])
        assert outputs[name]["buildings"] == len(scenes.BUILDINGS)
    table = read_geoparquet(tmp_path / "b.parquet")
    assert {"height_m", "rel_h2_m", "source", "confidence"} <= set(table.columns)
    features = json.loads((tmp_path / "b.geojson").read_text())["features"]
    assert len(features) == len(scenes.BUILDINGS)
    check_cityjson(json.loads((tmp_path / "b.city.json").read_text()), table)


def check_cityjson(document: dict, table) -> None:
    """CityJSON 2.0: each LoD1 solid is closed (every edge used once each way) and faces outwards, so
    its signed volume (divergence theorem) equals footprint area x height."""
    assert document["type"] == "CityJSON" and document["version"] == "2.0"
    assert document["metadata"]["referenceSystem"] == REFERENCE_SYSTEM
    scale = np.array(document["transform"]["scale"])
    translate = np.array(document["transform"]["translate"])
    vertices = np.array(document["vertices"]) * scale + translate
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    assert len(document["CityObjects"]) == len(table)
    for row in table.itertuples():
        city_object = document["CityObjects"][f"building-{row.building_id}"]
        assert city_object["type"] == "Building"
        (geometry,) = city_object["geometry"]
        assert geometry["type"] == "Solid" and geometry["lod"] == "1"
        edges: dict[tuple[int, int], int] = {}
        volume = 0.0
        for surface in geometry["boundaries"][0]:
            for ring in surface:
                for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
                    edges[(a, b)] = edges.get((a, b), 0) + 1
            exterior = vertices[surface[0]]
            for i in range(1, len(exterior) - 1):
                volume += np.dot(exterior[0], np.cross(exterior[i], exterior[i + 1])) / 6.0
        assert all(count == 1 and edges.get((b, a)) == 1 for (a, b), count in edges.items())
        footprint = shapely.transform(
            row.geometry, lambda xy: np.column_stack(to_bng.transform(xy[:, 0], xy[:, 1]))
        )
        assert volume == pytest.approx(footprint.area * row.height_m, rel=1e-4)


def test_ingest_twin(rasters: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dsm, dtm = rasters
    write_twin(scenes.scene_twin(), tmp_path / "twin")
    code, out, err = run_cli(
        [
            "survey",
            "ingest",
            "--twin",
            str(tmp_path / "twin"),
            "--dsm",
            str(dsm),
            "--dtm",
            str(dtm),
            "--out",
            str(tmp_path / "enriched"),
        ],
        capsys,
    )
    assert code == 0, err
    line = json.loads(out.strip().splitlines()[-1])
    assert line["buildings"] == len(scenes.BUILDINGS) and line["links_measured"] == 3
    twin = read_twin(tmp_path / "enriched")
    links = twin.links.sort_values("link_id")
    widths = links["measured_width_m"].to_numpy()
    assert np.abs(widths - np.array([7.3, 7.3, 6.0])).max() <= 0.3
    assert list(links["lane_check"]) == ["ok", "ok", "narrow"]
    buildings = read_optional_table(tmp_path / "enriched", "buildings")
    assert buildings is not None and len(buildings) == len(scenes.BUILDINGS)
    kerbs = read_optional_table(tmp_path / "enriched", "kerbs")
    assert kerbs is not None and sorted(zip(kerbs["link_id"], kerbs["side"], strict=True)) == [
        (0, "left"),
        (0, "right"),
        (2, "left"),
        (2, "right"),
    ]  # one carriageway per way: link 1 runs back over link 0's
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    for row in kerbs.itertuples():
        road = scenes.ROADS[0 if row.link_id == 0 else 1]
        centre = scenes.to_world(road.centre)
        kerb = shapely.transform(
            row.geometry, lambda xy: np.column_stack(to_bng.transform(xy[:, 0], xy[:, 1]))
        )
        middle = kerb.interpolate(0.5, normalized=True)
        assert abs(centre.distance(middle) - road.width_m / 2) <= 0.3
        true_kerb = centre.offset_curve(road.width_m / 2 if row.side == "left" else -road.width_m / 2)
        assert true_kerb.distance(middle) <= 0.3
    survey = twin.manifest["survey"]
    assert survey["kind"] == "survey_dsm" and len(survey["files"]) == 2
    assert all(len(f["sha256"]) == 64 for f in survey["files"])
    assert "buildings" in twin.manifest["tables"]


def test_ingest_with_points_and_footprints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Heights for given footprints from a classified LAZ cloud."""
    cloud = scenes.write_points(tmp_path / "scene.laz", density_per_m2=4.0)
    to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    features = [
        {
            "type": "Feature",
            "properties": {"osm_way_id": 10 + i},
            "geometry": json.loads(
                shapely.to_geojson(
                    shapely.transform(
                        scenes.to_world(b.footprint),
                        lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])),
                    )
                )
            ),
        }
        for i, b in enumerate(scenes.BUILDINGS)
    ]
    footprints = tmp_path / "osm_buildings.geojson"
    footprints.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    write_twin(scenes.scene_twin(), tmp_path / "twin")
    code, _, err = run_cli(
        [
            "survey",
            "ingest",
            "--twin",
            str(tmp_path / "twin"),
            "--points",
            str(cloud),
            "--footprints",
            str(footprints),
            "--out",
            str(tmp_path / "enriched"),
        ],
        capsys,
    )
    assert code == 0, err
    buildings = read_optional_table(tmp_path / "enriched", "buildings")
    assert buildings is not None
    assert list(buildings["footprint_osm_way_id"]) == [10, 11, 12, 13]
    expected = [b.expected()["rel_h_max_m"] for b in scenes.BUILDINGS]
    assert np.abs(buildings["height_m"].to_numpy() - expected).max() <= 0.5
    assert set(buildings["source"]) == {"footprints+survey_points"}


def bad_input_cases(tmp_path: Path, rasters: tuple[Path, Path]) -> list[tuple[list[str], Path, str]]:
    """(source arguments, the file the error must name, a phrase of the problem)."""
    dsm, dtm = rasters
    cloud = scenes.write_points(tmp_path / "whole.las", density_per_m2=1.0)
    truncated = tmp_path / "truncated.las"
    truncated.write_bytes(cloud.read_bytes()[: cloud.stat().st_size // 2])
    garbage = tmp_path / "garbage.laz"
    garbage.write_bytes(b"not a point cloud at all" * 10)
    no_crs_cloud = scenes.write_points(tmp_path / "nocrs.las", density_per_m2=1.0, crs=None)
    values, _, transform = scenes.grids()
    no_crs = scenes.write_geotiff(tmp_path / "nocrs.tif", values, transform, crs=None)
    shifted = scenes.write_geotiff(tmp_path / "shifted.tif", values, transform @ transform.translation(3, 0))
    smaller = scenes.write_geotiff(tmp_path / "small.tif", values[:-5], transform)
    return [
        (["--points", str(truncated)], truncated, "LAS"),
        (["--points", str(garbage)], garbage, "LAS"),
        (["--points", str(no_crs_cloud)], no_crs_cloud, "coordinate reference system"),
        (["--dsm", str(no_crs), "--dtm", str(dtm)], no_crs, "coordinate reference system"),
        (["--dsm", str(dsm), "--dtm", str(shifted)], shifted, "does not match"),
        (["--dsm", str(dsm), "--dtm", str(smaller)], smaller, "does not match"),
        (["--dsm", str(dsm)], Path("--dsm/--dtm"), "both"),
    ]


def test_bad_input_exits_2_and_writes_nothing(
    rasters: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_twin(scenes.scene_twin(), tmp_path / "twin")
    for arguments, named, phrase in bad_input_cases(tmp_path, rasters):
        for command in (
            ["survey", "buildings", *arguments, "--out", str(tmp_path / "out.parquet")],
            [
                "survey",
                "ingest",
                "--twin",
                str(tmp_path / "twin"),
                *arguments,
                "--out",
                str(tmp_path / "out_twin"),
            ],
        ):
            code, _, err = run_cli(command, capsys)
            assert code == 2, (command, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and str(named) in lines[0] and phrase in lines[0], lines
            assert not (tmp_path / "out.parquet").exists() and not (tmp_path / "out_twin").exists()
    code, _, err = run_cli(
        [
            "survey",
            "buildings",
            "--dsm",
            str(rasters[0]),
            "--dtm",
            str(rasters[1]),
            "--out",
            str(tmp_path / "b.shp"),
        ],
        capsys,
    )
    assert code == 2 and "b.shp" in err and "extension" in err


def test_3dtiles_export(
    rasters: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The glb parses as glTF 2.0; the mesh is closed with outward faces, and its volume back in the
    local east-north-up frame is footprint area x height summed; the tile's transform puts that frame at
    the buildings' centre on the ellipsoid, and its region holds every footprint."""
    dsm, dtm = rasters
    out = tmp_path / "city.3dtiles"
    code, _, err = run_cli(
        ["survey", "buildings", "--dsm", str(dsm), "--dtm", str(dtm), "--out", str(out)], capsys
    )
    assert code == 0, err
    code, _, err = run_cli(
        ["survey", "buildings", "--dsm", str(dsm), "--dtm", str(dtm), "--out", str(tmp_path / "b.parquet")],
        capsys,
    )
    table = read_geoparquet(tmp_path / "b.parquet")
    tileset = json.loads((out / "tileset.json").read_text())
    assert tileset["asset"]["version"] == "1.1" and tileset["root"]["content"]["uri"] == "buildings.glb"
    data = (out / "buildings.glb").read_bytes()
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_length, json_type = struct.unpack_from("<II", data, 12)
    document = json.loads(data[20 : 20 + json_length])
    bin_length, bin_type = struct.unpack_from("<II", data, 20 + json_length)
    assert (json_type, bin_type) == (0x4E4F534A, 0x004E4942)
    binary = data[28 + json_length : 28 + json_length + bin_length]
    accessor = document["accessors"][0]
    view = document["bufferViews"][accessor["bufferView"]]
    positions = np.frombuffer(
        binary, dtype=np.float32, count=accessor["count"] * 3, offset=view["byteOffset"]
    ).reshape(-1, 3)
    assert np.allclose(positions.min(axis=0), accessor["min"]) and np.allclose(
        positions.max(axis=0), accessor["max"]
    )
    enu = positions.astype(np.float64) @ np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]).T
    triangles = enu.reshape(-1, 3, 3)
    volume = float(
        np.sum(np.einsum("ij,ij->i", triangles[:, 0], np.cross(triangles[:, 1], triangles[:, 2]))) / 6.0
    )
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    expected = sum(
        shapely.transform(g, lambda xy: np.column_stack(to_bng.transform(xy[:, 0], xy[:, 1]))).area * h
        for g, h in zip(table["geometry"], table["height_m"], strict=True)
    )
    assert volume == pytest.approx(expected, rel=2e-3)  # local transverse Mercator against BNG scale
    frame = np.array(tileset["root"]["transform"]).reshape(4, 4).T
    west, south, east, north, low, high = tileset["root"]["boundingVolume"]["region"]
    lon0, lat0 = np.degrees((west + east) / 2), np.degrees((south + north) / 2)
    centre = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True).transform(lon0, lat0, 0.0)
    assert np.allclose(frame[:3, 3], centre, atol=1e-3)
    assert np.allclose(frame[:3, :3].T @ frame[:3, :3], np.eye(3), atol=1e-12)
    lon_lat = np.radians(shapely.get_coordinates(np.asarray(table["geometry"].to_numpy())))
    assert (lon_lat[:, 0] >= west - 1e-12).all() and (lon_lat[:, 0] <= east + 1e-12).all()
    assert low == 0.0 and high == pytest.approx(table["height_m"].max())

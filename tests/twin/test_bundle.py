"""Bundle round trip, GeoParquet metadata, GeoJSON export and bundle read errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from metaliverpool.errors import InputError
from metaliverpool.ingest.osm_network import NetworkConfig, network_from_osm
from metaliverpool.ingest.osm_read import read_osm
from metaliverpool.network.twin import TABLE_COLUMNS, Twin
from metaliverpool.store.bundle import read_twin, write_twin
from metaliverpool.store.geojson import twin_to_geojson


@pytest.fixture(scope="module")
def twin(crossroads_xml: Path) -> Twin:
    network = network_from_osm(read_osm(crossroads_xml), NetworkConfig())
    return Twin(
        nodes=network.nodes,
        links=network.links,
        junctions=network.junctions,
        turn_restrictions=network.turn_restrictions,
        active_nodes=network.active_nodes,
        active_links=network.active_links,
        bus_stops=network.bus_stops,
        manifest={"region": "test"},
    )


def test_round_trip_keeps_every_table(tmp_path: Path, twin: Twin) -> None:
    write_twin(twin, tmp_path / "b")
    back = read_twin(tmp_path / "b")
    assert back.counts() == twin.counts()
    for name in ("nodes", "links", "junctions", "turn_restrictions"):
        original = twin.tables()[name]
        loaded = back.tables()[name][original.columns]
        for column in original.columns:
            if column == "geometry":
                assert all(a.equals(b) for a, b in zip(original[column], loaded[column], strict=True))
            elif name == "junctions" and column.endswith("ids"):
                assert [list(map(int, x)) for x in original[column]] == list(loaded[column])
            else:
                pd.testing.assert_series_equal(original[column], loaded[column], check_names=False)
    assert back.manifest["format_version"] == 1 and back.manifest["counts"]["links"] == len(twin.links)


def test_geoparquet_metadata(tmp_path: Path, twin: Twin) -> None:
    write_twin(twin, tmp_path / "b")
    geo = json.loads(pq.read_schema(tmp_path / "b" / "links.parquet").metadata[b"geo"])
    assert geo["version"] == "1.0.0" and geo["primary_column"] == "geometry"
    column = geo["columns"]["geometry"]
    assert column["encoding"] == "WKB" and column["geometry_types"] == ["LineString"]
    assert column["crs"]["id"] == {"authority": "EPSG", "code": 4326}
    names = pq.read_schema(tmp_path / "b" / "links.parquet").names
    required = [c for c in TABLE_COLUMNS["links"] if c != "geometry"]
    assert names[: len(required)] == required and names[-1] == "geometry"


def test_geojson_export(tmp_path: Path, twin: Twin) -> None:
    paths = twin_to_geojson(twin, tmp_path / "g")
    links = json.loads((tmp_path / "g" / "links.geojson").read_text())
    assert links["type"] == "FeatureCollection" and len(links["features"]) == len(twin.links)
    assert links["features"][0]["geometry"]["type"] == "LineString"
    assert {p.name for p in paths} >= {"nodes.geojson", "links.geojson", "junctions.geojson"}


def test_reading_a_broken_bundle(tmp_path: Path, twin: Twin) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_twin(tmp_path / "nothing")
    write_twin(twin, tmp_path / "b")
    (tmp_path / "b" / "zones.parquet").unlink()
    with pytest.raises(InputError, match=r"zones\.parquet"):
        read_twin(tmp_path / "b")
    (tmp_path / "b" / "links.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match=r"links\.parquet"):
        read_twin(tmp_path / "b")


def test_failed_write_leaves_nothing(tmp_path: Path, twin: Twin) -> None:
    broken = Twin(nodes=twin.nodes, links=twin.links.drop(columns=["toll_gbp"]))
    with pytest.raises(ValueError, match="toll_gbp"):
        write_twin(broken, tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_format_doc_lists_every_required_column() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "twin-format.md").read_text()
    for table, columns in TABLE_COLUMNS.items():
        assert f"## {table}" in doc or f"`{table}`" in doc, table
        for column in columns:
            assert f"`{column}`" in doc, (table, column)

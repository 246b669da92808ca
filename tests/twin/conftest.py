"""Fixtures of the twin tests: the hand-made OSM file in three formats, and golden-file comparison.

Refresh golden files with ``METALIVERPOOL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/twin``; review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import osmium
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
UPDATE_ENV = "METALIVERPOOL_UPDATE_GOLDEN"


def osm_xml_to_pbf(source: Path, target: Path) -> Path:
    """Copy an OSM file to PBF with pyosmium's writer."""
    with osmium.SimpleWriter(str(target)) as writer:
        for obj in osmium.FileProcessor(str(source)):
            writer.add(obj)
    return target


def osm_xml_to_overpass_json(source: Path, target: Path) -> Path:
    """Write an OSM file as an Overpass API JSON response (the format OSMnx caches)."""
    elements: list[dict[str, Any]] = []
    for obj in osmium.FileProcessor(str(source)):
        tags = {t.k: t.v for t in obj.tags}
        if obj.is_node():
            element: dict[str, Any] = {
                "type": "node",
                "id": obj.id,
                "lat": obj.location.lat,
                "lon": obj.location.lon,
            }
        elif obj.is_way():
            element = {"type": "way", "id": obj.id, "nodes": [n.ref for n in obj.nodes]}
        else:
            type_name = {"n": "node", "w": "way", "r": "relation"}
            members = [{"type": type_name[m.type], "ref": m.ref, "role": m.role} for m in obj.members]
            element = {"type": "relation", "id": obj.id, "members": members}
        if tags:
            element["tags"] = tags
        elements.append(element)
    document = {"version": 0.6, "osm3s": {"timestamp_osm_base": "2025-01-01T00:00:00Z"}, "elements": elements}
    target.write_text(json.dumps(document, indent=1))
    return target


@pytest.fixture(scope="session")
def crossroads_xml() -> Path:
    """The hand-made OSM XML fixture."""
    return FIXTURES / "crossroads.osm"


@pytest.fixture(scope="session")
def crossroads_pbf(tmp_path_factory: pytest.TempPathFactory, crossroads_xml: Path) -> Path:
    """The fixture as PBF."""
    return osm_xml_to_pbf(crossroads_xml, tmp_path_factory.mktemp("pbf") / "crossroads.osm.pbf")


@pytest.fixture(scope="session")
def crossroads_json(tmp_path_factory: pytest.TempPathFactory, crossroads_xml: Path) -> Path:
    """The fixture as Overpass JSON."""
    return osm_xml_to_overpass_json(crossroads_xml, tmp_path_factory.mktemp("json") / "crossroads.json")


def check_golden(name: str, value: Any) -> None:
    """Compare ``value`` with ``golden/<name>.json``; rewrite it when ``METALIVERPOOL_UPDATE_GOLDEN=1``."""
    path = GOLDEN / f"{name}.json"
    text = json.dumps(value, indent=1, sort_keys=True) + "\n"
    if os.environ.get(UPDATE_ENV) == "1" or not path.exists():
        if os.environ.get(UPDATE_ENV) != "1":
            pytest.fail(f"golden file {path} missing; create it with {UPDATE_ENV}=1")
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
        return
    expected = json.loads(path.read_text())
    assert json.loads(text) == expected, f"differs from {path}; refresh with {UPDATE_ENV}=1 if intended"

"""Read OpenStreetMap data into plain Python structures (:class:`OsmData`).

Three formats: the Overpass API JSON response (``.json``, as cached by OSMnx), OSM XML (``.osm``,
``.osm.bz2``, ``.osm.gz``) and PBF (``.osm.pbf``, ``.pbf``); the latter two through pyosmium. Every
element keeps its OSM id. Bad input (missing, truncated or corrupt file, a way referencing a node that is
absent) raises :class:`~metaliverpool.errors.InputError` naming the file and the place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from metaliverpool.errors import InputError

PYOSMIUM_SUFFIXES = (".pbf", ".osm", ".osm.bz2", ".osm.gz", ".o5m")


@dataclass(frozen=True)
class OsmWay:
    """An OSM way: id, node ids in order, tags."""

    osm_way_id: int
    node_ids: tuple[int, ...]
    tags: dict[str, str]


@dataclass(frozen=True)
class OsmRelation:
    """An OSM relation: id, members as (type ``n``/``w``/``r``, ref, role), tags."""

    osm_relation_id: int
    members: tuple[tuple[str, int, str], ...]
    tags: dict[str, str]


@dataclass
class OsmData:
    """OSM elements: node coordinates (degrees), tags of tagged nodes, ways and relations."""

    node_lonlat: dict[int, tuple[float, float]] = field(default_factory=dict)
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)
    ways: list[OsmWay] = field(default_factory=list)
    relations: list[OsmRelation] = field(default_factory=list)
    timestamp: str = ""


def read_osm(path: Path) -> OsmData:
    """Read an OSM file (Overpass JSON, OSM XML or PBF, chosen by suffix)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found (expected an OSM extract: .json, .osm or .osm.pbf)")
    name = path.name.lower()
    if name.endswith(".json"):
        data = read_overpass_json(path)
    elif name.endswith(PYOSMIUM_SUFFIXES):
        data = read_osm_pyosmium(path)
    else:
        raise InputError(path, "unknown OSM file type (expected .json, .osm, .osm.bz2, .osm.gz or .osm.pbf)")
    check_references(data, path)
    return data


def read_overpass_json(path: Path) -> OsmData:
    """Read an Overpass API JSON response (``{"elements": [...]}``)."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as error:
        raise InputError(
            path, f"not valid JSON ({error.msg}); truncated or corrupt?", where=f"line {error.lineno}"
        ) from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text (expected Overpass JSON)") from None
    if not isinstance(document, dict) or not isinstance(document.get("elements"), list):
        raise InputError(path, "expected an Overpass JSON object with an 'elements' list")
    data = OsmData(timestamp=str((document.get("osm3s") or {}).get("timestamp_osm_base", "")))
    for index, element in enumerate(document["elements"]):
        try:
            kind = element["type"]
            osm_id = int(element["id"])
            tags = {str(k): str(v) for k, v in (element.get("tags") or {}).items()}
            if kind == "node":
                data.node_lonlat[osm_id] = (float(element["lon"]), float(element["lat"]))
                if tags:
                    data.node_tags[osm_id] = tags
            elif kind == "way":
                data.ways.append(OsmWay(osm_id, tuple(int(n) for n in element["nodes"]), tags))
            elif kind == "relation":
                members = tuple(
                    (str(m["type"])[0], int(m["ref"]), str(m.get("role", ""))) for m in element["members"]
                )
                data.relations.append(OsmRelation(osm_id, members, tags))
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(
                path, f"malformed OSM element (missing or bad field {error})", where=f"element {index}"
            ) from None
    return data


KEPT_NODE_KEYS = ("highway", "crossing", "public_transport", "railway")
"""Tagged nodes kept from PBF/XML files (signals, give-way, crossings, bus stops); others are skipped."""


def read_osm_pyosmium(path: Path) -> OsmData:
    """Read OSM XML or PBF through pyosmium in two passes.

    Pass 1 keeps ``highway`` ways with their node coordinates (pyosmium's node-location index, so nodes
    of buildings and other features never reach Python); pass 2 keeps tagged nodes with a key of
    :data:`KEPT_NODE_KEYS` and ``type=restriction`` relations. A way node without a location (an
    incomplete or truncated extract) is reported as an :class:`InputError`.
    """
    import osmium

    data = OsmData()
    missing: list[tuple[int, int]] = []

    class _Ways(osmium.SimpleHandler):
        def way(self, w: osmium.osm.Way) -> None:
            refs = []
            for node in w.nodes:
                refs.append(node.ref)
                if node.location.valid():
                    data.node_lonlat[node.ref] = (node.location.lon, node.location.lat)
                elif not missing:
                    missing.append((w.id, node.ref))
            data.ways.append(OsmWay(w.id, tuple(refs), {t.k: t.v for t in w.tags}))

    class _Tagged(osmium.SimpleHandler):
        def node(self, n: osmium.osm.Node) -> None:
            if any(key in n.tags for key in KEPT_NODE_KEYS):
                data.node_tags[n.id] = {t.k: t.v for t in n.tags}
                if n.location.valid():
                    data.node_lonlat.setdefault(n.id, (n.location.lon, n.location.lat))

        def relation(self, r: osmium.osm.Relation) -> None:
            if r.tags.get("type") == "restriction":
                members = tuple((m.type, m.ref, m.role) for m in r.members)
                data.relations.append(OsmRelation(r.id, members, {t.k: t.v for t in r.tags}))

    try:
        _Ways().apply_file(str(path), locations=True, filters=[osmium.filter.KeyFilter("highway")])
        _Tagged().apply_file(str(path), filters=[osmium.filter.EmptyTagFilter()])
    except (RuntimeError, ValueError, OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(path, f"cannot read OSM data ({message}); truncated or corrupt?") from None
    if missing:
        way_id, node_id = missing[0]
        raise InputError(
            path,
            f"references node {node_id}, absent from the file (expected a complete extract)",
            where=f"way {way_id}",
        )
    return data


def check_references(data: OsmData, path: Path) -> None:
    """Raise :class:`InputError` if the file has no nodes or a ``highway`` way references an absent node."""
    if not data.node_lonlat:
        raise InputError(path, "no OSM nodes with coordinates found (empty or not an OSM extract)")
    lonlat = data.node_lonlat
    for way in data.ways:
        if "highway" not in way.tags:
            continue
        for node_id in way.node_ids:
            if node_id not in lonlat:
                raise InputError(
                    path,
                    f"references node {node_id}, absent from the file (expected a complete extract)",
                    where=f"way {way.osm_way_id}",
                )

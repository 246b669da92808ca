"""The City Region's public map sources, read as plain feature rows (geometry as shapely, WGS84 degrees).

Files, all under the data folder (``/work/shared/data/liverpool/SOURCES.md`` gives each one's provenance):

- ``boundaries/lcr_lad_from_lsoa2011.geojson``: the six districts (``LAD11CD``, ``LAD_NM``).
- ``boundaries/lcr_wards2013_bgc.geojson``: the 132 electoral wards of 2013 (``WD13CD``, ``WD13NM``,
  ``LAD_NM``).
- ``boundaries/lcr_lsoa2011_bgc.geojson`` with ``imd2019/lcr_imd2019_domains_and_population.csv``: LSOAs
  with mid-2015 population and the IMD 2019 decile and the deciles of its seven domains.
- ``poi/*.geojson``: hospitals, GP practices and schools (``ingest.services.POI_SOURCES``).
- ``public_transport/naptan_*.csv``: NaPTAN stops (rail stations, ferry terminals, bus stops).
- ``roads_lcr/lcr_srn_hapms_2020.geojson`` (the Strategic Road Network) and
  ``roads_lcr/lcr_rapid2020_cohesive_network.geojson`` (main-road sections).

A missing or malformed file raises :class:`~metaliverpool.errors.InputError` naming it.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import shapely

from metaliverpool.errors import InputError
from metaliverpool.ingest.services import POI_SOURCES
from metaliverpool.ingest.zones import DECILE_COLUMNS, read_geojson_features, read_imd

DISTRICTS_FILE = "boundaries/lcr_lad_from_lsoa2011.geojson"
WARDS_FILE = "boundaries/lcr_wards2013_bgc.geojson"
LSOA_FILE = "boundaries/lcr_lsoa2011_bgc.geojson"
IMD_FILE = "imd2019/lcr_imd2019_domains_and_population.csv"
NAPTAN_FILES = (
    "public_transport/naptan_rail_ferry_lcr_2026-08.csv",
    "public_transport/naptan_280_merseyside_stops_2026-08.csv",
    "public_transport/naptan_068_halton_stops_2026-08.csv",
)
SRN_FILE = "roads_lcr/lcr_srn_hapms_2020.geojson"
MAIN_ROADS_FILE = "roads_lcr/lcr_rapid2020_cohesive_network.geojson"

NAPTAN_COLUMNS = ("ATCOCode", "CommonName", "Street", "Indicator", "LocalityName", "StopType")
NAPTAN_KINDS = {"RLY": "rail", "FER": "ferry", "BCT": "bus", "BCS": "bus"}
"""NaPTAN stop types kept (rail stations, ferry terminals, bus stops on street and in bus stations), by the
kind the map shows; others (station entrances, taxi ranks, ...) are dropped."""
POI_DETAILS = {
    "hospital": ("Address1", "Address2", "City", "Postcode", "Phone", "Website", "Sector", "ParentName"),
    "gp": ("Address", "Postcode"),
    "school": ("phase", "type", "postcode", "ofstedLabel", "website"),
}
"""The source properties shown as a service's details, by kind."""


def _shape(path: Path, index: int, feature: Any) -> Any:
    try:
        return shapely.geometry.shape(feature["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputError(path, f"malformed geometry ({error})", where=f"feature {index}") from None


def _property(path: Path, index: int, props: dict[str, Any], key: str) -> str:
    value = props.get(key)
    if value is None:
        raise InputError(path, f"missing property '{key}'", where=f"feature {index}")
    return str(value)


def _read_areas(path: Path, properties: dict[str, str], what: str) -> list[dict[str, Any]]:
    """Areas of a GeoJSON file: our names for its ``properties`` (ours -> the file's) and ``geometry``;
    ``InputError`` when the file has none (``what`` names them)."""
    rows = []
    for index, feature in enumerate(read_geojson_features(path)):
        props = feature.get("properties") or {}
        row: dict[str, Any] = {ours: _property(path, index, props, key) for ours, key in properties.items()}
        row["geometry"] = _shape(path, index, feature)
        rows.append(row)
    if not rows:
        raise InputError(path, f"no {what}")
    return rows


def read_districts(data: Path) -> list[dict[str, Any]]:
    """The districts: ``code``, ``name`` and ``geometry`` (multi-polygon)."""
    return _read_areas(data / DISTRICTS_FILE, {"code": "LAD11CD", "name": "LAD_NM"}, "districts")


def read_wards(data: Path) -> list[dict[str, Any]]:
    """The electoral wards (2013): ``code``, ``name``, ``district`` and ``geometry``."""
    properties = {"code": "WD13CD", "name": "WD13NM", "district": "LAD_NM"}
    return _read_areas(data / WARDS_FILE, properties, "wards")


def read_lsoas(data: Path) -> list[dict[str, Any]]:
    """LSOAs: ``code``, ``name``, ``district``, ``population`` (mid-2015), ``imd_decile`` and the deciles
    of the IMD's domains (``DECILE_COLUMNS``: ``income_decile``, ``employment_decile``, ...; 1 = most
    deprived 10% of LSOAs in England) and ``geometry``."""
    path = data / LSOA_FILE
    table = read_imd(data / IMD_FILE)
    imd_path = data / IMD_FILE
    imd: dict[str, dict[str, int]] = {}
    for line, record in enumerate(table.to_dict("records"), start=2):
        try:
            imd[str(record["zone_code"])] = {key: int(record[key]) for key in ("population", *DECILE_COLUMNS)}
        except (TypeError, ValueError):
            raise InputError(
                imd_path, "expected whole-number population and deciles", where=f"line {line}"
            ) from None
    rows = []
    for index, feature in enumerate(read_geojson_features(path)):
        props = feature.get("properties") or {}
        code = _property(path, index, props, "LSOA11CD")
        if code not in imd:
            raise InputError(data / IMD_FILE, f"no IMD row for LSOA {code}")
        rows.append(
            {
                "code": code,
                "name": _property(path, index, props, "LSOA11NM"),
                "district": str(props.get("LAD_NM") or ""),
                **imd[code],
                "geometry": _shape(path, index, feature),
            }
        )
    return rows


def read_services(data: Path, region: Any) -> list[dict[str, Any]]:
    """Hospitals, GP practices and schools inside ``region`` (a shapely geometry): ``kind``, ``name``,
    ``source_id``, ``details`` (address, phone, ... as the source has them) and ``geometry`` (point)."""
    rows = []
    for kind, _source, relative, name_key, id_key in POI_SOURCES:
        path = data / relative
        for index, feature in enumerate(read_geojson_features(path)):
            props = feature.get("properties") or {}
            geometry = _shape(path, index, feature)
            if geometry.geom_type != "Point" or not region.contains(geometry):
                continue
            details = {key: str(props[key]) for key in POI_DETAILS[kind] if props.get(key) not in (None, "")}
            rows.append(
                {
                    "kind": kind,
                    "name": str(props.get(name_key) or ""),
                    "source_id": str(props.get(id_key) or ""),
                    "details": details,
                    "geometry": geometry,
                }
            )
    return rows


def read_stops(data: Path, region: Any) -> list[dict[str, Any]]:
    """Active NaPTAN rail stations, ferry terminals and bus stops inside ``region``: ``atco``, ``kind``
    (rail, ferry, bus), ``name``, ``street``, ``indicator``, ``locality`` and ``geometry`` (point).
    A stop listed in two files is kept once."""
    rows: dict[str, dict[str, Any]] = {}
    for relative in NAPTAN_FILES:
        path = data / relative
        if not path.is_file():
            raise InputError(path, "file not found")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            wanted = (*NAPTAN_COLUMNS, "Longitude", "Latitude", "Status")
            missing = [c for c in wanted if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(path, f"missing NaPTAN columns {missing}", where="header")
            for line, record in enumerate(reader, start=2):
                kind = NAPTAN_KINDS.get(record["StopType"])
                if kind is None or record["Status"] != "active" or record["ATCOCode"] in rows:
                    continue
                try:
                    point = shapely.Point(float(record["Longitude"]), float(record["Latitude"]))
                except ValueError:
                    raise InputError(
                        path, "expected numeric Longitude and Latitude", where=f"line {line}"
                    ) from None
                if region.contains(point):
                    rows[record["ATCOCode"]] = {
                        "atco": record["ATCOCode"],
                        "kind": kind,
                        "name": record["CommonName"],
                        "street": record["Street"] if record["Street"] not in ("", "-") else "",
                        "indicator": record["Indicator"],
                        "locality": record["LocalityName"],
                        "geometry": point,
                    }
    return list(rows.values())


def read_roads(data: Path) -> list[dict[str, Any]]:
    """Motorways and trunk roads of the Strategic Road Network (``class`` motorway or trunk, ``ref``) and
    main-road sections (``class`` the OSM highway type, ``ref``, ``name``), each with ``geometry``."""
    rows = []
    path = data / SRN_FILE
    for index, feature in enumerate(read_geojson_features(path)):
        props = feature.get("properties") or {}
        ref = _property(path, index, props, "roa_number")
        road_class = "motorway" if props.get("class_name") == "M" else "trunk"
        rows.append({"class": road_class, "ref": ref, "name": "", "geometry": _shape(path, index, feature)})
    path = data / MAIN_ROADS_FILE
    for index, feature in enumerate(read_geojson_features(path)):
        props = feature.get("properties") or {}
        highway = _property(path, index, props, "highway_type").replace("_link", "")
        rows.append(
            {
                "class": highway,
                "ref": str(props.get("ref") or ""),
                "name": str(props.get("name") or ""),
                "geometry": _shape(path, index, feature),
            }
        )
    return rows

"""A tiny region data folder in the real files' formats (``SOURCES.md``): two districts with a river
between them, a ward in each, four LSOAs with IMD rows, a hospital, a GP and a school, NaPTAN rail,
ferry and bus stops, a motorway and a main road. Places and codes are invented but
shaped like the real ones."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from metaliverpool.ingest import region_layers
from metaliverpool.ingest.zones import IMD_COLUMNS

WEST = (-3.10, -3.02)
EAST = (-2.98, -2.90)
SOUTH_NORTH = (53.38, 53.45)
RIVER_LON = -3.00
"""A longitude inside the river between the districts (water)."""
HOSPITAL = ("Riverside General Hospital", -2.94, 53.42)
STATION = ("Lime Street Rail Station", -2.95, 53.41)
NAPTAN_HEADER = [
    "ATCOCode",
    "NaptanCode",
    "PlateCode",
    "CleardownCode",
    "CommonName",
    "CommonNameLang",
    "ShortCommonName",
    "ShortCommonNameLang",
    "Landmark",
    "LandmarkLang",
    "Street",
    "StreetLang",
    "Crossing",
    "CrossingLang",
    "Indicator",
    "IndicatorLang",
    "Bearing",
    "NptgLocalityCode",
    "LocalityName",
    "ParentLocalityName",
    "GrandParentLocalityName",
    "Town",
    "TownLang",
    "Suburb",
    "SuburbLang",
    "LocalityCentre",
    "GridType",
    "Easting",
    "Northing",
    "Longitude",
    "Latitude",
    "StopType",
    "BusStopType",
    "TimingStatus",
    "DefaultWaitTime",
    "Notes",
    "NotesLang",
    "AdministrativeAreaCode",
    "CreationDateTime",
    "ModificationDateTime",
    "RevisionNumber",
    "Modification",
    "Status",
]


def _box(west: float, east: float, south: float, north: float) -> list[list[list[float]]]:
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


def _collection(path: Path, features: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": g, "properties": p} for g, p in features],
    }
    path.write_text(json.dumps(document), encoding="utf-8")


def _point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def _stop(atco: str, name: str, stop_type: str, lon: float, lat: float, street: str = "-") -> dict[str, str]:
    return {
        "ATCOCode": atco, "CommonName": name, "Street": street, "Indicator": "Stop A",
        "LocalityName": "Riverside", "Longitude": str(lon), "Latitude": str(lat), "StopType": stop_type,
        "Status": "active",
    }  # fmt: skip


def _naptan(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=NAPTAN_HEADER, restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_region(folder: Path) -> Path:
    """Write the tiny region under ``folder``; returns it."""
    south, north = SOUTH_NORTH
    middle = (south + north) / 2
    districts = [("E08000091", "Westshire", WEST), ("E08000092", "Eastham", EAST)]
    _collection(
        folder / region_layers.DISTRICTS_FILE,
        [({"type": "Polygon", "coordinates": _box(w, e, south, north)}, {"LAD11CD": c, "LAD_NM": n})
         for c, n, (w, e) in districts],
    )  # fmt: skip
    _collection(
        folder / region_layers.WARDS_FILE,
        [({"type": "Polygon", "coordinates": _box(w, e, south, north)},
          {"WD13CD": f"E0500009{i}", "WD13NM": f"{n} Central", "LAD11CD": c, "LAD_NM": n})
         for i, (c, n, (w, e)) in enumerate(districts)],
    )  # fmt: skip
    lsoas = []
    imd_rows = []
    for index, (code, name, (west, east)) in enumerate(districts):
        for half, (bottom, top) in enumerate(((south, middle), (middle, north))):
            lsoa = f"E0100{index}{half:03d}"
            lsoas.append(
                (
                    {"type": "Polygon", "coordinates": _box(west, east, bottom, top)},
                    {"LSOA11CD": lsoa, "LSOA11NM": f"{name} 001{'AB'[half]}", "LAD_NM": name},
                )
            )
            values = {"zone_code": lsoa, "name": name, "lad_code": code, "imd_decile": 1 + 3 * half + index}
            values["population"] = 1500 + 100 * len(imd_rows)
            values["income_decile"] = 2 + half
            imd_rows.append({column: values.get(ours, 5) for column, ours in IMD_COLUMNS.items()})
    _collection(folder / region_layers.LSOA_FILE, lsoas)
    imd = folder / region_layers.IMD_FILE
    imd.parent.mkdir(parents=True, exist_ok=True)
    with imd.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(IMD_COLUMNS))
        writer.writeheader()
        writer.writerows(imd_rows)
    name, lon, lat = HOSPITAL
    _collection(
        folder / "poi/lcr_hospitals_nhs_choices.geojson",
        [(_point(lon, lat), {"OrganisationName": name, "OrganisationCode": "RX1", "Address1": "1 Dock Road",
                             "City": "Eastham", "Postcode": "L1 1AA", "Phone": "0151 000 0000"})],
    )  # fmt: skip
    _collection(
        folder / "poi/lcr_gp_practices_nhs_choices.geojson",
        [(_point(-3.06, 53.40), {"OrganisationName": "Westshire Medical Centre", "OrganisationCode": "N1",
                                 "Address": "2 High Street, Westshire", "Postcode": "CH1 1AA"})],
    )  # fmt: skip
    _collection(
        folder / "poi/lcr_schools_gias_ofsted.geojson",
        [(_point(-3.05, 53.43), {"name": "Westshire Primary School", "urn": "100001", "phase": "primary",
                                 "ofstedLabel": "Good"})],
    )  # fmt: skip
    station_name, station_lon, station_lat = STATION
    _naptan(
        folder / region_layers.NAPTAN_FILES[0],
        [_stop("9100LIMEST", station_name, "RLY", station_lon, station_lat),
         _stop("9300WFY", "Westshire Ferry Terminal", "FER", -3.025, 53.415)],
    )  # fmt: skip
    _naptan(
        folder / region_layers.NAPTAN_FILES[1],
        [_stop("2800S1", "Lime Street Station", "BCT", -2.951, 53.411, street="Lime Street"),
         _stop("2800S2", "Old Stop", "BCT", -2.93, 53.40) | {"Status": "inactive"}],
    )  # fmt: skip
    _naptan(folder / region_layers.NAPTAN_FILES[2], [_stop("0680S1", "Far Away", "BCT", -1.0, 52.0)])
    _collection(
        folder / region_layers.SRN_FILE,
        [({"type": "LineString", "coordinates": [[-3.09, 53.44], [-3.03, 53.39]]},
          {"class_name": "M", "roa_number": "M99"})],
    )  # fmt: skip
    _collection(
        folder / region_layers.MAIN_ROADS_FILE,
        [({"type": "LineString", "coordinates": [[-2.97, 53.41], [-2.91, 53.41]]},
          {"highway_type": "primary", "ref": "A5999", "name": "Lime Street"})],
    )  # fmt: skip
    return folder

"""Zones from ONS LSOA 2011 boundaries, IMD 2019 deciles/population and Census 2011 attributes.

Inputs (all under the data folder, see ``ingest.catalogue``):
- ``boundaries/lcr_lsoa2011_bgc.geojson``: LSOA 2011 generalised clipped boundaries (``LSOA11CD``).
- ``imd2019/lcr_imd2019_domains_and_population.csv``: IoD2019 deciles and mid-2015 population.
- ``census2011/lcr_oa11_lsoa11_msoa11_lad17_oac11_lookup.csv``: LSOA -> MSOA lookup.
- ``census2011/liverpool_census2011_gdsl_san.gpkg`` (layer ``lsoa``): Census 2011 attributes, Liverpool
  LSOAs only; joined as ``census2011_<column>`` where present.

Zones are the LSOAs whose polygon intersects the study area; ``network_share`` is the share of the LSOA's
area inside it (areas on the local equirectangular projection).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.errors import InputError
from metaliverpool.network.geodesy import local_xy_m

IMD_COLUMNS = {
    "LSOA code (2011)": "zone_code",
    "LSOA name (2011)": "name",
    "Local Authority District code (2019)": "lad_code",
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)": "imd_decile",
    "Income Decile (where 1 is most deprived 10% of LSOAs)": "income_decile",
    "Employment Decile (where 1 is most deprived 10% of LSOAs)": "employment_decile",
    "Education, Skills and Training Decile (where 1 is most deprived 10% of LSOAs)": "education_decile",
    "Health Deprivation and Disability Decile (where 1 is most deprived 10% of LSOAs)": "health_decile",
    "Crime Decile (where 1 is most deprived 10% of LSOAs)": "crime_decile",
    "Barriers to Housing and Services Decile (where 1 is most deprived 10% of LSOAs)": "housing_decile",
    "Living Environment Decile (where 1 is most deprived 10% of LSOAs)": "living_env_decile",
    "Total population: mid 2015 (excluding prisoners)": "population",
    "Population aged 16-59: mid 2015 (excluding prisoners)": "population_16_59",
    "Working age population 18-59/64: for use with Employment Deprivation Domain (excluding prisoners)": (
        "population_working_age"
    ),
}
DECILE_COLUMNS = [v for v in IMD_COLUMNS.values() if v.endswith("_decile")]


def read_geojson_features(path: Path) -> list[Any]:
    """The ``features`` of a GeoJSON FeatureCollection (InputError if missing or malformed)."""
    if not path.is_file():
        raise InputError(path, "file not found")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(path, f"not valid GeoJSON ({error})") from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise InputError(path, "expected a GeoJSON FeatureCollection with a 'features' list")
    return features


def read_lsoa_boundaries(path: Path) -> pd.DataFrame:
    """LSOA code, name, LAD code and shapely polygon of every feature."""
    features = read_geojson_features(path)
    rows = []
    for index, feature in enumerate(features):
        try:
            props = feature["properties"]
            rows.append(
                {
                    "zone_code": str(props["LSOA11CD"]),
                    "geometry": shapely.geometry.shape(feature["geometry"]),
                }
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InputError(path, f"malformed feature ({error})", where=f"feature {index}") from None
    return pd.DataFrame(rows)


def read_imd(path: Path) -> pd.DataFrame:
    """IMD 2019 deciles and mid-2015 population by LSOA, with this project's column names."""
    if not path.is_file():
        raise InputError(path, "file not found")
    frame = pd.read_csv(path)
    missing = [c for c in IMD_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing columns {missing}", where="header")
    return frame[list(IMD_COLUMNS)].rename(columns=IMD_COLUMNS)


def read_msoa_lookup(path: Path) -> pd.DataFrame:
    """LSOA 2011 -> MSOA 2011 code."""
    if not path.is_file():
        raise InputError(path, "file not found")
    frame = pd.read_csv(path, usecols=["LSOA11CD", "MSOA11CD"]).drop_duplicates("LSOA11CD")
    return frame.rename(columns={"LSOA11CD": "zone_code", "MSOA11CD": "msoa_code"})


def read_census2011_lsoa(path: Path) -> pd.DataFrame:
    """Census 2011 LSOA attributes (Liverpool only) as ``census2011_<column>``; empty if no file."""
    if not path.is_file():
        return pd.DataFrame({"zone_code": []})
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            frame = pd.read_sql_query("SELECT * FROM lsoa", connection)
    except (sqlite3.DatabaseError, pd.errors.DatabaseError) as error:
        raise InputError(path, f"not a readable GeoPackage ({error})", where="layer 'lsoa'") from None
    frame = frame.drop(columns=[c for c in ("fid", "geom", "MSOA_CD", "LAD_CD") if c in frame.columns])
    frame = frame.rename(columns={c: f"census2011_{c.lower()}" for c in frame.columns if c != "LSOA_CD"})
    return frame.rename(columns={"LSOA_CD": "zone_code"})


def lsoa_zones(data: Path, study_area: shapely.Polygon) -> pd.DataFrame:
    """LSOA zones meeting ``study_area``: population, deciles, MSOA/LAD codes, Census 2011 columns.

    Sorted by ``zone_code``. ``node_id`` and ``zone_id`` are set by the caller.
    """
    boundaries = read_lsoa_boundaries(data / "boundaries" / "lcr_lsoa2011_bgc.geojson")
    hits = shapely.intersects(boundaries["geometry"].to_numpy(), study_area)
    zones = boundaries[hits].copy()
    ref_lat = float(study_area.centroid.y)

    def area_m2(geometries: np.ndarray) -> np.ndarray:
        return np.asarray(
            shapely.area(shapely.transform(geometries, lambda xy: local_xy_m(xy[:, 0], xy[:, 1], ref_lat)))
        )

    inside = shapely.intersection(zones["geometry"].to_numpy(), study_area)
    zones["network_share"] = area_m2(inside) / area_m2(zones["geometry"].to_numpy())
    zones["anchor_lon"] = shapely.get_x(shapely.point_on_surface(inside))
    zones["anchor_lat"] = shapely.get_y(shapely.point_on_surface(inside))
    imd_path = data / "imd2019" / "lcr_imd2019_domains_and_population.csv"
    imd = read_imd(imd_path)
    zones = zones.merge(imd, on="zone_code", how="left")
    absent = zones.loc[zones["population"].isna(), "zone_code"].tolist()
    if absent:
        raise InputError(imd_path, f"no IMD row for LSOAs {absent[:5]}")
    zones = zones.merge(
        read_msoa_lookup(data / "census2011" / "lcr_oa11_lsoa11_msoa11_lad17_oac11_lookup.csv"),
        on="zone_code",
        how="left",
    )
    zones["msoa_code"] = zones["msoa_code"].fillna("")
    zones = zones.merge(
        read_census2011_lsoa(data / "census2011" / "liverpool_census2011_gdsl_san.gpkg"),
        on="zone_code",
        how="left",
    )
    zones["kind"] = "lsoa"
    zones["population"] = zones["population"].astype(np.float64)
    for column in DECILE_COLUMNS:
        zones[column] = zones[column].astype(np.int32)
    return zones.sort_values("zone_code").reset_index(drop=True)


OA_BOUNDARIES_FILE = "boundaries/lcr_oa2011_bgc.geojson"
OA_LOOKUP_FILE = "census2011/lcr_oa11_lsoa11_msoa11_lad17_oac11_lookup.csv"


def read_oa_points(data: Path) -> pd.DataFrame:
    """Output Areas 2011 of the data folder: ``oa_code``, ``lsoa_code`` and a point on each OA's surface
    (``lon``, ``lat``), from the OA boundaries (``OA11CD``) and the OA -> LSOA lookup."""
    path = data / OA_BOUNDARIES_FILE
    rows = []
    for index, feature in enumerate(read_geojson_features(path)):
        try:
            point = shapely.point_on_surface(shapely.geometry.shape(feature["geometry"]))
            rows.append({"oa_code": str(feature["properties"]["OA11CD"]), "lon": point.x, "lat": point.y})
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise InputError(path, f"malformed feature ({error})", where=f"feature {index}") from None
    lookup_path = data / OA_LOOKUP_FILE
    if not lookup_path.is_file():
        raise InputError(lookup_path, "file not found")
    lookup = pd.read_csv(lookup_path, usecols=["OA11CD", "LSOA11CD"], dtype=str)
    lookup = lookup.rename(columns={"OA11CD": "oa_code", "LSOA11CD": "lsoa_code"})
    return pd.DataFrame(rows).merge(lookup, on="oa_code", how="inner")[["oa_code", "lsoa_code", "lon", "lat"]]

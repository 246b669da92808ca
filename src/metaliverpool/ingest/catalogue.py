"""The catalogue of data sources the twin uses: where each file is, its licence, attribution and origin.

``source_status(data_dir)`` reports every source as found or missing with size, SHA-256 and modification
date; ``manifest_sources`` gives the same for the manifest. ``url`` is the public download address used by
``data fetch`` (``ingest.fetch``); where the staged file was derived from a publisher's file, the URL is
the publisher's original (the staged copy's provenance is in the data folder's ``SOURCES.md``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OSM_ATTRIBUTION = "© OpenStreetMap contributors"
ONS_ATTRIBUTION = (
    "Contains National Statistics data © Crown copyright and database right; "
    "Contains OS data © Crown copyright and database right"
)
OGL = "OGL v3.0"
DFT_ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0 (DfT)"
ODBL = "ODbL 1.0"


@dataclass(frozen=True)
class Source:
    """One data source."""

    name: str
    path: str
    """Relative to the data folder."""
    what: str
    publisher: str
    licence: str
    attribution: str
    data_date: str
    url: str
    required: bool = True


JTS_TABLES = (
    ("jts0501", "employment centres", 1049632, "2019 (sheets 2014-2019, 2019 revised)"),
    ("jts0502", "primary schools", 1030968, "2019 (sheets 2014-2019)"),
    ("jts0503", "secondary schools", 1030971, "2019 (sheets 2014-2019)"),
    ("jts0504", "further education", 1030973, "2019 (sheets 2014-2019)"),
    ("jts0505", "GPs", 1030975, "2019 (sheets 2014-2019)"),
    ("jts0506", "hospitals", 1030976, "2019 (sheets 2014-2019)"),
    ("jts0507", "food stores", 1030977, "2019 (sheets 2014-2019)"),
    ("jts0508", "town centres", 1030979, "2019 (sheets 2014-2019)"),
    ("jts0509", "pharmacies (cycle and car only)", 748222, "2015 (one sheet)"),
)
"""DfT Journey Time Statistics LSOA tables JTS0501-JTS0509 ("travel time, destination and origin
indicators ... by mode of travel, LSOA, England"; one ODS workbook each, a sheet per year), their
attachment numbers on GOV.UK and the years they hold, as listed by datasciencecampus/jtstats-r
(``accessibility_table_csv.csv``). ``metaliverpool access --compare`` reads a year's sheet saved as CSV
(``docs/access.md``); the twin computes the services of JTS0502, 0503, 0505 and 0506."""


def _jts_source(code: str, service: str, attachment: int, years: str) -> Source:
    return Source(
        code,
        f"fetched/{code}.ods",
        f"DfT Journey Time Statistics {code.upper()}: travel time to {service} by mode, LSOA, England "
        f"(not staged here; `data fetch {code}`)",
        "DfT",
        OGL,
        "Contains public sector information licensed under the Open Government Licence v3.0 (DfT)",
        years,
        "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file/"
        f"{attachment}/{code}.ods",
        required=False,
    )


SOURCES: tuple[Source, ...] = (
    Source(
        "osm_centre",
        "osm/liverpool_centre_highway_features_overpass_2025-09-17.json",
        "OSM highway features, central Liverpool (Overpass JSON)",
        "OpenStreetMap",
        ODBL,
        OSM_ATTRIBUTION,
        "2025-09-17",
        "https://download.geofabrik.de/europe/united-kingdom/england/merseyside-latest.osm.pbf",
    ),
    Source(
        "osm_amenities",
        "osm/liverpool_city_amenities_overpass_2021-06-17.json",
        "OSM amenity=* features, Liverpool (Overpass JSON)",
        "OpenStreetMap",
        ODBL,
        OSM_ATTRIBUTION,
        "2021-06-17",
        "https://download.geofabrik.de/europe/united-kingdom/england/merseyside-latest.osm.pbf",
    ),
    Source(
        "lsoa_boundaries",
        "boundaries/lcr_lsoa2011_bgc.geojson",
        "LSOA 2011 boundaries (generalised, clipped)",
        "ONS",
        OGL,
        ONS_ATTRIBUTION,
        "2011",
        "https://geoportal.statistics.gov.uk/datasets/ons::lower-layer-super-output-areas-december-2011-boundaries-generalised-clipped-bgc-ew-v3",
    ),
    Source(
        "msoa_boundaries",
        "boundaries/lcr_msoa2011_bgc.geojson",
        "MSOA 2011 boundaries (generalised, clipped)",
        "ONS",
        OGL,
        ONS_ATTRIBUTION,
        "2011",
        "https://geoportal.statistics.gov.uk/datasets/ons::middle-layer-super-output-areas-december-2011-boundaries-generalised-clipped-bgc-ew-v3",
        required=False,
    ),
    Source(
        "oa_boundaries",
        "boundaries/lcr_oa2011_bgc.geojson",
        "Output Area 2011 boundaries (generalised, clipped): `access --origins oa`",
        "ONS",
        OGL,
        ONS_ATTRIBUTION,
        "2011",
        "https://geoportal.statistics.gov.uk/search?q=output%20areas%20december%202011%20boundaries%20bgc",
        required=False,
    ),
    Source(
        "imd2019",
        "imd2019/lcr_imd2019_domains_and_population.csv",
        "English Indices of Deprivation 2019: domains and population denominators",
        "MHCLG",
        OGL,
        "Contains public sector information licensed under the Open Government Licence v3.0 (MHCLG)",
        "2019",
        "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/attachment_data/file/845345/File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv",
    ),
    Source(
        "oa_lookup",
        "census2011/lcr_oa11_lsoa11_msoa11_lad17_oac11_lookup.csv",
        "OA11 -> LSOA11 -> MSOA11 -> LAD17 lookup with OAC 2011",
        "ONS",
        OGL,
        ONS_ATTRIBUTION,
        "2011",
        "https://geoportal.statistics.gov.uk/search?q=output%20area%20to%20lsoa%20to%20msoa%20lookup%202011",
    ),
    Source(
        "census2011_liverpool",
        "census2011/liverpool_census2011_gdsl_san.gpkg",
        "Census 2011 attributes for Liverpool OAs/LSOAs/MSOAs (GDSL)",
        "ONS (via Univ. of Liverpool GDSL)",
        OGL,
        ONS_ATTRIBUTION,
        "2011",
        "https://github.com/GDSL-UL/san",
        required=False,
    ),
    Source(
        "census2021_commute",
        "census2021/lcr_ltla_commute_flows_census2021_odwp01ew.csv",
        "Census 2021 origin-destination commuting flows (ODWP01EW), LTLA level",
        "ONS",
        OGL,
        ONS_ATTRIBUTION,
        "2021-03",
        "https://www.ons.gov.uk/datasets/ODWP01EW/editions/2021/versions/1",
        required=False,
    ),
    Source(
        "hospitals",
        "poi/lcr_hospitals_nhs_choices.geojson",
        "NHS Choices hospitals",
        "NHS",
        OGL,
        "Contains public sector information licensed under the Open Government Licence v3.0 (NHS)",
        "2018",
        "https://www.data.gov.uk/dataset/hospitals",
    ),
    Source(
        "gp_practices",
        "poi/lcr_gp_practices_nhs_choices.geojson",
        "NHS Choices GP practices",
        "NHS",
        OGL,
        "Contains public sector information licensed under the Open Government Licence v3.0 (NHS)",
        "2016-02",
        "https://www.data.gov.uk/dataset/gp-practices",
    ),
    Source(
        "schools",
        "poi/lcr_schools_gias_ofsted.geojson",
        "Schools (DfE Get Information About Schools, with Ofsted ratings)",
        "DfE",
        OGL,
        "Contains public sector information licensed under the Open Government Licence v3.0 (DfE)",
        "2026-07",
        "https://get-information-schools.service.gov.uk/Downloads",
    ),
    Source(
        "dft_la_traffic",
        "traffic/lcr_la_annual_traffic_dft_2023.csv",
        "DfT road traffic statistics: annual traffic by local authority",
        "DfT",
        OGL,
        "Contains public sector information licensed under the Open Government Licence v3.0 (DfT)",
        "2023",
        "https://storage.googleapis.com/dft-statistics/road-traffic/downloads/data-gov-uk/local_authority_traffic.csv",
    ),
    Source(
        "geofabrik_merseyside",
        "fetched/merseyside-latest.osm.pbf",
        "OSM extract of Merseyside (not staged here; `data fetch geofabrik_merseyside`)",
        "OpenStreetMap via Geofabrik",
        ODBL,
        OSM_ATTRIBUTION,
        "latest",
        "https://download.geofabrik.de/europe/united-kingdom/england/merseyside-latest.osm.pbf",
        required=False,
    ),
    Source(
        "geofabrik_cheshire",
        "fetched/cheshire-latest.osm.pbf",
        "OSM extract of Cheshire, for Halton (not staged here; `data fetch geofabrik_cheshire`)",
        "OpenStreetMap via Geofabrik",
        ODBL,
        OSM_ATTRIBUTION,
        "latest",
        "https://download.geofabrik.de/europe/united-kingdom/england/cheshire-latest.osm.pbf",
        required=False,
    ),
    *(_jts_source(*table) for table in JTS_TABLES),
)


DFT_LOCAL_AUTHORITY_IDS: dict[str, int] = {
    "wirral": 84,
    "halton": 156,
    "knowsley": 157,
    "st_helens": 158,
    "liverpool": 161,
    "sefton": 192,
}
"""DfT road traffic statistics' local authority ids of the six districts (roadtraffic.dft.gov.uk)."""

DFT_DOWNLOADS = "https://storage.googleapis.com/dft-statistics/road-traffic/downloads"
"""Where DfT publishes the count-point files, one per local authority and kind."""

DFT_COUNT_FILES = {
    "aadf": ("aadfbydirection", "AADF by count point and direction, all years"),
    "rawcount": ("rawcount", "raw manual counts by count point, direction, date and hour"),
}
"""Kinds of DfT count-point file: the download folder and what it holds."""


def _dft_count_sources() -> tuple[Source, ...]:
    """The DfT count-point files of the six districts (not staged here; ``data fetch dft_<kind>_<name>``)."""
    out = []
    for kind, (folder, what) in DFT_COUNT_FILES.items():
        for district, authority in DFT_LOCAL_AUTHORITY_IDS.items():
            file = f"dft_{folder}_local_authority_id_{authority}.csv"
            out.append(
                Source(
                    f"dft_{kind}_{district}",
                    f"fetched/{file}",
                    f"DfT count points, {district.replace('_', ' ').title()}: {what}",
                    "DfT",
                    OGL,
                    DFT_ATTRIBUTION,
                    "latest",
                    f"{DFT_DOWNLOADS}/{folder}/local_authority_id/{file}",
                    required=False,
                )
            )
    return tuple(out)


SOURCES += (
    Source(
        "observed_facts",
        "observed/lcr_observed_facts.csv",
        "Published headline figures: Mersey crossings' volumes, tunnel delay, TomTom centre speed",
        "Merseytravel, merseyflow, BBC, TomTom (as cited per row)",
        "facts quoted from the cited pages",
        "As cited in each row's source column",
        "2010-2024",
        "",
        required=False,
    ),
    Source(
        "dft_count_panel_means",
        "observed/lcr_dft_count_panel_means_2010_2019.csv",
        "Mean AADF per district and year over a fixed panel of DfT count points (not link counts)",
        "DfT via saferactive/saferactive",
        OGL,
        DFT_ATTRIBUTION,
        "2010-2019",
        "https://github.com/saferactive/saferactive",
        required=False,
    ),
    *_dft_count_sources(),
)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path: Path) -> dict[str, Any]:
    """Size, SHA-256 and modification date of a file (``found`` false when absent)."""
    if not path.is_file():
        return {"found": False, "path": str(path)}
    stat = path.stat()
    return {
        "found": True,
        "path": str(path),
        "size_bytes": stat.st_size,
        "sha256": sha256_file(path),
        "modified": dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC).strftime("%Y-%m-%d"),
    }


def source_status(data_dir: Path) -> list[dict[str, Any]]:
    """One record per catalogue source: found/missing, path, size, checksum, date, licence, attribution."""
    records = []
    for source in SOURCES:
        record = file_record(data_dir / source.path)
        record.update(
            name=source.name,
            what=source.what,
            publisher=source.publisher,
            licence=source.licence,
            attribution=source.attribution,
            data_date=source.data_date,
            url=source.url,
            required=source.required,
        )
        records.append(record)
    return records


def get_source(name: str, catalogue: tuple[Source, ...] = SOURCES) -> Source:
    """The entry of ``catalogue`` called ``name`` (``KeyError`` if unknown)."""
    for source in catalogue:
        if source.name == name:
            return source
    raise KeyError(name)


@dataclass(frozen=True)
class CoverageSource:
    """A raster served by OGC WCS 2.0.1 and fetched for a bounding box (``data fetch --lidar-bbox``)."""

    name: str
    what: str
    wcs_url: str
    coverage_id: str
    licence: str
    attribution: str


EA_ATTRIBUTION = "© Environment Agency copyright and/or database right 2022. All rights reserved."
EA_WCS = "https://environment.data.gov.uk/spatialdata"
EA_LIDAR_COMPOSITE = (
    CoverageSource(
        "dsm",
        "Environment Agency LIDAR Composite First Return DSM 1 m (England; heights above ODN, EPSG:27700)",
        f"{EA_WCS}/lidar-composite-digital-surface-model-first-return-dsm-1m/wcs",
        "df4e3ec3-315e-48aa-aaaf-b5ae74d7b2bb__Lidar_Composite_Elevation_FZ_DSM_1m",
        OGL,
        EA_ATTRIBUTION,
    ),
    CoverageSource(
        "dtm",
        "Environment Agency LIDAR Composite DTM 1 m (England; heights above ODN, EPSG:27700)",
        f"{EA_WCS}/lidar-composite-digital-terrain-model-dtm-1m/wcs",
        "13787b9a-26a4-4775-8523-806d13af58fc__Lidar_Composite_Elevation_DTM_1m",
        OGL,
        EA_ATTRIBUTION,
    ),
)
"""The Environment Agency's 1 m LiDAR composite surface and terrain models, served by the Defra Data
Services Platform's WCS (Open Government Licence v3.0); ``docs/survey.md``."""

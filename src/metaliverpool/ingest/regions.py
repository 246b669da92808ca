"""Named regions: where the OSM extract is, the study area and the bounds an extract must fall in.

``liverpool-centre``: the staged OSM extract of central Liverpool (Overpass query box around the Town
Hall, lon -3.0219 to -2.9615, lat 53.3892 to 53.4252; ``SOURCES.md``). ``liverpool-city-region``: any
extract of the six LCR authorities given with ``--osm`` (for example Geofabrik's Merseyside PBF); the
study area is the extract itself. Both accept extracts whose nodes lie inside the LCR bounding box (from
the LSOA 2011 union, lon -3.2290 to -2.5767, lat 53.2963 to 53.6984) widened by ``margin_deg``.
"""

from __future__ import annotations

from dataclasses import dataclass

from metaliverpool.errors import InputError

LCR_BBOX = (-3.2290, 53.2963, -2.5767, 53.6984)
"""Liverpool City Region bounding box (lon_min, lat_min, lon_max, lat_max), from the LSOA 2011 union."""


@dataclass(frozen=True)
class Region:
    """A named study region."""

    name: str
    description: str
    osm_file: str | None
    """Default OSM extract, relative to the data folder (``None``: ``--osm`` is required)."""
    study_bbox: tuple[float, float, float, float] | None
    bounds: tuple[float, float, float, float]
    margin_deg: float = 0.1

    def contains(self, lon: float, lat: float) -> bool:
        """Whether a point lies inside the region's bounds (with the margin)."""
        lon_min, lat_min, lon_max, lat_max = self.bounds
        m = self.margin_deg
        return lon_min - m <= lon <= lon_max + m and lat_min - m <= lat <= lat_max + m


REGIONS: dict[str, Region] = {
    "liverpool-centre": Region(
        name="liverpool-centre",
        description="Central Liverpool, about 4 x 4 km around the Town Hall (staged OSM extract, 2025-09-17)",
        osm_file="osm/liverpool_centre_highway_features_overpass_2025-09-17.json",
        study_bbox=(-3.0219, 53.3892, -2.9615, 53.4252),
        bounds=LCR_BBOX,
    ),
    "liverpool-city-region": Region(
        name="liverpool-city-region",
        description="The six LCR authorities; needs --osm (e.g. Geofabrik merseyside-latest.osm.pbf)",
        osm_file=None,
        study_bbox=None,
        bounds=LCR_BBOX,
    ),
}


def get_region(name: str) -> Region:
    """The region called ``name``; :class:`InputError` listing the known names otherwise."""
    try:
        return REGIONS[name]
    except KeyError:
        known = ", ".join(sorted(REGIONS))
        raise InputError(name, f"unknown region (known regions: {known})", where="--region") from None

"""The twin: the domain object every engine starts from.

A :class:`Twin` is a set of pandas DataFrames (one per table) plus a ``manifest`` dict. It is read and
written by :mod:`metaliverpool.store.bundle` (``read_twin`` / ``write_twin``); the on-disk format is
documented in ``docs/twin-format.md``.

Units are SI: lengths in metres (``length_m``), speeds in metres per second (``*_mps``), capacities in
vehicles (PCU) per hour over all lanes of the link (``capacity_vph``), times in seconds after 07:00
(``departure_time_s``). Coordinates are WGS84 longitude/latitude in degrees. In memory, every
``geometry`` column holds shapely geometries (Point or LineString) in EPSG:4326.

Ids:
- ``node_id`` (0..N-1), ``link_id`` (0..L-1), ``junction_id``, ``zone_id``, ``service_id`` and ``trip_id``
  are dense int32 row numbers of *this* build; they change when the twin is rebuilt.
- ``osm_node_id``, ``osm_way_id``, ``osm_relation_id`` and ``zone_code`` (LSOA code) are stable external
  ids; edits refer to these. Synthetic cordon nodes have negative ``osm_node_id``.

Changes to the schema are additive only: columns may be added, never renamed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

DAY_START_CLOCK_S = 7 * 3600
"""Twin times are seconds after 07:00: this is 07:00 as seconds after midnight."""

TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "nodes": ("node_id", "osm_node_id", "lon", "lat", "kind", "junction_id", "geometry"),
    "links": (
        "link_id",
        "from_node_id",
        "to_node_id",
        "osm_way_id",
        "length_m",
        "lanes",
        "speed_limit_mps",
        "free_speed_mps",
        "capacity_vph",
        "highway",
        "name",
        "ref",
        "oneway",
        "roundabout",
        "bridge",
        "tunnel",
        "toll_gbp",
        "access",
        "geometry",
    ),
    "junctions": ("junction_id", "control", "node_ids", "osm_node_ids", "lon", "lat", "geometry"),
    "turn_restrictions": ("osm_relation_id", "from_link_id", "via_node_id", "to_link_id", "kind"),
    "zones": (
        "zone_id",
        "zone_code",
        "kind",
        "msoa_code",
        "lad_code",
        "population",
        "imd_decile",
        "node_id",
        "geometry",
    ),
    "services": (
        "service_id",
        "kind",
        "name",
        "source",
        "lon",
        "lat",
        "zone_code",
        "node_id",
        "geometry",
    ),
    "active_nodes": ("node_id", "osm_node_id", "lon", "lat", "geometry"),
    "active_links": (
        "link_id",
        "from_node_id",
        "to_node_id",
        "osm_way_id",
        "length_m",
        "highway",
        "geometry",
    ),
    "bus_stops": ("osm_node_id", "name", "lon", "lat", "node_id", "geometry"),
    "trips": (
        "trip_id",
        "origin_zone_id",
        "destination_zone_id",
        "origin_node_id",
        "destination_node_id",
        "departure_time_s",
        "mode",
    ),
}
"""Required columns of each table (more columns are allowed). Order is the on-disk order."""

GEOMETRY_TABLES: frozenset[str] = frozenset(
    name for name, columns in TABLE_COLUMNS.items() if "geometry" in columns
)
"""Tables with a ``geometry`` column (stored as GeoParquet)."""

NODE_KINDS = ("junction", "dead_end", "cordon", "through")
"""``nodes.kind`` values: a junction (3+ distinct neighbours or a control), a dead end, a synthetic cordon
node where a road leaves the extract, or a ``through`` node kept only because a way changes attributes."""

JUNCTION_CONTROLS = ("signals", "give_way", "mini_roundabout", "priority")
"""``junctions.control`` values."""

LINK_ACCESS = ("all", "bus_only")
"""``links.access`` values."""


def empty_table(name: str) -> pd.DataFrame:
    """An empty DataFrame with the required columns of table ``name``."""
    return pd.DataFrame({column: pd.Series([], dtype=object) for column in TABLE_COLUMNS[name]})


@dataclass
class Twin:
    """A built twin: road network, junctions, zones, services, active-travel layer and demand.

    Every table is a DataFrame with at least the columns of :data:`TABLE_COLUMNS`; ``manifest`` holds
    the build metadata (sources with checksums, counts, build config, code version, region).
    """

    nodes: pd.DataFrame
    links: pd.DataFrame
    junctions: pd.DataFrame = field(default_factory=lambda: empty_table("junctions"))
    turn_restrictions: pd.DataFrame = field(default_factory=lambda: empty_table("turn_restrictions"))
    zones: pd.DataFrame = field(default_factory=lambda: empty_table("zones"))
    services: pd.DataFrame = field(default_factory=lambda: empty_table("services"))
    active_nodes: pd.DataFrame = field(default_factory=lambda: empty_table("active_nodes"))
    active_links: pd.DataFrame = field(default_factory=lambda: empty_table("active_links"))
    bus_stops: pd.DataFrame = field(default_factory=lambda: empty_table("bus_stops"))
    trips: pd.DataFrame = field(default_factory=lambda: empty_table("trips"))
    manifest: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name, in :data:`TABLE_COLUMNS` order."""
        return {name: getattr(self, name) for name in TABLE_COLUMNS}

    def counts(self) -> dict[str, int]:
        """Row count of every table."""
        return {name: len(table) for name, table in self.tables().items()}

    def missing_columns(self) -> dict[str, list[str]]:
        """Required columns absent from each table (empty dict when the twin is complete)."""
        missing: dict[str, list[str]] = {}
        for name, table in self.tables().items():
            absent = [column for column in TABLE_COLUMNS[name] if column not in table.columns]
            if absent:
                missing[name] = absent
        return missing

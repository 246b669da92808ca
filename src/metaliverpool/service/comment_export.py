"""Public comments exported for a consultation report: CSV (RFC 4180, UTF-8, times in ISO 8601 UTC) and
GeoJSON (RFC 7946: points in WGS84 lon/lat).

Cells of the CSV that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab
or carriage return) are prefixed with an apostrophe (OWASP's advice on CSV injection); the GeoJSON keeps
the texts as they are.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from metaliverpool.service.public_comments import describe
from metaliverpool.store.db import PublicComment

CSV_COLUMNS = (
    "comment_id",
    "created_at",
    "status",
    "visitor",
    "lon",
    "lat",
    "text",
    "answer",
    "answered_by",
    "answered_at",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso_utc(time_s: float | None) -> str:
    """UTC seconds as ISO 8601 (``2026-12-08T01:30:00Z``), or an empty string."""
    if time_s is None:
        return ""
    return datetime.fromtimestamp(time_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def comments_csv(comments: list[PublicComment]) -> str:
    """The comments as CSV text with a header row (:data:`CSV_COLUMNS`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for comment in comments:
        row = describe(comment, for_owner=True)
        row["created_at"], row["answered_at"] = iso_utc(comment.created_at_s), iso_utc(comment.answered_at_s)
        writer.writerow(
            [f"{row[name]:.6f}" if name in ("lon", "lat") else _cell(row[name]) for name in CSV_COLUMNS]
        )
    return out.getvalue()


def comments_geojson(comments: list[PublicComment], scenario_name: str) -> dict[str, Any]:
    """The comments as a GeoJSON FeatureCollection of points (properties: the CSV's columns)."""
    features = []
    for comment in comments:
        row = describe(comment, for_owner=True)
        properties = {name: row.get(name) for name in CSV_COLUMNS if name not in ("lon", "lat")}
        properties["created_at"] = iso_utc(comment.created_at_s)
        properties["answered_at"] = iso_utc(comment.answered_at_s) or None
        features.append(
            {
                "type": "Feature",
                "id": comment.comment_id,
                "geometry": {"type": "Point", "coordinates": [comment.lon, comment.lat]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "name": scenario_name, "features": features}

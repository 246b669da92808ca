"""SensorThings Datastreams matched to the twin's links and junctions, with a review table a person corrects.

- A **detector** Datastream (counts, speeds) is matched by its Thing's point and bearing to the nearest
  car link heading that way (:meth:`~metaliverpool.ingest.observation_match._Matcher.nearest_heading`,
  the rule the published counts follow: 50 m, 45 degrees; the nearest link at all when the Thing has no
  bearing, then ``status`` says so).
- A **signal** Datastream (signal states) is matched to the nearest junction of the twin within
  :data:`JUNCTION_TOLERANCE_M`.

The review table is a CSV, one row per Datastream (:data:`REVIEW_COLUMNS`). ``status`` is ``matched``,
``no_bearing`` (matched by position only: check it), ``unmatched`` (``reason`` says why), or, after a
person's review, ``confirmed`` (``link_id``/``junction_id`` as corrected) or ``rejected`` (not used).
:func:`read_review_table` reads it back and checks every row; only ``matched``, ``no_bearing`` and
``confirmed`` rows feed the twin.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metaliverpool.atomic import write_text_atomic
from metaliverpool.errors import InputError
from metaliverpool.ingest.observation_match import point_matcher
from metaliverpool.ingest.sensorthings import StaThing
from metaliverpool.network.geodesy import local_xy_m
from metaliverpool.network.twin import Twin

JUNCTION_TOLERANCE_M = 40.0
"""Largest distance (m) from a signal group's Thing to the junction it is matched to."""

REVIEW_COLUMNS = (
    "thing_id",
    "datastream_id",
    "datastream_name",
    "kind",
    "link_id",
    "junction_id",
    "distance_m",
    "bearing_difference_deg",
    "status",
    "reason",
)
STATUSES = ("matched", "no_bearing", "unmatched", "confirmed", "rejected")
USED_STATUSES = ("matched", "no_bearing", "confirmed")


@dataclass(frozen=True)
class DatastreamMatch:
    """One row of the review table (see the module docstring)."""

    thing_id: int
    datastream_id: int
    datastream_name: str
    kind: str
    link_id: int | None
    junction_id: int | None
    distance_m: float | None
    bearing_difference_deg: float | None
    status: str
    reason: str = ""

    @property
    def used(self) -> bool:
        """True when the row feeds the twin."""
        return self.status in USED_STATUSES


def _nearest_junction(twin: Twin, lon: float, lat: float) -> tuple[int | None, float | None]:
    junctions = twin.junctions
    if junctions.empty:
        return None, None
    xy = local_xy_m(junctions["lon"].to_numpy(float), junctions["lat"].to_numpy(float), lat)
    here = local_xy_m([lon], [lat], lat)[0]
    distance = np.hypot(*(xy - here).T)
    k = int(np.argmin(distance))
    if distance[k] > JUNCTION_TOLERANCE_M:
        return None, float(distance[k])
    return int(junctions["junction_id"].iloc[k]), float(distance[k])


def match_things(things: list[StaThing], twin: Twin) -> list[DatastreamMatch]:
    """A :class:`DatastreamMatch` per Datastream of ``things`` (detectors to links, signals to junctions)."""
    matcher = point_matcher(twin)
    rows = []
    for thing in things:
        link_match = None
        for stream in thing.datastreams:
            if stream.is_signal:
                junction, distance = _nearest_junction(twin, thing.lon, thing.lat)
                status = "matched" if junction is not None else "unmatched"
                reason = (
                    ""
                    if junction is not None
                    else f"no junction within {JUNCTION_TOLERANCE_M:.0f} m of "
                    f"({thing.lon:.5f}, {thing.lat:.5f})"
                )
                rows.append(
                    DatastreamMatch(
                        thing.thing_id,
                        stream.datastream_id,
                        stream.name,
                        "signal",
                        None,
                        junction,
                        distance if junction is not None else None,
                        None,
                        status,
                        reason,
                    )
                )
                continue
            if link_match is None:
                link_match = matcher.nearest_heading(thing.lon, thing.lat, thing.bearing_deg)
            if link_match.link_id is None:
                status, reason = "unmatched", link_match.reason
            elif thing.bearing_deg is None:
                status, reason = "no_bearing", "the Thing has no bearing: matched to the nearest link"
            else:
                status, reason = "matched", ""
            rows.append(
                DatastreamMatch(
                    thing.thing_id,
                    stream.datastream_id,
                    stream.name,
                    "detector",
                    link_match.link_id,
                    None,
                    link_match.distance_m,
                    link_match.bearing_difference_deg,
                    status,
                    reason,
                )
            )
    return rows


def _text(value: float | int | None, digits: int | None = None) -> str:
    if value is None:
        return ""
    return f"{value:.{digits}f}" if digits is not None else str(value)


def write_review_table(rows: list[DatastreamMatch], path: Path) -> None:
    """Write the review table (CSV, :data:`REVIEW_COLUMNS`) atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(REVIEW_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.thing_id,
                r.datastream_id,
                r.datastream_name,
                r.kind,
                _text(r.link_id),
                _text(r.junction_id),
                _text(r.distance_m, 1),
                _text(r.bearing_difference_deg, 1),
                r.status,
                r.reason,
            ]
        )
    write_text_atomic(Path(path), buffer.getvalue())


def _optional(path: Path, line: int, column: str, text: str, kind: type) -> float | int | None:
    if text.strip() == "":
        return None
    try:
        return kind(text)
    except ValueError:
        raise InputError(
            path, f"expected a {kind.__name__} or nothing, got {text!r}", f"line {line}, column {column!r}"
        ) from None


def read_review_table(path: Path, twin: Twin | None = None) -> list[DatastreamMatch]:
    """Read a review table back (a person may have edited ``link_id``, ``junction_id`` and ``status``).

    Every row is checked: the columns, whole-number ids, a known status, a used row naming a link
    (detector) or a junction (signal) and, with ``twin``, one that exists in the twin. One
    :class:`~metaliverpool.errors.InputError` names the line and column of the first fault.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "review table not found")
    links = set(twin.links["link_id"].astype(int)) if twin is not None else None
    junctions = set(twin.junctions["junction_id"].astype(int)) if twin is not None else None
    rows = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REVIEW_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(path, f"missing columns {missing}; expected {list(REVIEW_COLUMNS)}", "line 1")
        seen: set[int] = set()
        for line, raw in enumerate(reader, start=2):
            ids = {}
            for column in ("thing_id", "datastream_id"):
                value = _optional(path, line, column, raw[column], int)
                if value is None:
                    raise InputError(path, "expected a whole number", f"line {line}, column {column!r}")
                ids[column] = int(value)
            if ids["datastream_id"] in seen:
                raise InputError(path, f"datastream {ids['datastream_id']} listed twice", f"line {line}")
            seen.add(ids["datastream_id"])
            status = raw["status"].strip()
            if status not in STATUSES:
                raise InputError(
                    path, f"expected one of {list(STATUSES)}, got {status!r}", f"line {line}, column 'status'"
                )
            kind = raw["kind"].strip()
            if kind not in ("detector", "signal"):
                raise InputError(
                    path, f"expected detector or signal, got {kind!r}", f"line {line}, column 'kind'"
                )
            link = _optional(path, line, "link_id", raw["link_id"], int)
            junction = _optional(path, line, "junction_id", raw["junction_id"], int)
            if status in USED_STATUSES:
                column, value, known = (
                    ("link_id", link, links) if kind == "detector" else ("junction_id", junction, junctions)
                )
                if value is None:
                    raise InputError(
                        path, f"a {status} {kind} needs a {column}", f"line {line}, column {column!r}"
                    )
                if known is not None and int(value) not in known:
                    raise InputError(
                        path, f"{column} {value} is not in the twin", f"line {line}, column {column!r}"
                    )
            rows.append(
                DatastreamMatch(
                    ids["thing_id"],
                    ids["datastream_id"],
                    raw["datastream_name"],
                    kind,
                    None if link is None else int(link),
                    None if junction is None else int(junction),
                    _optional(path, line, "distance_m", raw["distance_m"], float),
                    _optional(path, line, "bearing_difference_deg", raw["bearing_difference_deg"], float),
                    status,
                    raw["reason"],
                )
            )
    return rows

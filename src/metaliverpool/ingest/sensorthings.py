"""OGC SensorThings API v1.1 (HTTP): Things, Datastreams and Observations as Hamburg's traffic feeds use them.

The data model (``docs/live.md``): a **Thing** per detector (Hamburg's "Verkehrsstärken": a counting
point) or per signal group (Hamburg's "Lichtsignalanlagen"), located by its ``Locations`` (a GeoJSON
``Point``, or a ``LineString`` along the lane whose first-to-last direction gives the bearing); a
**Datastream** per quantity (vehicle count per 5 or 15 minutes, mean speed, signal state) whose
``properties.layerName`` names the layer (e.g. ``Anzahl_Kfz_Zaehlstelle_15-Min``) and whose
``properties.aggregateDuration`` (ISO 8601, e.g. ``PT15M``) or layer name gives the interval; and
**Observations** with ``phenomenonTime`` (an instant, or ``start/end`` for a count over an interval, in
UTC) and a numeric ``result`` (a count, a speed, or a signal state code: :data:`SIGNAL_STATE_CODES`).

:class:`SensorThingsClient` pages through the HTTP API (``$top``, ``$expand``, ``$filter`` on
``phenomenonTime``, following ``@iot.nextLink`` on the service's own host only; a page over
:data:`MAX_PAGE_BYTES` is refused). A page or an entity that is not what the standard
says is never fatal: it is skipped, counted and described in :attr:`SensorThingsClient.problems` with
the URL and the field that was wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

import httpx

SIGNAL_STATE_CODES: dict[int, str] = {
    0: "dark",
    1: "red",
    2: "amber",
    3: "green",
    4: "red_amber",
    5: "amber_flashing",
    6: "green_flashing",
    9: "unknown",
}
"""Signal state codes of a signal group's primary-signal Datastream (the states Hamburg's LSA
process data reports: dark, red, amber, green, red-amber, flashing). A result outside this table is a
bad observation."""

SIGNAL_LAYER_WORDS = ("signal", "lsa")
"""A Datastream whose layer name or name contains one of these (case-insensitive) carries signal states."""

MAX_PAGE_BYTES = 64 * 1024 * 1024
"""Largest page read (bytes): a page of 100 expanded Things is well under 1 MB."""

_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_LAYER_MINUTES = re.compile(r"(\d+)[-_ ]?min", re.IGNORECASE)
_TOPIC = re.compile(r"Datastreams\((\d+)\)/Observations$")


class SensorThingsProblem(ValueError):
    """One entity, page or message that is not what the SensorThings standard says (skipped, counted)."""


@dataclass(frozen=True)
class StaDatastream:
    """One quantity measured by one Thing: ``interval_s`` between observations when it is aggregated."""

    datastream_id: int
    thing_id: int
    name: str
    layer_name: str
    unit: str
    interval_s: float | None

    @property
    def is_signal(self) -> bool:
        """True for a signal-state Datastream (results are :data:`SIGNAL_STATE_CODES`)."""
        text = f"{self.layer_name} {self.name}".lower()
        return any(word in text for word in SIGNAL_LAYER_WORDS)


@dataclass(frozen=True)
class StaThing:
    """A detector or signal group: WGS84 position and, when known, the bearing (degrees from north)."""

    thing_id: int
    name: str
    lon: float
    lat: float
    bearing_deg: float | None
    datastreams: tuple[StaDatastream, ...] = field(default=())


class StaObservation(NamedTuple):
    """One result of one Datastream over ``[start_unix_s, end_unix_s]`` (equal for an instant), UTC."""

    datastream_id: int
    start_unix_s: float
    end_unix_s: float
    result: float


def parse_time_unix_s(text: str) -> float:
    """An ISO 8601 UTC time (``2026-12-07T22:00:00.000Z``) as Unix seconds."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no time zone (SensorThings times are UTC, ending in Z)")
    return moment.timestamp()


def format_time(unix_s: float) -> str:
    """Unix seconds as ISO 8601 UTC with milliseconds and ``Z`` (FROST's form)."""
    return datetime.fromtimestamp(unix_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_duration_s(text: str) -> float:
    """An ISO 8601 duration of days, hours, minutes and seconds (``PT15M``, ``P0DT0H5M0S``) in seconds."""
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 86_400 + hours * 3_600 + minutes * 60 + seconds


def _bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Initial bearing from ``a`` to ``b`` (lon, lat), degrees clockwise from north (local flat Earth)."""
    east = (b[0] - a[0]) * math.cos(math.radians(0.5 * (a[1] + b[1])))
    north = b[1] - a[1]
    return math.degrees(math.atan2(east, north)) % 360.0


def _location(thing: dict[str, Any]) -> tuple[float, float, float | None]:
    locations = thing.get("Locations")
    if not isinstance(locations, list) or not locations:
        raise SensorThingsProblem("field 'Locations': expected a non-empty list (use $expand=Locations)")
    geometry = locations[0].get("location") if isinstance(locations[0], dict) else None
    if isinstance(geometry, dict) and geometry.get("type") == "Feature":
        geometry = geometry.get("geometry")
    if not isinstance(geometry, dict):
        raise SensorThingsProblem("field 'Locations[0].location': expected a GeoJSON geometry")
    coords = geometry.get("coordinates")
    try:
        if geometry.get("type") == "Point":
            lon, lat = float(coords[0]), float(coords[1])  # type: ignore[index]
            bearing = None
        elif geometry.get("type") == "LineString":
            points = [(float(c[0]), float(c[1])) for c in coords]  # type: ignore[union-attr]
            if len(points) < 2:
                raise ValueError
            lon, lat = points[len(points) // 2]
            bearing = _bearing_deg(points[0], points[-1])
        else:
            raise SensorThingsProblem(
                "field 'Locations[0].location.type': expected Point or LineString, "
                f"got {geometry.get('type')!r}"
            )
    except (TypeError, ValueError, IndexError):
        raise SensorThingsProblem("field 'Locations[0].location.coordinates': expected [lon, lat]") from None
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise SensorThingsProblem(f"field 'Locations[0].location.coordinates': ({lon}, {lat}) is not WGS84")
    return lon, lat, bearing


def _entity_id(entity: dict[str, Any], kind: str) -> int:
    value = entity.get("@iot.id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise SensorThingsProblem(f"{kind} field '@iot.id': expected a whole number, got {value!r}")
    return int(value)


def _properties(entity: dict[str, Any]) -> dict[str, Any]:
    value = entity.get("properties")
    return value if isinstance(value, dict) else {}


def parse_datastream(entity: dict[str, Any], thing_id: int | None = None) -> StaDatastream:
    """A Datastream entity (``thing_id`` from the enclosing Thing, else from an expanded ``Thing``)."""
    if not isinstance(entity, dict):
        raise SensorThingsProblem("Datastream: expected a JSON object")
    datastream_id = _entity_id(entity, "Datastream")
    if thing_id is None:
        thing = entity.get("Thing")
        if not isinstance(thing, dict):
            raise SensorThingsProblem(f"Datastream {datastream_id}: no Thing (use $expand=Thing)")
        thing_id = _entity_id(thing, "Thing")
    properties = _properties(entity)
    layer = str(properties.get("layerName", ""))
    name = str(entity.get("name", ""))
    interval_s: float | None = None
    if properties.get("aggregateDuration"):
        try:
            interval_s = parse_duration_s(str(properties["aggregateDuration"]))
        except ValueError as error:
            raise SensorThingsProblem(
                f"Datastream {datastream_id} field 'properties.aggregateDuration': {error}"
            ) from None
    else:
        minutes = _LAYER_MINUTES.search(layer) or _LAYER_MINUTES.search(name)
        interval_s = float(minutes.group(1)) * 60.0 if minutes else None
    unit = entity.get("unitOfMeasurement")
    symbol = str(unit.get("symbol") or unit.get("name") or "") if isinstance(unit, dict) else ""
    return StaDatastream(datastream_id, thing_id, name, layer, symbol, interval_s)


def parse_thing(entity: dict[str, Any]) -> StaThing:
    """A Thing entity with its expanded ``Locations`` and ``Datastreams``. Its bearing is
    ``properties.bearing_deg`` when given, else that of a ``LineString`` location, else unknown."""
    if not isinstance(entity, dict):
        raise SensorThingsProblem("Thing: expected a JSON object")
    thing_id = _entity_id(entity, "Thing")
    try:
        lon, lat, bearing = _location(entity)
    except SensorThingsProblem as problem:
        raise SensorThingsProblem(f"Thing {thing_id} {problem}") from None
    properties = _properties(entity)
    if properties.get("bearing_deg") is not None:
        try:
            bearing = float(properties["bearing_deg"]) % 360.0
        except (TypeError, ValueError):
            raise SensorThingsProblem(
                f"Thing {thing_id} field 'properties.bearing_deg': expected degrees, "
                f"got {properties['bearing_deg']!r}"
            ) from None
    streams = entity.get("Datastreams", [])
    if not isinstance(streams, list):
        raise SensorThingsProblem(f"Thing {thing_id} field 'Datastreams': expected a list")
    datastreams = tuple(parse_datastream(s, thing_id) for s in streams)
    return StaThing(thing_id, str(entity.get("name", "")), lon, lat, bearing, datastreams)


def parse_observation(entity: Any, datastream_id: int) -> StaObservation:
    """An Observation entity (from a page or an MQTT message) of Datastream ``datastream_id``."""
    if not isinstance(entity, dict):
        raise SensorThingsProblem("Observation: expected a JSON object")
    phenomenon = entity.get("phenomenonTime")
    if not isinstance(phenomenon, str):
        raise SensorThingsProblem(
            f"Observation field 'phenomenonTime': expected an ISO 8601 time, got {phenomenon!r}"
        )
    try:
        if "/" in phenomenon:
            first, last = phenomenon.split("/", 1)
            start_s, end_s = parse_time_unix_s(first), parse_time_unix_s(last)
        else:
            start_s = end_s = parse_time_unix_s(phenomenon)
    except ValueError as error:
        raise SensorThingsProblem(f"Observation field 'phenomenonTime': {error}") from None
    if end_s < start_s:
        raise SensorThingsProblem(
            f"Observation field 'phenomenonTime': interval {phenomenon!r} ends before it starts"
        )
    result = entity.get("result")
    if isinstance(result, bool) or not isinstance(result, int | float) or not math.isfinite(result):
        raise SensorThingsProblem(f"Observation field 'result': expected a finite number, got {result!r}")
    return StaObservation(datastream_id, start_s, end_s, float(result))


def observation_topic(datastream_id: int, prefix: str = "") -> str:
    """The MQTT topic of a Datastream's new Observations: ``[prefix/]v1.1/Datastreams(id)/Observations``."""
    topic = f"v1.1/Datastreams({datastream_id})/Observations"
    return f"{prefix.rstrip('/')}/{topic}" if prefix else topic


def datastream_id_from_topic(topic: str) -> int:
    """The Datastream id in an Observations topic (:func:`observation_topic`)."""
    match = _TOPIC.search(topic)
    if not match:
        raise SensorThingsProblem(f"topic {topic!r}: expected .../v1.1/Datastreams(ID)/Observations")
    return int(match.group(1))


class SensorThingsClient:
    """Pages through a SensorThings v1.1 service (``base_url`` ends in ``/v1.1``).

    Every page or entity that is not what the standard says is skipped; :attr:`problems` lists each
    (``URL: what was wrong``) and :attr:`skipped` counts them.
    """

    def __init__(self, base_url: str, *, page_size: int = 100, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.http = httpx.Client(timeout=timeout_s, follow_redirects=True)
        self.problems: list[str] = []

    @property
    def skipped(self) -> int:
        """Number of pages and entities skipped as malformed."""
        return len(self.problems)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.http.close()

    def __enter__(self) -> SensorThingsClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _read_page(self, url: str) -> bytes:
        """The body of one page, refused past :data:`MAX_PAGE_BYTES` (read in chunks, never whole first)."""
        with self.http.stream("GET", url) as response:
            response.raise_for_status()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_PAGE_BYTES:
                    raise ValueError(f"page larger than {MAX_PAGE_BYTES} bytes")
                chunks.append(chunk)
        return b"".join(chunks)

    def _pages(self, url: str) -> Iterator[tuple[str, list[Any]]]:
        """(page URL, its ``value`` list) of every page from ``url`` on, following ``@iot.nextLink``."""
        seen: set[str] = set()
        next_url: str | None = url
        while next_url and next_url not in seen:
            seen.add(next_url)
            page_url = next_url
            next_url = None
            try:
                body = json.loads(self._read_page(page_url))
            except (httpx.HTTPError, ValueError) as error:
                self.problems.append(f"{page_url}: page not read ({type(error).__name__}: {error})")
                return
            if not isinstance(body, dict) or not isinstance(body.get("value"), list):
                self.problems.append(f"{page_url}: expected a JSON object with a 'value' list")
                return
            link = body.get("@iot.nextLink")
            if link is not None and not isinstance(link, str):
                self.problems.append(f"{page_url}: field '@iot.nextLink': expected a URL, got {link!r}")
            elif link and urlsplit(link).netloc != urlsplit(self.base_url).netloc:
                self.problems.append(
                    f"{page_url}: field '@iot.nextLink': {link!r} leaves the service's host; not followed"
                )
            elif link:
                next_url = link
            yield page_url, body["value"]

    def things(self, filter_text: str | None = None) -> list[StaThing]:
        """Every Thing with its Locations and Datastreams (``$expand``), optionally ``$filter``-ed."""
        query = f"$top={self.page_size}&$expand=Locations,Datastreams"
        if filter_text:
            query += f"&$filter={quote(filter_text)}"
        found = []
        for page_url, values in self._pages(f"{self.base_url}/Things?{query}"):
            for number, entity in enumerate(values):
                try:
                    found.append(parse_thing(entity))
                except SensorThingsProblem as problem:
                    self.problems.append(f"{page_url}: entity {number}: {problem}")
        return found

    def observations(
        self, datastream_id: int, since_unix_s: float | None = None, until_unix_s: float | None = None
    ) -> Iterator[StaObservation]:
        """A Datastream's Observations, oldest first, with ``phenomenonTime`` in ``[since, until)``."""
        clauses = []
        if since_unix_s is not None:
            clauses.append(f"phenomenonTime ge {format_time(since_unix_s)}")
        if until_unix_s is not None:
            clauses.append(f"phenomenonTime lt {format_time(until_unix_s)}")
        query = f"$top={self.page_size}&$orderby=phenomenonTime%20asc"
        if clauses:
            query += f"&$filter={quote(' and '.join(clauses))}"
        url = f"{self.base_url}/Datastreams({datastream_id})/Observations?{query}"
        for page_url, values in self._pages(url):
            for number, entity in enumerate(values):
                try:
                    yield parse_observation(entity, datastream_id)
                except SensorThingsProblem as problem:
                    self.problems.append(f"{page_url}: entity {number}: {problem}")

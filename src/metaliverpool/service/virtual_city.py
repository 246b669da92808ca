"""A virtual city: a recorded or simulated sensor series served as SensorThings, for demos and tests.

:class:`VirtualCity` turns a :class:`~metaliverpool.predict.series.SensorSeries` whose sensor ids are the
twin's link ids (what ``forecast history`` writes, or :func:`simulate_city_series` on the twin) into
SensorThings entities shaped as Hamburg's traffic feeds: one Thing per detector, located by a
``LineString`` 4 m long about its link's middle (its bearing is the link's direction there), with one
Datastream of the series' quantity (``properties.layerName`` and ``aggregateDuration``).
:meth:`VirtualCity.replay` publishes each step's Observations to MQTT on
``v1.1/Datastreams(id)/Observations`` at real or accelerated speed (``speed`` x), stamping phenomenon
times on a clock that starts at the replay's start and runs ``speed`` times faster than the wall clock.
:func:`serve_city` serves the entities (and the
Observations published so far) over HTTP as a small SensorThings v1.1 server: ``/v1.1/Things``,
``/v1.1/Things(id)``, ``/v1.1/Datastreams``, ``/v1.1/Datastreams(id)/Observations`` with ``$top``,
``$skip``, ``@iot.nextLink`` and ``$filter`` on ``phenomenonTime`` (``ge``/``gt``/``lt``/``le``, joined
by ``and``).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import shapely

from metaliverpool.errors import InputError
from metaliverpool.ingest.sensorthings import StaObservation, format_time, parse_time_unix_s
from metaliverpool.ingest.sensorthings_mqtt import ObservationPublisher
from metaliverpool.network.twin import Twin
from metaliverpool.predict.series import SensorSeries

PAGE_SIZE = 100
"""Entities per page when a request gives no ``$top`` (FROST's default)."""

MAX_TOP = 10_000
"""Largest ``$top`` served."""

QUANTITIES = {
    "count": ("Anzahl_Kfz_{minutes}-Min", "Anzahl", "Anzahl Kfz {minutes}-Min"),
    "speed": ("Geschwindigkeit_{minutes}-Min", "m/s", "Geschwindigkeit {minutes}-Min"),
}
"""Quantity -> (layer name, unit symbol, Datastream name) templates."""

_FILTER = re.compile(r"^\s*phenomenonTime\s+(ge|gt|lt|le)\s+(\S+)\s*$")


@dataclass(frozen=True)
class CityDetector:
    """One detector of the city: Thing and Datastream ids, its twin link, position and bearing."""

    thing_id: int
    datastream_id: int
    link_id: int
    lon: float
    lat: float
    line: tuple[tuple[float, float], ...]


def _middle_line(geometry: shapely.LineString, length_m: float) -> tuple[tuple[float, float], ...]:
    """Three points of a link's line (lon, lat): its middle and 2 m either side, oriented as the link, so
    that the line's direction is the link's direction at its middle even on a bend."""
    half = min(0.25, 2.0 / max(length_m, 1e-9))
    points = (geometry.interpolate(f, normalized=True) for f in (0.5 - half, 0.5, 0.5 + half))
    return tuple((p.x, p.y) for p in points)


class VirtualCity:
    """Detectors on the twin's links for every column of ``series`` (see the module docstring)."""

    def __init__(self, series: SensorSeries, twin: Twin, quantity: str = "speed") -> None:
        if quantity not in QUANTITIES:
            raise InputError("--quantity", f"expected one of {sorted(QUANTITIES)}, got {quantity!r}")
        self.series = series
        self.quantity = quantity
        links = twin.links.set_index("link_id")
        nodes = twin.nodes.set_index("node_id")
        detectors = []
        for column, sensor in enumerate(series.sensor_ids):
            try:
                link_id = int(sensor)
                geometry = links.loc[link_id, "geometry"]
                if not isinstance(geometry, shapely.LineString):
                    ends = links.loc[link_id, ["from_node_id", "to_node_id"]]
                    geometry = shapely.LineString(nodes.loc[ends.to_numpy(), ["lon", "lat"]].to_numpy(float))
            except (ValueError, KeyError):
                raise InputError(
                    "series", f"sensor {sensor!r} is not a link id of the twin", f"column {column + 1}"
                ) from None
            length_m = float(links.at[link_id, "length_m"])  # type: ignore[arg-type]
            line = _middle_line(geometry, length_m)
            detectors.append(
                CityDetector(1000 + column, 2000 + column, link_id, line[1][0], line[1][1], line)
            )
        self.detectors = tuple(detectors)
        self.published: dict[int, list[StaObservation]] = {d.datastream_id: [] for d in detectors}
        self.lock = threading.Lock()

    def datastream_entity(self, detector: CityDetector) -> dict[str, Any]:
        """The Datastream entity of one detector."""
        minutes = round(self.series.interval_s / 60)
        layer, unit, name = (t.format(minutes=minutes) for t in QUANTITIES[self.quantity])
        return {
            "@iot.id": detector.datastream_id,
            "name": f"{name} link {detector.link_id}",
            "description": f"{self.quantity} of the vehicles on twin link {detector.link_id}",
            "unitOfMeasurement": {"name": unit, "symbol": unit, "definition": ""},
            "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
            "properties": {
                "layerName": layer,
                "aggregateDuration": f"PT{minutes}M",
                "resultNature": "primary",
            },
        }

    def thing_entity(self, detector: CityDetector, expand: set[str]) -> dict[str, Any]:
        """The Thing entity of one detector, with ``Locations`` and ``Datastreams`` when expanded."""
        entity: dict[str, Any] = {
            "@iot.id": detector.thing_id,
            "name": f"Detector link {detector.link_id}",
            "description": "Virtual detector of Meta Liverpool's replay",
            "properties": {"ownerThing": "Meta Liverpool (virtual city)", "twin_link_id": detector.link_id},
        }
        if "Locations" in expand:
            entity["Locations"] = [
                {
                    "@iot.id": detector.thing_id,
                    "name": f"Detector link {detector.link_id}",
                    "encodingType": "application/geo+json",
                    "location": {"type": "LineString", "coordinates": [list(p) for p in detector.line]},
                }
            ]
        if "Datastreams" in expand:
            entity["Datastreams"] = [self.datastream_entity(detector)]
        return entity

    def step_observations(self, step: int, clock_start_unix_s: float) -> list[StaObservation]:
        """The Observations of one row of the series (NaN values left out), on the replay clock."""
        start = clock_start_unix_s + step * self.series.interval_s
        end = start + self.series.interval_s
        values = self.series.values[step]
        scale = self.series.interval_s / 3600.0 if self.quantity == "count" else 1.0
        return [
            StaObservation(d.datastream_id, start, end, round(float(v) * scale, 3))
            for d, v in zip(self.detectors, values, strict=True)
            if math.isfinite(v)
        ]

    def replay(
        self,
        publisher: ObservationPublisher,
        *,
        speed: float = 1.0,
        steps: int | None = None,
        stop: threading.Event | None = None,
        on_step: Callable[[int], None] | None = None,
    ) -> int:
        """Publish rows of the series in order, each when its interval ends on the replay clock (``speed``
        times real time); returns the number of Observations published."""
        if not speed > 0:
            raise InputError("--speed", f"expected a positive factor, got {speed}")
        stop = stop or threading.Event()
        wall_start = time.time()
        total = 0
        for step in range(min(steps or self.series.n_steps, self.series.n_steps)):
            due = wall_start + (step + 1) * self.series.interval_s / speed
            if stop.wait(max(0.0, due - time.time())):
                break
            observations = self.step_observations(step, wall_start)
            with self.lock:
                for o in observations:
                    self.published[o.datastream_id].append(o)
            publisher.publish(observations)
            total += len(observations)
            if on_step is not None:
                on_step(step + 1)
        return total


def _page(values: list[Any], query: dict[str, list[str]], base: str) -> dict[str, Any]:
    top = min(int(query.get("$top", [str(PAGE_SIZE)])[0]), MAX_TOP)
    skip = int(query.get("$skip", ["0"])[0])
    page: dict[str, Any] = {"value": values[skip : skip + top]}
    if skip + top < len(values):
        rest = {k: v[0] for k, v in query.items() if k != "$skip"}
        rest["$skip"] = str(skip + top)
        page["@iot.nextLink"] = base + "?" + urlencode(rest, safe="$,():", quote_via=quote)
    return page


def _time_filter(text: str) -> Callable[[StaObservation], bool]:
    tests = []
    for clause in text.split(" and "):
        match = _FILTER.match(clause)
        if not match:
            raise ValueError(
                f"unsupported $filter clause {clause!r}; expected phenomenonTime ge|gt|lt|le TIME"
            )
        op, moment = match.group(1), parse_time_unix_s(match.group(2))
        tests.append((op, moment))

    def keep(o: StaObservation) -> bool:
        for op, moment in tests:
            t = o.start_unix_s
            if (op == "ge" and t < moment) or (op == "gt" and t <= moment):
                return False
            if (op == "lt" and t >= moment) or (op == "le" and t > moment):
                return False
        return True

    return keep


def _handler(city: VirtualCity) -> type[BaseHTTPRequestHandler]:
    things = {d.thing_id: d for d in city.detectors}
    streams = {d.datastream_id: d for d in city.detectors}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:  # quiet: one line per request would flood a demo
            return

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            expand = set(query.get("$expand", [""])[0].split(","))
            base = f"http://{self.headers.get('Host', 'localhost')}{parts.path}"
            path = parts.path.rstrip("/")
            try:
                if path == "/v1.1":
                    names = ("Things", "Datastreams")
                    self._send(200, {"value": [{"name": n, "url": f"{base}/{n}"} for n in names]})
                elif path == "/v1.1/Things":
                    values = [city.thing_entity(d, expand) for d in city.detectors]
                    self._send(200, _page(values, query, base))
                elif (m := re.fullmatch(r"/v1\.1/Things\((\d+)\)", path)) and int(m.group(1)) in things:
                    self._send(200, city.thing_entity(things[int(m.group(1))], expand))
                elif path == "/v1.1/Datastreams":
                    values = []
                    for d in city.detectors:
                        entity = city.datastream_entity(d)
                        if "Thing" in expand:
                            entity["Thing"] = city.thing_entity(d, set())
                        values.append(entity)
                    self._send(200, _page(values, query, base))
                elif (m := re.fullmatch(r"/v1\.1/Datastreams\((\d+)\)/Observations", path)) and int(
                    m.group(1)
                ) in streams:
                    keep = _time_filter(query["$filter"][0]) if "$filter" in query else (lambda _o: True)
                    with city.lock:
                        chosen = [o for o in city.published[int(m.group(1))] if keep(o)]
                    chosen.sort(key=lambda o: o.start_unix_s)
                    values = [
                        {
                            "@iot.id": k,
                            "phenomenonTime": f"{format_time(o.start_unix_s)}/{format_time(o.end_unix_s)}",
                            "result": o.result,
                        }
                        for k, o in enumerate(chosen)
                    ]
                    self._send(200, _page(values, query, base))
                else:
                    self._send(404, {"code": 404, "type": "error", "message": f"Nothing found at {path}"})
            except ValueError as error:
                self._send(400, {"code": 400, "type": "error", "message": str(error)})

    return Handler


def serve_city(city: VirtualCity, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """Serve ``city`` over HTTP in a daemon thread (``port`` 0: any free port); ``server_address`` tells
    where. Stop it with ``shutdown()``."""
    server = ThreadingHTTPServer((host, port), _handler(city))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="virtual-city-http", daemon=True).start()
    return server


def simulate_city_series(twin: Twin, n_sensors: int, seed: int = 0) -> SensorSeries:
    """One simulated day of the twin (``predict.twin_history``): vehicle flows (veh/h) per 5 minutes on the
    ``n_sensors`` busiest links, to replay as counts."""
    from metaliverpool.predict.twin_history import TwinHistoryConfig, simulate_twin_history

    return simulate_twin_history(twin, TwinHistoryConfig(n_days=1, n_sensors=n_sensors, seed=seed)).flow

"""Fixtures of the live-feed tests: a Hamburg-shaped SensorThings HTTP server, a fresh archive database,
an MQTT topic prefix of their own, and a small grid twin with one signalised junction."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from metaliverpool.network.twin import Twin
from small_twins import grid_twin

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER = ("127.0.0.1", 1883)
LON0, LAT0, STEP = -2.99, 53.405, 0.002
"""The grid twin's south-west node and spacing (degrees): ``grid_twin(3)`` nodes 0..8, row by row."""


@dataclass
class CannedService:
    """A real HTTP server answering GET requests from canned bodies: ``pages[(path, skip)]`` is the JSON
    body (or raw bytes) for that path and ``$skip`` value. Every request's path and query is recorded."""

    pages: dict[tuple[str, int], Any]
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def root(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1.1"


def _serve(service: CannedService) -> None:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            return

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            service.requests.append((parts.path, query))
            body = service.pages.get((parts.path, int(query.get("$skip", ["0"])[0])))
            if body is None:
                data, status = b'{"code":404,"type":"error","message":"Nothing found."}', 404
            else:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                status = 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    service.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=service.server.serve_forever, daemon=True).start()


def count_thing(
    thing_id: int, datastream_id: int, location: dict[str, Any], minutes: int = 15
) -> dict[str, Any]:
    """A Thing as Hamburg's "Verkehrsstärken" (infrared counting points) publishes it, expanded."""
    return {
        "@iot.selfLink": f"https://iot.example/v1.1/Things({thing_id})",
        "@iot.id": thing_id,
        "name": f"Zählstelle {thing_id}",
        "description": "Verkehrszählstelle Kfz (Infrarotdetektor)",
        "properties": {
            "ownerThing": "Freie und Hansestadt Hamburg",
            "assetID": str(thing_id),
            "keywords": ["Verkehrszaehlstelle", "Kfz"],
            "topic": "Transport und Verkehr",
        },
        "Locations": [
            {
                "@iot.id": thing_id,
                "name": f"Zählstelle {thing_id}",
                "encodingType": "application/geo+json",
                "location": location,
            }
        ],
        "Datastreams": [
            {
                "@iot.id": datastream_id,
                "name": f"Anzahl Kfz Zählstelle {thing_id} {minutes}-Min",
                "description": f"Anzahl der Kfz je {minutes} Minuten",
                "unitOfMeasurement": {"name": "Anzahl", "symbol": "", "definition": "Anzahl"},
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "properties": {
                    "layerName": f"Anzahl_Kfz_Zaehlstelle_{minutes}-Min",
                    "resultNature": "primary",
                    "serviceName": "HH_STA_AutomatisierteVerkehrsmengenerfassung",
                },
            }
        ],
    }


def signal_thing(thing_id: int, datastream_id: int, location: dict[str, Any]) -> dict[str, Any]:
    """A signal group's lane relation as Hamburg's "Lichtsignalanlagen" publishes it, expanded."""
    return {
        "@iot.id": thing_id,
        "name": f"Fahrspurbeziehung Signalgruppe K{thing_id % 10}",
        "description": "Fahrspurbeziehung an einer Lichtsignalanlage",
        "properties": {"ownerThing": "Freie und Hansestadt Hamburg", "topic": "Transport und Verkehr"},
        "Locations": [{"@iot.id": thing_id, "encodingType": "application/geo+json", "location": location}],
        "Datastreams": [
            {
                "@iot.id": datastream_id,
                "name": "Primärsignal",
                "unitOfMeasurement": {"name": "Signalzustand", "symbol": "", "definition": ""},
                "properties": {"layerName": "primary_signal", "resultNature": "primary"},
            }
        ],
    }


def line(a: tuple[float, float], b: tuple[float, float]) -> dict[str, Any]:
    """A GeoJSON LineString from ``a`` to ``b`` (lon, lat)."""
    return {"type": "LineString", "coordinates": [list(a), list(b)]}


def point(lon: float, lat: float) -> dict[str, Any]:
    """A GeoJSON Point."""
    return {"type": "Point", "coordinates": [lon, lat]}


@pytest.fixture
def canned() -> Iterator[CannedService]:
    """An empty canned SensorThings service (tests fill ``pages``)."""
    service = CannedService(pages={})
    _serve(service)
    yield service
    assert service.server is not None
    service.server.shutdown()


@pytest.fixture
def live_twin() -> Twin:
    """``grid_twin(3)`` (nodes 200 m apart, links 0..) with node 4 (the centre) a signalised junction 0."""
    return grid_twin(3, signal_nodes=[4])


@pytest.fixture
def archive_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the archive, dropped afterwards."""
    name = f"ml_live_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable: {error}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def topic_prefix() -> str:
    """An MQTT topic prefix no other test or helper uses; skips when the broker is not there."""
    try:
        socket.create_connection(BROKER, timeout=2).close()
    except OSError as error:
        pytest.skip(f"MQTT broker not reachable at {BROKER}: {error}")
    return f"test-{uuid.uuid4().hex[:12]}"

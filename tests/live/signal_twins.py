"""The signal loop's tests: a crossroads twin with a busy and a quiet street, and an MQTT listener."""

from __future__ import annotations

import threading
import uuid

import paho.mqtt.client as mqtt

from live.conftest import BROKER
from metaliverpool.network.twin import Twin
from small_twins import LAT0, LON0, make_twin, two_way


def crossroads_twin(east_west_per_hour: int = 1100, north_south_per_hour: int = 250) -> Twin:
    """Node 0 is a signalised crossroads (OSM node 1000) of Castle Street (east-west, ways 10 and 11) and
    Dale Street (north-south, ways 20 and 21), arms about 400 m long; a zone at the end of each arm. The
    east-west demand runs both ways at ``east_west_per_hour``, north-south at ``north_south_per_hour``."""
    points = [
        (LON0, LAT0),
        (LON0 - 0.006, LAT0),
        (LON0 + 0.006, LAT0),
        (LON0, LAT0 + 0.0036),
        (LON0, LAT0 - 0.0036),
    ]
    links = [
        *two_way(1, 0, 10, name="Castle Street", capacity_vph=1800),
        *two_way(0, 2, 11, name="Castle Street", capacity_vph=1800),
        *two_way(3, 0, 20, name="Dale Street", capacity_vph=1800),
        *two_way(0, 4, 21, name="Dale Street", capacity_vph=1800),
    ]
    zones = [
        ("E01000001", 1, 1000, 1),
        ("E01000002", 2, 1000, 2),
        ("E01000003", 3, 1000, 3),
        ("E01000004", 4, 1000, 4),
    ]
    trips = [
        (0, 1, east_west_per_hour),
        (1, 0, east_west_per_hour),
        (2, 3, north_south_per_hour),
        (3, 2, north_south_per_hour),
    ]
    return make_twin(points, links, zones, trips, signal_nodes=[0])


class TaskListener:
    """A real MQTT subscriber on one junction's Task topic."""

    def __init__(self, topic: str) -> None:
        self.messages: list[bytes] = []
        self.got = threading.Event()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda _c, _u, m: (self.messages.append(m.payload), self.got.set())
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect(*BROKER)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        assert subscribed.wait(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

"""SensorThings over MQTT (paho-mqtt): subscribe to ``v1.1/Datastreams(id)/Observations``, publish to it.

A SensorThings server publishes each new Observation of a Datastream as its JSON entity on
:func:`~metaliverpool.ingest.sensorthings.observation_topic`. :class:`ObservationSubscriber` parses each
message into a :class:`~metaliverpool.ingest.sensorthings.StaObservation` and hands it on with its
arrival time; a message that is not a valid Observation is handed to ``on_problem`` with the topic and
what was wrong, never raised in paho's network thread. :class:`ObservationPublisher` is the other end,
used by the virtual city (``metaliverpool live replay``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence

import paho.mqtt.client as mqtt

from metaliverpool.errors import InputError
from metaliverpool.ingest.sensorthings import (
    SensorThingsProblem,
    StaObservation,
    datastream_id_from_topic,
    format_time,
    observation_topic,
    parse_observation,
)

TOPICS_PER_SUBSCRIBE = 500
"""Topics sent in one MQTT SUBSCRIBE packet (10,000 detectors take 20 packets)."""

_decode = json.JSONDecoder().decode
"""JSON text to Python (a stateless decoder: ``json.loads`` without its per-call encoding detection)."""

MAX_MESSAGE_BYTES = 64 * 1024
"""A larger Observation message is refused unread (an Observation entity is a few hundred bytes)."""


def parse_broker(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``--mqtt``) as (host, port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError("--mqtt", f"expected HOST:PORT such as 127.0.0.1:1883, got {text!r}")
    return host, int(port)


def connect_client(client: mqtt.Client, host: str, port: int, timeout_s: float) -> None:
    """Connect ``client`` and start its network loop; an unreachable or refusing broker is an
    :class:`InputError`."""
    connected = threading.Event()
    failure: list[str] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: object, _p: object = None) -> None:
        if getattr(reason, "is_failure", False):
            failure.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=30)
    except OSError as error:
        raise InputError(f"{host}:{port}", f"MQTT broker not reachable ({error})") from None
    client.loop_start()
    if not connected.wait(timeout_s) or failure:
        client.loop_stop()
        raise InputError(f"{host}:{port}", f"MQTT broker refused the connection ({failure or 'timeout'})")


class ObservationSubscriber:
    """Receives the Observations of ``datastream_ids`` from an MQTT broker (paho's network thread).

    ``on_observation(observation, received_unix_s)`` and ``on_problem(text)`` are called in that
    thread; they must be quick (the ingest appends to a buffer under a lock). paho reconnects when the
    connection is lost; the subscriber subscribes again on every connection.
    """

    def __init__(
        self,
        host: str,
        port: int,
        datastream_ids: Iterable[int],
        on_observation: Callable[[StaObservation, float], None],
        on_problem: Callable[[str], None],
        *,
        topic_prefix: str = "",
    ) -> None:
        self.host, self.port = host, port
        self.topic_ids = {observation_topic(i, topic_prefix): int(i) for i in datastream_ids}
        self.topics = list(self.topic_ids)
        self.on_observation = on_observation
        self.on_problem = on_problem
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"ml-ingest-{uuid.uuid4().hex[:12]}"
        )
        self.client.max_queued_messages_set(0)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.acknowledged = threading.Semaphore(0)
        self.connect_failure: list[str] = []

    def _batches(self) -> list[list[str]]:
        return [
            self.topics[i : i + TOPICS_PER_SUBSCRIBE]
            for i in range(0, len(self.topics), TOPICS_PER_SUBSCRIBE)
        ]

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, reason: object, _p: object = None) -> None:
        if getattr(reason, "is_failure", False):
            self.connect_failure.append(str(reason))
            return
        for batch in self._batches():
            self.client.subscribe([(t, 0) for t in batch])

    def _on_subscribe(self, *_args: object) -> None:
        self.acknowledged.release()

    def _on_message(self, _c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        received_s = time.time()
        topic = message.topic
        try:
            if len(message.payload) > MAX_MESSAGE_BYTES:
                raise SensorThingsProblem(
                    f"message of {len(message.payload)} bytes (limit {MAX_MESSAGE_BYTES})"
                )
            datastream_id = self.topic_ids.get(topic)
            if datastream_id is None:
                datastream_id = datastream_id_from_topic(topic)
            try:
                entity = _decode(message.payload.decode())
            except ValueError as error:
                raise SensorThingsProblem(f"not JSON ({error})") from None
            observation = parse_observation(entity, datastream_id)
        except SensorThingsProblem as problem:
            self.on_problem(f"MQTT {topic}: {problem}")
            return
        self.on_observation(observation, received_s)

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect, subscribe to every topic (in packets of :data:`TOPICS_PER_SUBSCRIBE`) and wait for
        the broker to acknowledge the subscriptions."""
        where = f"{self.host}:{self.port}"
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError as error:
            raise InputError(where, f"MQTT broker not reachable ({error})") from None
        self.client.loop_start()
        for _ in self._batches():
            if not self.acknowledged.acquire(timeout=timeout_s):
                self.stop()
                failure = self.connect_failure or ["no acknowledgement"]
                raise InputError(where, f"MQTT broker did not take the subscriptions ({failure[0]})")

    def stop(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def observation_payload(observation: StaObservation, observation_id: int) -> bytes:
    """The JSON entity a SensorThings server publishes for a new Observation."""
    if observation.end_unix_s > observation.start_unix_s:
        phenomenon = f"{format_time(observation.start_unix_s)}/{format_time(observation.end_unix_s)}"
    else:
        phenomenon = format_time(observation.start_unix_s)
    result: float | int = observation.result
    if float(result).is_integer():
        result = int(result)
    entity = {
        "@iot.id": observation_id,
        "phenomenonTime": phenomenon,
        "resultTime": format_time(observation.end_unix_s),
        "result": result,
    }
    return json.dumps(entity, separators=(",", ":")).encode()


class ObservationPublisher:
    """Publishes Observations as a SensorThings server does (QoS 0, one message per Observation)."""

    def __init__(self, host: str, port: int, *, topic_prefix: str = "") -> None:
        self.host, self.port = host, port
        self.topic_prefix = topic_prefix
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"ml-replay-{uuid.uuid4().hex[:12]}"
        )
        self.client.max_queued_messages_set(0)
        self.next_id = 1

    def start(self, timeout_s: float = 10.0) -> None:
        """Connect to the broker."""
        connect_client(self.client, self.host, self.port, timeout_s)

    def publish(self, observations: Sequence[StaObservation]) -> None:
        """Publish each Observation on its Datastream's topic."""
        for observation in observations:
            topic = observation_topic(observation.datastream_id, self.topic_prefix)
            self.client.publish(topic, observation_payload(observation, self.next_id), qos=0)
            self.next_id += 1

    def publish_raw(self, topic: str, payload: bytes) -> None:
        """Publish any bytes on any topic (tests: malformed messages)."""
        self.client.publish(topic, payload, qos=0)

    def stop(self) -> None:
        """Wait until queued messages are sent, then disconnect."""
        deadline = time.monotonic() + 30.0
        while self.client.want_write() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.client.disconnect()
        self.client.loop_stop()

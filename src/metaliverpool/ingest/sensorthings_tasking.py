"""Approved signal plans out: a SensorThings Task over MQTT and a UTMC-style plan file (``docs/live.md``).

SensorThings' tasking part models an actuator as a Thing with ``TaskingCapabilities``; a command to it
is a ``Task`` whose ``taskingParameters`` carry the command. An approved plan is published as such a
Task on ``v1.1/TaskingCapabilities(JUNCTION)/Tasks`` (QoS 1, so the broker acknowledges it), and written
as a plan file in the layout :func:`utmc_plan` builds (UTMC's vocabulary: a site's System Code Number,
plan number, cycle time, offset and stages with their green and intergreen).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from metaliverpool.errors import InputError
from metaliverpool.ingest.sensorthings import format_time
from metaliverpool.ingest.sensorthings_mqtt import connect_client

SCN_PREFIX = "MLJ"
"""System Code Number of a twin junction: this prefix and the junction id, zero-padded to 6 digits."""


def site_scn(junction_id: int) -> str:
    """The UTMC-style System Code Number of a junction (``MLJ000123``)."""
    return f"{SCN_PREFIX}{junction_id:06d}"


def task_topic(junction_id: int, prefix: str = "") -> str:
    """The MQTT topic of a junction's Tasks."""
    return f"{prefix}v1.1/TaskingCapabilities({junction_id})/Tasks"


def utmc_plan(
    junction_id: int,
    junction_name: str,
    plan_number: int,
    plan: dict[str, Any],
    valid_from_unix_s: float,
    valid_for_s: float,
    approved_by: str,
    approved_unix_s: float,
) -> dict[str, Any]:
    """The plan file's content: the site, the plan's timings by stage, its validity and its approval.
    ``plan`` has ``cycle_s``, ``offset_s`` and ``stages`` (``green_s``, ``amber_s``, ``all_red_s``,
    ``approaches``)."""
    return {
        "format": "meta-liverpool utmc-style signal plan 1",
        "scn": site_scn(junction_id),
        "site_name": junction_name,
        "plan_number": plan_number,
        "cycle_time_s": plan["cycle_s"],
        "offset_s": plan["offset_s"],
        "stages": [
            {
                "stage": number,
                "green_s": stage["green_s"],
                "intergreen_s": stage["amber_s"] + stage["all_red_s"],
                "amber_s": stage["amber_s"],
                "all_red_s": stage["all_red_s"],
                "approaches": stage["approaches"],
            }
            for number, stage in enumerate(plan["stages"], start=1)
        ],
        "valid_from_utc": format_time(valid_from_unix_s),
        "valid_for_s": valid_for_s,
        "approved_by": approved_by,
        "approved_utc": format_time(approved_unix_s),
    }


def task_payload(plan_file: dict[str, Any], created_unix_s: float) -> bytes:
    """A SensorThings Task entity carrying the plan as its tasking parameters."""
    return json.dumps({"creationTime": format_time(created_unix_s), "taskingParameters": plan_file}).encode()


def publish_task(
    host: str, port: int, junction_id: int, payload: bytes, *, prefix: str = "", timeout_s: float = 10.0
) -> str:
    """Publish a Task at QoS 1 and wait for the broker's acknowledgement; returns the topic. An
    unreachable broker or no acknowledgement is an :class:`InputError`."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"ml-plan-{uuid.uuid4().hex[:12]}")
    connect_client(client, host, port, timeout_s)
    topic = task_topic(junction_id, prefix)
    try:
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(timeout_s)
        if not info.is_published():
            raise InputError(f"{host}:{port}", f"the broker did not acknowledge the plan on {topic}")
    finally:
        client.disconnect()
        client.loop_stop()
    return topic

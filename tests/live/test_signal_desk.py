"""Proposals from the forecast, a person's decision, publication (MQTT, plan file) and the audit, against
the real PostgreSQL and Mosquitto."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from live.conftest import BROKER
from live.signal_twins import TaskListener, crossroads_twin
from metaliverpool.ingest.sensorthings_tasking import task_topic
from metaliverpool.service.access import AccessDenied, Conflict, NotFound
from metaliverpool.service.live_baseline import BaselineCase, baseline_case
from metaliverpool.service.live_view import LiveView
from metaliverpool.service.signal_desk import DeskConfig, Publisher, SignalDesk
from metaliverpool.store.live_state_store import LiveStateStore


@pytest.fixture(scope="module")
def case() -> BaselineCase:
    return baseline_case(crossroads_twin())


def congested_state(case: BaselineCase, level_pct: int) -> dict[str, object]:
    """A state with every link at ``level_pct`` now and in every horizon."""
    links = case.network.link_external_id.tolist()
    return {
        "link_id": links,
        "level_pct": {str(h): [level_pct] * len(links) for h in range(0, 61, 5)},
    }


def test_propose_approve_publish_and_audit(
    case: BaselineCase, archive_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    twin = crossroads_twin()
    store = LiveStateStore(archive_url)
    store.ensure_schema()
    desk = SignalDesk(twin, "test", case, store, DeskConfig(level_threshold=0.5))
    assert desk.propose(congested_state(case, 20), 1_000.0) == []  # not congested enough: nothing
    made = desk.propose(congested_state(case, 80), 1_000.0)
    assert len(made) == 1
    assert desk.propose(congested_state(case, 80), 1_300.0) == []  # one waiting per junction
    proposal = store.proposal(made[0])
    assert proposal is not None and proposal["status"] == "proposed"
    assert proposal["junction_name"] == "Castle Street / Dale Street"
    effect = proposal["effect"]
    assert effect["with"]["travel_time_s"] < effect["without"]["travel_time_s"]
    assert all(effect["with"]["max_queue_veh"][k] <= cap for k, cap in effect["queue_cap_veh"].items())
    stages = proposal["proposed_plan"]["stages"]
    assert {tuple(s["approaches"]) for s in stages} == {("Castle Street",), ("Dale Street",)}

    publisher = Publisher(tmp_path / "plans", BROKER, topic_prefix)
    view = LiveView(archive_url, ("alice",), publisher)
    with pytest.raises(AccessDenied):
        view.decide("test", made[0], "mallory", approve=True)
    with pytest.raises(NotFound):
        view.decide("another-twin", made[0], "alice", approve=True)
    listener = TaskListener(task_topic(proposal["junction_id"], topic_prefix))
    try:
        decided = view.decide("test", made[0], "alice", approve=True, note="morning peak")
        assert listener.got.wait(5)
    finally:
        listener.close()
    assert decided["status"] == "approved" and decided["decided_by"] == "alice"
    assert decided["published_unix_s"] is not None
    task = json.loads(listener.messages[0])
    plan_file = json.loads((tmp_path / "plans" / f"PLAN_MLJ000000_{made[0]}.json").read_text())
    assert task["taskingParameters"] == plan_file
    assert plan_file["scn"] == "MLJ000000" and plan_file["approved_by"] == "alice"
    assert [s["green_s"] for s in plan_file["stages"]] == [s["green_s"] for s in stages]
    assert plan_file["cycle_time_s"] == proposal["proposed_plan"]["cycle_s"]
    with pytest.raises(Conflict, match="not waiting"):
        view.decide("test", made[0], "alice", approve=False)
    trail = store.audit(made[0])
    assert [(row["event"], row["actor"]) for row in trail] == [
        ("proposed", "loop"),
        ("approved", "alice"),
        ("published", "alice"),
    ]
    assert trail[1]["detail"] == {"note": "morning peak"}
    assert trail[2]["detail"]["mqtt_topic"] == task_topic(proposal["junction_id"], topic_prefix)
    store.close()


def test_a_rejected_plan_is_neither_written_nor_published(
    case: BaselineCase, archive_url: str, tmp_path: Path
) -> None:
    store = LiveStateStore(archive_url)
    store.ensure_schema()
    made = SignalDesk(crossroads_twin(), "test", case, store).propose(congested_state(case, 90), 0.0)
    view = LiveView(archive_url, ("bob",), Publisher(tmp_path / "plans", None))
    decided = view.decide("test", made[0], "bob", approve=False)
    assert decided["status"] == "rejected" and decided["published_unix_s"] is None
    assert not (tmp_path / "plans").exists()
    assert [row["event"] for row in store.audit(made[0])] == ["proposed", "rejected"]
    # the next round may propose for the junction again: nothing of it is waiting
    assert (
        len(SignalDesk(crossroads_twin(), "test", case, store).propose(congested_state(case, 90), 300.0)) == 1
    )
    store.close()

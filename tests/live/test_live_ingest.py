"""The live ingest through the real Mosquitto broker into the real PostgreSQL archive."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from live.conftest import BROKER
from metaliverpool.ingest.sensorthings import StaDatastream, StaObservation, observation_topic
from metaliverpool.ingest.sensorthings_mqtt import ObservationPublisher, ObservationSubscriber
from metaliverpool.service.live_ingest import FeedWatch, LiveIngest
from metaliverpool.store.live_archive import LiveArchive

pytestmark = pytest.mark.postgres

STREAMS = {
    101: StaDatastream(101, 1, "Anzahl Kfz 15-Min", "Anzahl_Kfz_Zaehlstelle_15-Min", "", 900.0),
    102: StaDatastream(102, 2, "Anzahl Kfz 5-Min", "Anzahl_Kfz_Zaehlstelle_5-Min", "", 300.0),
    103: StaDatastream(103, 3, "Primärsignal", "primary_signal", "", None),
}


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


class Running:
    """An ingest running in a thread: subscriber, archive, publisher."""

    def __init__(self, archive_url: str, prefix: str, grace_s: float) -> None:
        self.archive = LiveArchive(archive_url)
        self.archive.ensure_schema()
        self.ingest = LiveIngest(self.archive, STREAMS, grace_s=grace_s, late_after_s=300.0)
        self.subscriber = ObservationSubscriber(
            *BROKER, STREAMS, self.ingest.accept, self.ingest.problem, topic_prefix=prefix
        )
        self.subscriber.start()
        self.publisher = ObservationPublisher(*BROKER, topic_prefix=prefix)
        self.publisher.start()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.ingest.run, args=(self.stop,), kwargs={"flush_s": 0.1})
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.subscriber.stop()
        self.publisher.stop()
        self.archive.close()


@pytest.fixture
def running(archive_url: str, topic_prefix: str) -> Iterator[Running]:
    run = Running(archive_url, topic_prefix, grace_s=1.0)
    yield run
    run.close()


def obs(datastream: int, k: int, base_s: float, step_s: float = 900.0) -> StaObservation:
    return StaObservation(datastream, base_s + k * step_s, base_s + (k + 1) * step_s, 100.0 + k)


def test_duplicates_out_of_order_late_and_bad_messages(running: Running, topic_prefix: str) -> None:
    base = time.time() - 4 * 60.0  # one-minute intervals ending up to now: on time
    sent = [obs(101, k, base, 60.0) for k in (0, 1, 3, 2, 1)] + [obs(101, 0, base - 7200.0, 60.0)]
    running.publisher.publish(sent)
    bad = {
        observation_topic(101, topic_prefix): b"{not json",
        observation_topic(102, topic_prefix): b'{"phenomenonTime": "yesterday", "result": 1}',
    }
    for topic, payload in bad.items():
        running.publisher.publish_raw(topic, payload)
    running.publisher.publish_raw(
        observation_topic(102, topic_prefix), b'{"phenomenonTime": "2026-12-07T08:00:00Z", "result": "12"}'
    )
    now = time.time()
    running.publisher.publish(
        [StaObservation(103, now, now, 3.0), StaObservation(103, now + 1, now + 1, 7.0)]
    )
    counts = running.ingest.counts
    wait_for(lambda: counts.received == 8 and counts.bad == 4 and not running.ingest.buffer)
    wait_for(lambda: counts.archived + counts.duplicates == 7)
    assert (counts.archived, counts.duplicates, counts.out_of_order, counts.late) == (6, 1, 3, 1)
    problems = list(counts.problems)
    assert "Datastreams(101)/Observations: not JSON" in problems[0]
    assert "field 'phenomenonTime'" in problems[1]
    assert "field 'result': expected a finite number, got '12'" in problems[2]
    assert "Datastream 103: signal state 7 is not a known code" in problems[3]
    assert running.archive.count() == 6  # five counts and the green signal
    # The ingest is still alive after the bad messages.
    running.publisher.publish([obs(101, 4, base, 60.0)])
    wait_for(lambda: counts.archived == 7)


def test_a_stopped_feed_is_flagged_and_its_return_noted(running: Running) -> None:
    base = time.time() - 3600.0
    arrivals = []
    for k in range(4):
        running.publisher.publish([obs(102, k, base, 300.0)])
        arrivals.append(time.time())
        time.sleep(0.3)
    watch = running.ingest.watch
    wait_for(lambda: 102 in watch.stopped, timeout_s=5.0)
    flagged = time.time()
    # Expected spacing 0.3 s, grace 1 s, checks every 0.1 s: flagged about 1.3-1.5 s after the last arrival.
    assert 1.0 < flagged - arrivals[-1] < 2.5
    wait_for(lambda: watch.feed_stopped)  # 102 is the only Datastream that ever reported
    running.publisher.publish([obs(102, 4, base, 300.0)])
    wait_for(lambda: not watch.feed_stopped and 102 not in watch.stopped)
    events = [(d, kind) for d, kind, _ in running.archive.feed_events()]
    assert events == [(102, "stopped"), (None, "stopped"), (102, "resumed"), (None, "resumed")]


def test_the_subscriber_reconnects_and_subscribes_again(running: Running) -> None:
    base = time.time() - 600.0
    running.publisher.publish([obs(101, 0, base, 60.0)])
    wait_for(lambda: running.ingest.counts.archived == 1)
    sock = running.subscriber.client.socket()
    assert sock is not None
    sock.close()  # the connection drops
    wait_for(
        lambda: running.subscriber.client.is_connected() and running.subscriber.acknowledged.acquire(False)
    )
    running.publisher.publish([obs(101, 1, base, 60.0)])
    wait_for(lambda: running.ingest.counts.archived == 2)


def test_the_default_watch_flags_a_five_minute_feed_within_a_minute_of_its_missed_report() -> None:
    watch = FeedWatch({102: 300.0})
    watch.arrived(102, 1_000.0)
    assert watch.check(1_000.0 + 300.0 + 59.0) == ([], None)
    assert watch.check(1_000.0 + 300.0 + 61.0) == ([102], True)
    assert watch.check(1_000.0 + 400.0) == ([], None)  # flagged once
    assert watch.arrived(102, 1_500.0) is True
    assert watch.check(1_500.0) == ([], False)
    # Once arrivals come faster than nominal (an accelerated replay), their own spacing is expected.
    for k in range(1, 4):
        watch.arrived(102, 1_500.0 + 5.0 * k)
    assert watch.expected_spacing_s(102) == 5.0
    assert watch.check(1_515.0 + 5.0 + 61.0) == ([102], True)

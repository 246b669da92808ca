"""The long-running live ingest: Observations in (MQTT or HTTP polling), checked, archived, feeds watched.

:class:`LiveIngest` takes Observations from any thread (:meth:`LiveIngest.accept`, as the MQTT
subscriber's callback), buffers them, and on each :meth:`LiveIngest.flush` (every ``flush_s``) marks
each one:

- **unknown**: its Datastream was not discovered (counted as bad, not archived);
- **not a signal state**: a signal Datastream's result outside ``SIGNAL_STATE_CODES`` (bad, not archived);
- **out of order**: its phenomenon start is before the newest one already received for its Datastream
  (archived all the same: the archive has no order);
- **late**: it arrived more than ``late_after_s`` after its phenomenon ended (archived, ``late`` set);

and archives the batch (duplicates of (Datastream, phenomenon start) dropped and counted by the archive).

:class:`FeedWatch` flags a Datastream **stopped** when nothing arrived for its expected spacing plus
``grace_s`` (default 60 s, so a feed that stops is flagged within a minute of its next report being
due) and **resumed** when it reports again; the whole feed is stopped when all its Datastreams are. The
expected spacing is the median of the last arrival spacings seen (so an accelerated replay is watched at
its own pace), else the Datastream's nominal interval.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from metaliverpool.ingest.sensorthings import (
    SIGNAL_STATE_CODES,
    SensorThingsClient,
    StaDatastream,
    StaObservation,
)
from metaliverpool.store.live_archive import ArchiveRow, LiveArchive

SPACINGS_KEPT = 5
"""Arrival spacings per Datastream whose median is its expected spacing."""

BURST_S = 0.05
"""Arrivals of one Datastream closer than this are one burst (an HTTP backfill or poll page), not the
feed's pace: their spacing is not kept."""


@dataclass
class IngestCounts:
    """What the ingest has seen so far."""

    received: int = 0
    archived: int = 0
    duplicates: int = 0
    late: int = 0
    out_of_order: int = 0
    bad: int = 0
    problems: deque[str] = field(default_factory=lambda: deque(maxlen=20))

    def summary(self) -> dict[str, object]:
        """The counts and the last problems (JSON-ready)."""
        return {
            "received": self.received,
            "archived": self.archived,
            "duplicates": self.duplicates,
            "late": self.late,
            "out_of_order": self.out_of_order,
            "bad": self.bad,
            "last_problems": list(self.problems),
        }


class FeedWatch:
    """Per-Datastream arrival times; which Datastreams (and whether the whole feed) have stopped."""

    def __init__(self, nominal_interval_s: dict[int, float | None], grace_s: float = 60.0) -> None:
        self.nominal = nominal_interval_s
        self.grace_s = grace_s
        self.last: dict[int, float] = {}
        self.spacings: dict[int, deque[float]] = {}
        self.stopped: set[int] = set()
        self.feed_stopped = False

    def expected_spacing_s(self, datastream_id: int) -> float | None:
        """Seconds expected between two arrivals of a Datastream (``None``: not known yet)."""
        spacings = self.spacings.get(datastream_id)
        if spacings and len(spacings) >= 2:
            return statistics.median(spacings)
        return self.nominal.get(datastream_id)

    def arrived(self, datastream_id: int, received_unix_s: float) -> bool:
        """Note an arrival; True when the Datastream had been flagged stopped (it has resumed)."""
        previous = self.last.get(datastream_id)
        if previous is not None and received_unix_s - previous >= BURST_S:
            self.spacings.setdefault(datastream_id, deque(maxlen=SPACINGS_KEPT)).append(
                received_unix_s - previous
            )
        self.last[datastream_id] = max(received_unix_s, previous or received_unix_s)
        if datastream_id in self.stopped:
            self.stopped.discard(datastream_id)
            return True
        return False

    def check(self, now_unix_s: float) -> tuple[list[int], bool | None]:
        """Datastreams newly stopped at ``now``, and the whole feed's change (True: it stopped, False:
        it resumed, None: no change)."""
        newly = []
        for datastream_id, last in self.last.items():
            if datastream_id in self.stopped:
                continue
            spacing = self.expected_spacing_s(datastream_id)
            if spacing is not None and now_unix_s - last > spacing + self.grace_s:
                self.stopped.add(datastream_id)
                newly.append(datastream_id)
        all_stopped = bool(self.last) and len(self.stopped) == len(self.last)
        change = None if all_stopped == self.feed_stopped else all_stopped
        self.feed_stopped = all_stopped
        return newly, change


class LiveIngest:
    """Buffers Observations from any thread and archives them in batches (one archive connection)."""

    def __init__(
        self,
        archive: LiveArchive,
        datastreams: dict[int, StaDatastream],
        *,
        grace_s: float = 60.0,
        late_after_s: float = 300.0,
        clock: Callable[[], float] = time.time,
        on_commit: Callable[[float, list[ArchiveRow]], None] | None = None,
        record_feed: bool = True,
    ) -> None:
        self.archive = archive
        self.record_feed = record_feed
        """Record the whole feed's stopped/resumed events (off in a worker: ``service.live_workers``)."""
        self.datastreams = datastreams
        self.late_after_s = late_after_s
        self.clock = clock
        self.watch = FeedWatch({i: d.interval_s for i, d in datastreams.items()}, grace_s)
        self.counts = IngestCounts()
        self.newest_start: dict[int, float] = {}
        self.lock = threading.Lock()
        self.buffer: list[tuple[StaObservation, float]] = []
        self.on_commit = on_commit
        """Called with (commit time, the batch's rows) after each batch is archived (``bench/live.py``)."""

    def accept(self, observation: StaObservation, received_unix_s: float) -> None:
        """Queue one Observation (thread-safe; the MQTT subscriber's callback)."""
        with self.lock:
            self.buffer.append((observation, received_unix_s))

    def problem(self, text: str) -> None:
        """Count one malformed page, entity or message (thread-safe)."""
        with self.lock:
            self.counts.bad += 1
            self.counts.problems.append(text)

    def flush(self) -> int:
        """Mark and archive everything queued; returns the number of rows sent to the archive."""
        with self.lock:
            batch, self.buffer = self.buffer, []
        rows = []
        for observation, received_s in batch:
            datastream_id = observation.datastream_id
            self.counts.received += 1
            stream = self.datastreams.get(datastream_id)
            if stream is None:
                self.problem(f"Datastream {datastream_id}: not discovered (no Thing lists it); skipped")
                continue
            if stream.is_signal and observation.result not in SIGNAL_STATE_CODES:
                self.problem(
                    f"Datastream {datastream_id}: signal state {observation.result:g} is not a known code "
                    f"{sorted(SIGNAL_STATE_CODES)}; skipped"
                )
                continue
            newest = self.newest_start.get(datastream_id)
            if newest is not None and observation.start_unix_s < newest:
                self.counts.out_of_order += 1
            else:
                self.newest_start[datastream_id] = observation.start_unix_s
            late = received_s - observation.end_unix_s > self.late_after_s
            self.counts.late += late
            if self.watch.arrived(datastream_id, received_s):
                self.archive.record_feed_event(datastream_id, "resumed", received_s)
            rows.append(
                ArchiveRow(
                    datastream_id,
                    observation.start_unix_s,
                    observation.end_unix_s,
                    observation.result,
                    received_s,
                    late,
                )
            )
        if rows:
            result = self.archive.insert(rows)
            self.counts.archived += result.inserted
            self.counts.duplicates += result.duplicates
            if self.on_commit is not None:
                self.on_commit(self.clock(), rows)
        return len(rows)

    def check_feeds(self) -> list[int]:
        """Flag Datastreams (and the feed) that stopped; returns the Datastreams newly flagged."""
        now = self.clock()
        newly, change = self.watch.check(now)
        for datastream_id in newly:
            self.archive.record_feed_event(datastream_id, "stopped", now)
        if change is not None and self.record_feed:
            self.archive.record_feed_event(None, "stopped" if change else "resumed", now)
        return newly

    def run(self, stop: threading.Event, *, flush_s: float = 0.5, duration_s: float | None = None) -> None:
        """Flush and watch every ``flush_s`` until ``stop`` is set or ``duration_s`` has passed."""
        deadline = None if duration_s is None else time.monotonic() + duration_s
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(flush_s)
            self.flush()
            self.check_feeds()
        self.flush()


def poll_http(client: SensorThingsClient, ingest: LiveIngest, since_unix_s: float) -> int:
    """Fetch over HTTP every ingested Datastream's Observations newer than the newest already received (or
    from ``since_unix_s``) and queue them; malformed pages and entities are counted as bad. Returns the
    number queued."""
    queued = 0
    problems_before = len(client.problems)
    for datastream_id in ingest.datastreams:
        after = ingest.newest_start.get(datastream_id)
        start = since_unix_s if after is None else after + 0.001
        for observation in client.observations(datastream_id, since_unix_s=start):
            ingest.accept(observation, time.time())
            queued += 1
    for text in client.problems[problems_before:]:
        ingest.problem(text)
    return queued

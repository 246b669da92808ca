"""One feed ingested by several processes: the Datastreams split among them, one MQTT subscription and one
archive connection each.

A single ingest process parses every message in paho's network thread; past its pace the broker drops
QoS 0 messages (``docs/live.md``, "Benchmark"). :func:`run_ingest_workers` starts ``workers`` processes,
each a :class:`~metaliverpool.service.live_ingest.LiveIngest` over its share of the Datastreams (round
robin by id): each flags its own Datastreams stopped or resumed in the archive, and tells this process
whether all of its reporting Datastreams have stopped, so that the whole feed is flagged here (stopped
when every worker that has seen data says so). Each worker stops on SIGINT or SIGTERM, or after
``duration_s``, and sends back its counts, which are summed.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from metaliverpool.errors import InputError
from metaliverpool.ingest.sensorthings import StaDatastream
from metaliverpool.ingest.sensorthings_mqtt import ObservationSubscriber
from metaliverpool.service.live_ingest import LiveIngest
from metaliverpool.store.live_archive import LiveArchive


@dataclass(frozen=True)
class WorkerConfig:
    """Where each worker connects and how it watches its Datastreams."""

    db_url: str
    host: str
    port: int
    topic_prefix: str = ""
    grace_s: float = 60.0
    late_after_s: float = 300.0
    flush_s: float = 0.5


def _worker(
    config: WorkerConfig,
    index: int,
    streams: dict[int, StaDatastream],
    duration_s: float | None,
    events: Any,
) -> None:
    """One worker process (see the module docstring); messages to ``events``: ("ready", index),
    ("feed", index, (stopped, has_data)), ("done", index, summary)."""
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    archive = LiveArchive(config.db_url)
    ingest = LiveIngest(
        archive, streams, grace_s=config.grace_s, late_after_s=config.late_after_s, record_feed=False
    )
    subscriber = ObservationSubscriber(
        config.host, config.port, streams, ingest.accept, ingest.problem, topic_prefix=config.topic_prefix
    )
    subscriber.start()
    events.put(("ready", index, None))
    deadline = None if duration_s is None else time.monotonic() + duration_s
    told: tuple[bool, bool] | None = None
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            stop.wait(config.flush_s)
            ingest.flush()
            ingest.check_feeds()
            state = (ingest.watch.feed_stopped, bool(ingest.watch.last))
            if state != told:
                events.put(("feed", index, state))
                told = state
        ingest.flush()
    finally:
        subscriber.stop()
        summary = {**ingest.counts.summary(), "stopped_datastreams": len(ingest.watch.stopped)}
        archive.close()
        events.put(("done", index, summary))


def merge_summaries(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of several ingests summed (``last_problems`` joined, the last 20 kept; ``feed_stopped``:
    any)."""
    merged: dict[str, Any] = {"last_problems": []}
    for summary in summaries:
        for key, value in summary.items():
            if key == "last_problems":
                merged[key] = (merged[key] + value)[-20:]
            elif isinstance(value, bool):
                merged[key] = merged.get(key, False) or value
            else:
                merged[key] = merged.get(key, 0) + value
    return merged


def run_ingest_workers(
    config: WorkerConfig,
    datastreams: dict[int, StaDatastream],
    workers: int,
    archive: LiveArchive,
    stop: threading.Event,
    *,
    duration_s: float | None = None,
    on_ready: Any = None,
) -> dict[str, Any]:
    """Run ``workers`` ingest processes until they end (``duration_s``, a signal, or ``stop`` here); the
    whole feed's stopped/resumed events go to ``archive``. ``on_ready()`` is called once every worker
    has subscribed (the CLI backfills over HTTP then). Returns the summed counts with ``feed_stopped``."""
    ids = sorted(datastreams)
    shares = [{i: datastreams[i] for i in ids[w::workers]} for w in range(workers)]
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    processes = [
        context.Process(target=_worker, args=(config, w, shares[w], duration_s, events), daemon=True)
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    feed: dict[int, tuple[bool, bool]] = {}
    feed_stopped = False
    ready: set[int] = set()
    done: dict[int, dict[str, Any]] = {}
    terminated = False
    while len(done) < workers:
        if stop.is_set() and not terminated:
            for process in processes:
                process.terminate()  # SIGTERM: each worker finishes its batch and reports
            terminated = True
        try:
            kind, index, value = events.get(timeout=0.5)
        except queue.Empty:
            if not any(p.is_alive() for p in processes) and events.empty():
                break  # a worker died without reporting
            continue
        if kind == "ready":
            ready.add(index)
            if len(ready) == workers and on_ready is not None:
                on_ready()
        elif kind == "feed":
            feed[index] = value
            reporting = [stopped for stopped, has_data in feed.values() if has_data]
            now_stopped = bool(reporting) and all(reporting)
            if now_stopped != feed_stopped:
                archive.record_feed_event(None, "stopped" if now_stopped else "resumed", time.time())
                feed_stopped = now_stopped
        else:
            done[index] = value
    for process in processes:
        process.join()
    if len(done) < workers:
        missing = sorted(set(range(workers)) - set(done))
        raise InputError(
            f"{config.host}:{config.port}",
            f"ingest worker(s) {missing} ended without reporting (their error is printed above)",
        )
    return {**merge_summaries(list(done.values())), "feed_stopped": feed_stopped}

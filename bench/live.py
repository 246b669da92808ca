"""Benchmark of the live ingest: throughput and publish-to-archive latency, real broker and database.

``python bench/live.py [--detectors 10000] [--throughput-observations 200000] [--rate 2000] [--seconds 20]
[--workers 2]``

Setup: a fresh PostgreSQL database (``--db``, the server at 127.0.0.1:5432), the Mosquitto broker
(``--mqtt``, 127.0.0.1:1883) and ``--detectors`` Datastreams (5-minute counts), each subscribed on its own
``v1.1/Datastreams(id)/Observations`` topic under a prefix of this run. The ingest is the project's own
(:class:`~metaliverpool.ingest.sensorthings_mqtt.ObservationSubscriber` feeding
:class:`~metaliverpool.service.live_ingest.LiveIngest`, flushing every 0.2 s into
:class:`~metaliverpool.store.live_archive.LiveArchive`), in this process; the publisher is another process
(paho-mqtt, QoS 0) sending SensorThings Observation entities round-robin over the detectors, each stamped
with its phenomenon end = the wall time it is published.

1. **Throughput**: ``--throughput-observations`` published as fast as the publisher can; observations
   archived per second from the first arrival to the last commit (target, issue 14: 20,000/s), and how
   many the broker or the subscriber dropped (QoS 0).
2. **Latency**: ``--rate`` observations per second for ``--seconds`` (the default, 2,000/s, is 10,000
   detectors each reporting every 5 s: a 5-minute feed replayed 60 times faster); per observation, from
   its publication (its phenomenon end) to the commit of the batch that archived it: p50, p95, max.

3. **Worker processes**: the flat-out run again into ``service.live_workers`` with 1 and ``--workers``
   processes (the Datastreams split among them): archived per second from the publisher's first message
   to the last new row in the archive, and how many were dropped.

There is no peer: no open-source SensorThings ingest into PostgreSQL to run on the same input (FROST-Server
is a SensorThings *server*, in Java, that stores what is POSTed to it, not a client that ingests a feed).
The machine is shared; the figures are this run's. Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import threading
import time
import uuid
from typing import Any

import psycopg

from metaliverpool.ingest.sensorthings import StaDatastream, StaObservation, observation_topic
from metaliverpool.ingest.sensorthings_mqtt import (
    ObservationPublisher,
    ObservationSubscriber,
    observation_payload,
    parse_broker,
)
from metaliverpool.service.live_ingest import LiveIngest
from metaliverpool.service.live_workers import WorkerConfig, run_ingest_workers
from metaliverpool.store.live_archive import ArchiveRow, LiveArchive


def publish(broker: str, prefix: str, detectors: int, total: int, rate: float | None, timing: Any) -> None:
    """Publish ``total`` Observations round-robin over ``detectors``: ``rate`` per second, each stamped when
    published; or (``rate`` None) flat out, serialised beforehand so that the publisher is not the
    bottleneck. ``timing`` gets [wall time the sending started, seconds it took]."""
    host, port = parse_broker(broker)
    publisher = ObservationPublisher(host, port, topic_prefix=prefix)
    publisher.start()
    if rate is None:
        # Round r (every detector once) covers the r-th of the last ``rounds`` 5-minute intervals.
        rounds = -(-total // detectors)
        first_start = time.time() - 300.0 * rounds
        messages = []
        for k in range(total):
            start = first_start + 300.0 * (k // detectors)
            observation = StaObservation(k % detectors, start, start + 300.0, 1.0)
            messages.append((observation_topic(k % detectors, prefix), observation_payload(observation, k)))
        started = time.time()
        for topic, payload in messages:
            publisher.publish_raw(topic, payload)
    else:
        started = time.time()
        batch = 100
        for first in range(0, total, batch):
            time.sleep(max(0.0, started + first / rate - time.time()))
            now = time.time()
            publisher.publish(
                [
                    StaObservation(k % detectors, now - 300.0, now, float(k % 50))
                    for k in range(first, min(total, first + batch))
                ]
            )
    publisher.stop()
    timing[0], timing[1] = started, time.time() - started


def run_phase(
    archive: LiveArchive, broker: str, detectors: int, total: int, rate: float | None, settle_s: float
) -> dict[str, Any]:
    """One publisher run into a fresh subscription; the figures of that run."""
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    streams = {i: StaDatastream(i, i, f"det {i}", "Anzahl_Kfz_5-Min", "", 300.0) for i in range(detectors)}
    latencies: list[float] = []
    commits: list[float] = []

    def on_commit(at: float, rows: list[ArchiveRow]) -> None:
        commits.append(at)
        latencies.extend(at - r.end_unix_s for r in rows)

    ingest = LiveIngest(archive, streams, grace_s=600.0, on_commit=on_commit)
    first_arrival: list[float] = []

    def accept(observation: StaObservation, received: float) -> None:
        if not first_arrival:
            first_arrival.append(received)
        ingest.accept(observation, received)

    host, port = parse_broker(broker)
    subscriber = ObservationSubscriber(host, port, streams, accept, ingest.problem, topic_prefix=prefix)
    subscribe_start = time.time()
    subscriber.start(timeout_s=60.0)
    subscribe_s = time.time() - subscribe_start
    stop = threading.Event()
    runner = threading.Thread(target=ingest.run, args=(stop,), kwargs={"flush_s": 0.2})
    runner.start()
    context = multiprocessing.get_context("spawn")
    timing = context.Array("d", [float("nan"), float("nan")])
    process = context.Process(target=publish, args=(broker, prefix, detectors, total, rate, timing))
    process.start()
    process.join()
    deadline = time.time() + settle_s
    while ingest.counts.received + ingest.counts.bad < total and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    runner.join()
    subscriber.stop()
    archived = ingest.counts.archived
    elapsed = (commits[-1] - first_arrival[0]) if commits and first_arrival else float("nan")
    ordered = sorted(latencies) if rate is not None else []  # flat out, the stamps are back-dated
    return {
        "published": total,
        "received": ingest.counts.received,
        "archived": archived,
        "dropped": total - ingest.counts.received,
        "bad": ingest.counts.bad,
        "subscribe_s": round(subscribe_s, 2),
        "publish_s": round(timing[1], 2),
        "elapsed_s": round(elapsed, 2),
        "archived_per_s": round(archived / elapsed, 0) if elapsed > 0 else None,
        "latency_p50_s": round(statistics.median(ordered), 3) if ordered else None,
        "latency_p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3) if ordered else None,
        "latency_max_s": round(ordered[-1], 3) if ordered else None,
    }


def run_workers_phase(url: str, broker: str, detectors: int, total: int, workers: int) -> dict[str, Any]:
    """``total`` observations flat out into ``workers`` ingest processes (``service.live_workers``):
    archived per second from the publisher's start to the last new row in the archive."""
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    streams = {i: StaDatastream(i, i, f"det {i}", "Anzahl_Kfz_5-Min", "", 300.0) for i in range(detectors)}
    host, port = parse_broker(broker)
    events_archive, counter = LiveArchive(url), LiveArchive(url)
    before = counter.count()
    stop, ready = threading.Event(), threading.Event()
    result: dict[str, Any] = {}
    config = WorkerConfig(url, host, port, prefix, grace_s=600.0, flush_s=0.2)
    runner = threading.Thread(
        target=lambda: result.update(
            run_ingest_workers(config, streams, workers, events_archive, stop, on_ready=ready.set)
        )
    )
    runner.start()
    ready.wait(120.0)
    context = multiprocessing.get_context("spawn")
    timing = context.Array("d", [float("nan"), float("nan")])
    process = context.Process(target=publish, args=(broker, prefix, detectors, total, None, timing))
    process.start()
    last_count, last_change = before, time.time()
    while process.is_alive() or time.time() - last_change < 3.0:
        time.sleep(0.1)
        count = counter.count()
        if count != last_count:
            last_count, last_change = count, time.time()
    process.join()
    stop.set()
    runner.join()
    events_archive.close()
    counter.close()
    archived = last_count - before
    elapsed = last_change - timing[0]  # from when the publisher started sending
    return {
        "workers": workers,
        "published": total,
        "received": result.get("received"),
        "archived": archived,
        "dropped": total - int(result.get("received") or 0),
        "publish_s": round(timing[1], 2),
        "elapsed_s": round(elapsed, 2),
        "archived_per_s": round(archived / elapsed, 0) if elapsed > 0 else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", type=int, default=10_000)
    parser.add_argument("--throughput-observations", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=2_000.0, help="observations per second, latency phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the latency phase")
    parser.add_argument("--workers", type=int, default=2, help="ingest processes of the workers phase")
    parser.add_argument("--mqtt", default="127.0.0.1:1883")
    parser.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin URL")
    args = parser.parse_args()
    name = f"ml_bench_live_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.db, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = args.db.rsplit("/", 1)[0] + f"/{name}"
    try:
        archive = LiveArchive(url)
        archive.ensure_schema()
        throughput = run_phase(archive, args.mqtt, args.detectors, args.throughput_observations, None, 120.0)
        latency = run_phase(
            archive, args.mqtt, args.detectors, int(args.rate * args.seconds), args.rate, args.seconds + 60.0
        )
        archive.close()
        split = [
            run_workers_phase(url, args.mqtt, args.detectors, args.throughput_observations, n)
            for n in sorted({1, args.workers})
        ]
    finally:
        with psycopg.connect(args.db, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    columns = ("published", "received", "archived", "dropped", "publish_s", "elapsed_s", "archived_per_s")
    print(f"{'phase':<12}" + "".join(f"{c:>15}" for c in columns))
    phases = [("throughput", throughput), ("latency", latency)]
    phases += [(f"{r['workers']} process(es)", r) for r in split]
    for label, r in phases:
        print(f"{label:<12}" + "".join(f"{r[c]!s:>15}" for c in columns))
    print(
        f"latency, publish to archive commit, at {args.rate:.0f}/s: p50 {latency['latency_p50_s']} s, "
        f"p95 {latency['latency_p95_s']} s, max {latency['latency_max_s']} s"
    )
    print("peer: none (see the module docstring); target 20,000 observations/s (issue 14)")
    print(
        json.dumps(
            {
                "detectors": args.detectors,
                "throughput": throughput,
                "latency": {**latency, "rate_per_s": args.rate},
                "workers": split,
                "target_per_s": 20_000,
                "peer": None,
            }
        )
    )


if __name__ == "__main__":
    main()

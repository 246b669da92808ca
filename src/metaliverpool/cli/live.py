"""``metaliverpool live ingest``, ``live replay`` and ``live export``: the live feed (``docs/live.md``).

``ingest`` discovers a SensorThings service's Things and Datastreams over HTTP (``--url``), matches them to
the twin (``--twin``) with a review table (``--review``, read back when it exists), then archives their
Observations in PostgreSQL (``--db``) as they arrive over MQTT (``--mqtt HOST:PORT``) or, without MQTT,
by polling the HTTP API every ``--poll-s``. It runs until Ctrl-C or ``--duration-s`` and prints one JSON
line last (counts, stopped feeds, gaps). ``replay`` is the virtual city: it serves a recorded series
(``--series``, sensor ids = twin link ids, as ``forecast history`` writes) or a simulated day of the twin
(``--simulate N``: N busiest links) as SensorThings over HTTP and publishes it to MQTT at ``--speed`` x
real time. ``state`` refreshes the network state and its 60-minute forecast from the archive every
``--every-s`` of the feed's clock and, with ``--signals``, proposes signal retimings. ``export`` writes
the archive (or a time range of it) to Parquet.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from metaliverpool.errors import InputError
from metaliverpool.ingest.sensorthings import SensorThingsClient, parse_time_unix_s
from metaliverpool.ingest.sensorthings_mqtt import ObservationPublisher, ObservationSubscriber, parse_broker
from metaliverpool.store.bundle import read_twin
from metaliverpool.store.live_archive import LiveArchive


def register(app: typer.Typer) -> None:
    """Add the ``live`` command group to ``app``."""
    group = typer.Typer(help="The live twin: SensorThings ingest into the archive, the virtual city, export.")
    group.command(name="ingest", help="Discover a SensorThings feed, match it, archive it (JSON line last).")(
        ingest_command
    )
    group.command(name="replay", help="Serve a series as SensorThings (HTTP) and publish it to MQTT.")(
        replay_command
    )
    group.command(name="export", help="Write archived Observations to Parquet (JSON line last).")(
        export_command
    )
    group.command(
        name="state", help="Refresh the network state and forecast from the archive; propose signal plans."
    )(state_command)
    app.add_typer(group, name="live")


def _time(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return parse_time_unix_s(text)
    except ValueError:
        raise InputError(
            option, f"expected an ISO 8601 UTC time such as 2026-12-07T08:00:00Z, got {text!r}"
        ) from None


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM while the block runs (the previous handlers restored after)."""
    stop = threading.Event()
    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = [signal.signal(n, lambda *_: stop.set()) for n in numbers]
    try:
        yield stop
    finally:
        for number, handler in zip(numbers, previous, strict=True):
            signal.signal(number, handler)


def ingest_command(
    url: str = typer.Option(..., "--url", help="SensorThings service root, ending in /v1.1."),
    mqtt: str | None = typer.Option(None, "--mqtt", help="HOST:PORT of the MQTT broker (else poll HTTP)."),
    twin: Path = typer.Option(..., "--twin", help="Twin bundle folder to match the Things to."),
    db: str = typer.Option(..., "--db", help="PostgreSQL URL of the archive."),
    review: Path = typer.Option(
        Path("live-review.csv"), "--review", help="Review table (CSV), read back if present."
    ),
    topic_prefix: str = typer.Option("", "--topic-prefix", help="Prefix before v1.1/ in the MQTT topics."),
    since: str | None = typer.Option(
        None, "--since", help="First phenomenonTime to fetch over HTTP (UTC); with --mqtt, a backfill."
    ),
    poll_s: float = typer.Option(30.0, "--poll-s", help="HTTP polling: seconds between polls."),
    grace_s: float = typer.Option(
        60.0, "--grace-s", help="A Datastream is stopped this long after its next report was due."
    ),
    duration_s: float | None = typer.Option(None, "--duration-s", help="Stop after this many seconds."),
    workers: int = typer.Option(
        1, "--workers", help="Ingest processes sharing the Datastreams (--mqtt only)."
    ),
) -> None:
    """Run the live ingest (see the module docstring)."""
    from metaliverpool.service.live_discovery import discover_feed, record_feed
    from metaliverpool.service.live_ingest import LiveIngest, poll_http
    from metaliverpool.service.live_workers import WorkerConfig, merge_summaries, run_ingest_workers

    if workers < 1 or (workers > 1 and mqtt is None):
        raise InputError("--workers", f"expected 1, or more with --mqtt; got {workers}")
    bundle = read_twin(twin)
    since_s = _time("--since", since)
    with _stop_on_signals() as stop, SensorThingsClient(url) as client:
        feed = discover_feed(client, bundle, review)
        if not feed.datastreams:
            raise InputError(
                url, f"no Datastream found ({'; '.join(client.problems[:3]) or 'empty Things list'})"
            )
        archive = LiveArchive(db)
        try:
            archive.ensure_schema()
            record_feed(archive, feed)
            # With workers, this process's ingest only backfills over HTTP; the workers watch the feed.
            ingest = LiveIngest(archive, feed.datastreams, grace_s=grace_s, record_feed=workers == 1)
            for text in client.problems:
                ingest.problem(text)
            if mqtt is not None and workers > 1:
                host, port = parse_broker(mqtt)

                def backfill() -> None:
                    if since_s is not None:
                        poll_http(client, ingest, since_s)
                        ingest.flush()

                merged = run_ingest_workers(
                    WorkerConfig(db, host, port, topic_prefix, grace_s),
                    feed.datastreams,
                    workers,
                    archive,
                    stop,
                    duration_s=duration_s,
                    on_ready=backfill,
                )
                counts = merge_summaries([merged, ingest.counts.summary()])
            elif mqtt is not None:
                host, port = parse_broker(mqtt)
                subscriber = ObservationSubscriber(
                    host, port, feed.datastreams, ingest.accept, ingest.problem, topic_prefix=topic_prefix
                )
                subscriber.start()
                if since_s is not None:  # backfill over HTTP what was published before the subscription
                    poll_http(client, ingest, since_s)
                try:
                    ingest.run(stop, duration_s=duration_s)
                finally:
                    subscriber.stop()
            else:
                deadline = None if duration_s is None else time.monotonic() + duration_s
                first = since_s if since_s is not None else time.time() - 3600.0
                while not stop.is_set():
                    poll_http(client, ingest, first)
                    ingest.flush()
                    ingest.check_feeds()
                    if deadline is not None and time.monotonic() >= deadline:
                        break
                    stop.wait(
                        poll_s if deadline is None else min(poll_s, max(0.0, deadline - time.monotonic()))
                    )
            if workers == 1:
                counts = {
                    **ingest.counts.summary(),
                    "stopped_datastreams": len(ingest.watch.stopped),
                    "feed_stopped": ingest.watch.feed_stopped,
                }
            summary: dict[str, Any] = {
                "datastreams": len(feed.datastreams),
                "review": str(review),
                "review_status": feed.status_counts(),
                **counts,
                "gaps": len(archive.gaps()),
                "partitions": archive.partitions(),
            }
        finally:
            archive.close()
    print(json.dumps(summary))


def replay_command(
    twin: Path = typer.Option(..., "--twin", help="Twin bundle folder whose links the sensors are."),
    mqtt: str = typer.Option("127.0.0.1:1883", "--mqtt", help="HOST:PORT of the MQTT broker."),
    series: Path | None = typer.Option(
        None, "--series", help="CSV or .npz series, sensor ids = twin link ids."
    ),
    interval_min: float = typer.Option(5.0, "--interval-min", help="Minutes between rows of --series."),
    simulate: int | None = typer.Option(
        None, "--simulate", help="Replay a simulated day on this many busiest links."
    ),
    quantity: str = typer.Option("speed", "--quantity", help="speed (m/s) or count (vehicles per interval)."),
    speed: float = typer.Option(1.0, "--speed", help="Replay speed: 60 plays an hour a minute."),
    steps: int | None = typer.Option(None, "--steps", help="Replay at most this many rows."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address of the SensorThings HTTP server."),
    http_port: int = typer.Option(8081, "--http-port", help="Port of the SensorThings HTTP server (0: any)."),
    topic_prefix: str = typer.Option("", "--topic-prefix", help="Prefix before v1.1/ in the MQTT topics."),
    linger_s: float = typer.Option(0.0, "--linger-s", help="Keep serving HTTP this long after the last row."),
) -> None:
    """Run the virtual city (see the module docstring)."""
    from metaliverpool.predict.series import load_series
    from metaliverpool.service.virtual_city import VirtualCity, serve_city, simulate_city_series

    if (series is None) == (simulate is None):
        raise InputError("live replay", "give exactly one of --series FILE and --simulate N")
    broker_host, broker_port = parse_broker(mqtt)
    bundle = read_twin(twin)
    if series is not None:
        data = load_series(series, interval_min)
    else:
        data = simulate_city_series(bundle, int(simulate or 0))
        quantity = "count"
    city = VirtualCity(data, bundle, quantity)
    publisher = ObservationPublisher(broker_host, broker_port, topic_prefix=topic_prefix)
    publisher.start()
    server = serve_city(city, host, http_port)
    address = f"http://{host}:{server.server_address[1]}/v1.1"
    print(json.dumps({"sensorthings_url": address, "datastreams": len(city.detectors)}), flush=True)
    try:
        with _stop_on_signals() as stop:
            published = city.replay(publisher, speed=speed, steps=steps, stop=stop)
            stop.wait(linger_s)
    finally:
        publisher.stop()
        server.shutdown()
    print(json.dumps({"sensorthings_url": address, "published": published}))


def export_command(
    db: str = typer.Option(..., "--db", help="PostgreSQL URL of the archive."),
    out: Path = typer.Option(..., "--out", help="Parquet file to write."),
    since: str | None = typer.Option(None, "--since", help="First phenomenon start (UTC) to export."),
    until: str | None = typer.Option(None, "--until", help="Export phenomenon starts before this (UTC)."),
) -> None:
    """Export the archive to Parquet (see the module docstring)."""
    archive = LiveArchive(db)
    try:
        archive.ensure_schema()
        rows = archive.export_parquet(out, _time("--since", since), _time("--until", until))
    finally:
        archive.close()
    print(json.dumps({"out": str(out), "rows": rows}))


def state_command(
    twin: Path = typer.Option(..., "--twin", help="Twin bundle folder the feed was matched to."),
    db: str = typer.Option(..., "--db", help="PostgreSQL URL of the archive."),
    every_s: float = typer.Option(300.0, "--every-s", help="Seconds of the feed's clock between refreshes."),
    poll_s: float = typer.Option(1.0, "--poll-s", help="Wall seconds between looks at the archive."),
    signals: bool = typer.Option(False, "--signals", help="Propose signal retimings after each refresh."),
    level_threshold: float = typer.Option(
        0.3,
        "--level-threshold",
        help="Forecast congestion level (0..1) on an approach that starts a proposal.",
    ),
    queue_cap: float = typer.Option(
        0.8, "--queue-cap", help="Queue cap on every approach, as a fraction of its storage (0..1]."
    ),
    duration_s: float | None = typer.Option(None, "--duration-s", help="Stop after this many seconds."),
) -> None:
    """Run the live state loop (see the module docstring); one JSON line last."""
    from metaliverpool.control.retiming import RetimingConfig
    from metaliverpool.service.live_baseline import baseline_case, state_estimator
    from metaliverpool.service.live_state import LiveStateLoop
    from metaliverpool.service.signal_desk import DeskConfig, SignalDesk
    from metaliverpool.service.twins import twin_id_for
    from metaliverpool.store.live_state_store import LiveStateStore

    if every_s <= 0 or poll_s <= 0:
        raise InputError("--every-s/--poll-s", f"expected positive seconds, got {every_s} and {poll_s}")
    if not 0 < queue_cap <= 1 or not 0 <= level_threshold <= 1:
        raise InputError("--queue-cap/--level-threshold", "expected 0 < queue cap <= 1 and 0 <= level <= 1")
    bundle = read_twin(twin)
    twin_id = twin_id_for(twin, bundle.manifest)
    case = baseline_case(bundle)
    archive = LiveArchive(db)
    store = LiveStateStore(db)
    proposals: list[int] = []
    try:
        archive.ensure_schema()
        store.ensure_schema()
        desk = (
            SignalDesk(
                bundle,
                twin_id,
                case,
                store,
                DeskConfig(
                    level_threshold=level_threshold, retiming=RetimingConfig(queue_cap_fraction=queue_cap)
                ),
            )
            if signals
            else None
        )

        def on_state(payload: dict[str, Any], now_unix_s: float) -> None:
            if desk is not None:
                proposals.extend(desk.propose(payload, now_unix_s))

        loop = LiveStateLoop(
            archive, store, state_estimator(case), twin_id, interval_s=every_s, on_state=on_state
        )
        print(json.dumps({"twin_id": twin_id, "links": int(case.network.link_count)}), flush=True)
        with _stop_on_signals() as stop:
            loop.run(stop, poll_s=poll_s, duration_s=duration_s)
    finally:
        archive.close()
        store.close()
    print(json.dumps({"twin_id": twin_id, "refreshes": loop.refreshes, "proposals": proposals}))

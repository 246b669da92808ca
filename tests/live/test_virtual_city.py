"""The virtual city end to end: its own HTTP server and the real Mosquitto feed the ingest and the archive."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from cli_capture import run_cli
from live.conftest import BROKER
from live.test_live_ingest import wait_for
from metaliverpool.ingest.sensorthings import SensorThingsClient
from metaliverpool.ingest.sensorthings_mqtt import ObservationPublisher, ObservationSubscriber
from metaliverpool.network.twin import Twin
from metaliverpool.predict.series import SensorSeries, save_series_npz
from metaliverpool.service.live_discovery import discover_feed, record_feed
from metaliverpool.service.live_ingest import LiveIngest
from metaliverpool.service.virtual_city import VirtualCity, serve_city
from metaliverpool.store.bundle import write_twin
from metaliverpool.store.live_archive import LiveArchive

pytestmark = pytest.mark.postgres

STEPS = 6


def city_series(twin: Twin) -> SensorSeries:
    """Speeds (m/s) on every link of the twin for six 5-minute steps; link 3's step 2 is missing."""
    links = twin.links["link_id"].to_numpy()
    values = 10.0 + np.arange(STEPS)[:, None] + 0.01 * links[None, :]
    values[2, list(links).index(3)] = np.nan
    return SensorSeries(values=values, sensor_ids=tuple(str(int(k)) for k in links), interval_s=300.0)


def test_replayed_city_is_discovered_matched_to_its_own_links_and_archived(
    live_twin: Twin, archive_url: str, topic_prefix: str, tmp_path: Path
) -> None:
    series = city_series(live_twin)
    city = VirtualCity(series, live_twin, "speed")
    server = serve_city(city)
    root = f"http://127.0.0.1:{server.server_address[1]}/v1.1"
    archive = LiveArchive(archive_url)
    archive.ensure_schema()
    try:
        with SensorThingsClient(root, page_size=7) as client:  # 12 Things: two pages
            feed = discover_feed(client, live_twin, tmp_path / "review.csv")
        assert client.skipped == 0 and len(feed.things) == series.n_sensors
        # Every detector sits on its own link's middle, heading its way: matching must find that link.
        own = {d.datastream_id: d.link_id for d in city.detectors}
        assert {m.datastream_id: m.link_id for m in feed.matches} == own
        assert all(m.status == "matched" and (m.bearing_difference_deg or 0.0) < 1.0 for m in feed.matches)
        record_feed(archive, feed)
        ingest = LiveIngest(archive, feed.datastreams, grace_s=5.0)
        subscriber = ObservationSubscriber(
            *BROKER, feed.datastreams, ingest.accept, ingest.problem, topic_prefix=topic_prefix
        )
        subscriber.start()
        stop = threading.Event()
        runner = threading.Thread(target=ingest.run, args=(stop,), kwargs={"flush_s": 0.1})
        runner.start()
        publisher = ObservationPublisher(*BROKER, topic_prefix=topic_prefix)
        publisher.start()
        started = time.time()
        published = city.replay(publisher, speed=3000.0)  # 5 minutes in 0.1 s
        assert time.time() - started >= STEPS * 0.1 - 0.05
        publisher.stop()
        assert published == STEPS * series.n_sensors - 1
        wait_for(lambda: ingest.counts.archived == published)
        stop.set()
        runner.join()
        subscriber.stop()
        assert ingest.counts.bad == ingest.counts.duplicates == ingest.counts.late == 0
        (gap,) = archive.gaps()
        assert gap.datastream_id == city.detectors[3].datastream_id and gap.length_s == pytest.approx(300.0)
        # The city serves what it published, so the HTTP path of the ingest reads the same.
        with SensorThingsClient(root, page_size=4) as client:
            values = [o.result for o in client.observations(city.detectors[0].datastream_id)]
        assert values == pytest.approx(list(series.values[:, 0]))
    finally:
        server.shutdown()
        archive.close()


def test_cli_ingest_by_http_polling_and_export(
    live_twin: Twin, archive_url: str, topic_prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin_dir = write_twin(live_twin, tmp_path / "twin")
    series = city_series(live_twin)
    save_series_npz(series, tmp_path / "speed.npz")
    city = VirtualCity(series, live_twin, "speed")
    server = serve_city(city)
    root = f"http://127.0.0.1:{server.server_address[1]}/v1.1"
    publisher = ObservationPublisher(*BROKER, topic_prefix=topic_prefix)
    publisher.start()
    city.replay(publisher, speed=30000.0)
    publisher.stop()
    review = tmp_path / "review.csv"
    since = "2000-01-01T00:00:00Z"
    argv = [
        "live",
        "ingest",
        "--url",
        root,
        "--twin",
        str(twin_dir),
        "--db",
        archive_url,
        "--review",
        str(review),
    ]
    code, out, err = run_cli([*argv, "--since", since, "--duration-s", "1", "--poll-s", "0.2"], capsys)
    server.shutdown()
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["archived"] == STEPS * series.n_sensors - 1
    assert summary["review_status"] == {"matched": series.n_sensors} and summary["gaps"] == 1
    assert summary["bad"] == 0 and review.is_file()
    code, out, err = run_cli(
        ["live", "export", "--db", archive_url, "--out", str(tmp_path / "a.parquet")], capsys
    )
    assert code == 0, err
    assert json.loads(out)["rows"] == summary["archived"]
    assert pq.read_table(tmp_path / "a.parquet").num_rows == summary["archived"]
    # Bad input: one line naming what was wrong, exit code 2.
    code, _, err = run_cli([*argv, "--workers", "2"], capsys)
    assert code == 2 and "--workers: expected 1, or more with --mqtt; got 2" in err
    code, _, err = run_cli([*argv, "--since", "yesterday"], capsys)
    assert code == 2 and "--since: expected an ISO 8601 UTC time" in err
    replay = ["live", "replay", "--twin", str(twin_dir)]
    code, _, err = run_cli([*replay, "--series", str(tmp_path / "speed.npz"), "--mqtt", "nowhere"], capsys)
    assert code == 2 and "--mqtt: expected HOST:PORT" in err
    code, _, err = run_cli(replay, capsys)
    assert code == 2 and "give exactly one of --series FILE and --simulate N" in err
    code, _, err = run_cli([*replay, "--series", str(tmp_path / "speed.npz"), "--quantity", "noise"], capsys)
    assert code == 2 and "--quantity: expected one of ['count', 'speed']" in err


@pytest.mark.parametrize("workers", [1, 2])
def test_cli_replay_in_its_own_process_feeds_cli_ingest_over_mqtt(
    live_twin: Twin,
    archive_url: str,
    topic_prefix: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    workers: int,
) -> None:
    import os
    import subprocess
    import sys

    twin_dir = write_twin(live_twin, tmp_path / "twin")
    series = city_series(live_twin)
    save_series_npz(series, tmp_path / "speed.npz")
    replay = subprocess.Popen(
        [sys.executable, "-m", "metaliverpool.cli.main", "live", "replay", "--twin", str(twin_dir),
         "--series", str(tmp_path / "speed.npz"), "--speed", "300", "--http-port", "0",
         "--topic-prefix", topic_prefix, "--linger-s", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )  # fmt: skip
    try:
        assert replay.stdout is not None
        first = json.loads(replay.stdout.readline())
        assert first["datastreams"] == series.n_sensors
        # Subscribes while the city plays (a step a second) and backfills the steps before over HTTP.
        argv = ["live", "ingest", "--url", first["sensorthings_url"], "--mqtt", "127.0.0.1:1883",
                "--topic-prefix", topic_prefix, "--twin", str(twin_dir), "--db", archive_url,
                "--review", str(tmp_path / "review.csv"), "--since", "2000-01-01T00:00:00Z",
                "--duration-s", "12", "--grace-s", "1", "--workers", str(workers)]  # fmt: skip
        code, out, err = run_cli(argv, capsys)
        assert code == 0, err
        last = json.loads(replay.communicate(timeout=60)[0].strip().splitlines()[-1])
    finally:
        replay.kill()
    assert replay.returncode == 0 and last["published"] == STEPS * series.n_sensors - 1
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["archived"] == last["published"] and summary["bad"] == 0
    # The city stopped after its last row: every Datastream, and so the feed, was flagged.
    assert summary["stopped_datastreams"] == series.n_sensors and summary["feed_stopped"] is True
    archive = LiveArchive(archive_url)
    feed_events = [kind for d, kind, _ in archive.feed_events() if d is None]
    archive.close()
    assert feed_events == ["stopped"]


def test_workers_that_cannot_reach_the_broker_are_reported(archive_url: str) -> None:
    import threading

    from metaliverpool.errors import InputError
    from metaliverpool.ingest.sensorthings import StaDatastream
    from metaliverpool.service.live_workers import WorkerConfig, run_ingest_workers

    streams = {i: StaDatastream(i, i, "d", "Anzahl_Kfz_5-Min", "", 300.0) for i in range(4)}
    archive = LiveArchive(archive_url)
    archive.ensure_schema()
    with pytest.raises(InputError, match=r"127.0.0.1:9: ingest worker\(s\) \[0, 1\] ended without reporting"):
        run_ingest_workers(WorkerConfig(archive_url, "127.0.0.1", 9), streams, 2, archive, threading.Event())
    archive.close()

"""End to end: the virtual city publishes to Mosquitto, the ingest archives it in PostgreSQL, the live state
loop refreshes the state and proposes a retiming, and the map (Chromium) shows the state as it is pushed
and approves the plan, which reaches the broker as a SensorThings Task and a plan file."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser

from live.signal_twins import TaskListener, crossroads_twin
from metaliverpool.ingest.sensorthings_tasking import task_topic
from metaliverpool.store.bundle import write_twin
from metaliverpool.store.live_state_store import LiveStateStore
from web.browser_pages import account, open_as, rest
from web.conftest import ProcessServer, wait_until_healthy

SPEED = 300.0
"""Replay speed: a 5-minute row every second (the replay outlasts the test, which stops it)."""


def write_series(path: Path, rows: int = 1000) -> None:
    """Speeds (m/s) on every link of the crossroads twin: Castle Street slows from 13 to 3 m/s over the
    first 20 rows and stays slow; Dale Street runs at 12 m/s."""
    links = crossroads_twin().links
    castle = (links["name"] == "Castle Street").to_numpy()
    speeds = np.where(castle[None, :], np.maximum(13.0 - 0.5 * np.arange(rows)[:, None], 3.0), 12.0)
    header = ",".join(str(int(i)) for i in links["link_id"])
    path.write_text(header + "\n" + "\n".join(",".join(f"{v:.2f}" for v in row) for row in speeds) + "\n")


def cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "metaliverpool.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_live_state_on_the_map_and_a_plan_approved_there(
    browser: Browser, web_dist: Path, postgres_url: str, tmp_path: Path
) -> None:
    try:
        import socket

        socket.create_connection(("127.0.0.1", 1883), timeout=2).close()
    except OSError as error:
        pytest.skip(f"MQTT broker not reachable: {error}")
    prefix = f"test-{uuid.uuid4().hex[:12]}/"
    db = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    twin_dir = write_twin(crossroads_twin(), tmp_path / "crossroads")
    write_series(tmp_path / "speed.csv")
    # every process starts at once (each imports for a while on a loaded machine); the ingest backfills
    # over HTTP whatever the replay published before it subscribed
    twin = ["--twin", str(twin_dir)]
    state_loop = cli("live", "state", *twin, "--db", db, "--every-s", "300", "--poll-s", "0.2", "--signals",
                     "--duration-s", "900")  # fmt: skip
    replay = cli("live", "replay", *twin, "--series", str(tmp_path / "speed.csv"), "--speed", str(SPEED),
                 "--http-port", "0", "--topic-prefix", prefix, "--linger-s", "0")  # fmt: skip
    processes = [state_loop, replay]
    server = ProcessServer(
        twin_dir,
        tmp_path / "server",
        web_dir=web_dist,
        live_database_url=db,
        signal_operators=["alice"],
        live_mqtt="127.0.0.1:1883",
        live_topic_prefix=prefix,
    )
    listener = TaskListener(task_topic(0, prefix))
    try:
        url = json.loads(replay.stdout.readline() or "{}")["sensorthings_url"]  # type: ignore[union-attr]
        ingest = ["live", "ingest", "--url", url, "--mqtt", "127.0.0.1:1883", *twin, "--db", db, "--review",
                  str(tmp_path / "review.csv"), "--topic-prefix", prefix, "--since", "2000-01-01T00:00:00Z",
                  "--duration-s", "900"]  # fmt: skip
        processes.append(cli(*ingest))
        server.state.mkdir(parents=True)
        command, env = server.command()
        server.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        wait_until_healthy(server.url, server.process, timeout_s=180)  # three other processes start too
        token = account(server, "alice")
        scenario = rest(
            server, token, "POST", "/api/scenarios", json={"twin_id": "test", "name": "Live"}
        ).json()
        context, page = open_as(browser, server, token, int(scenario["scenario_id"]), timeout_ms=120_000)
        page.click('button[data-tab="Live"]')
        # the state arrives and keeps arriving without a reload
        page.wait_for_function("() => window.metaliverpool.liveState", timeout=120_000)
        first = page.evaluate("() => window.metaliverpool.liveState.refreshed_unix_s")
        page.wait_for_function(
            f"() => window.metaliverpool.liveState.refreshed_unix_s >= {first} + 900", timeout=60_000
        )
        assert page.evaluate("() => window.metaliverpool.liveShown") == {"horizon_min": 0, "links": 8}
        assert page.evaluate("() => window.metaliverpool.liveState.detectors") == 8
        page.check('input[data-horizon="30"]')
        assert page.evaluate("() => window.metaliverpool.liveShown.horizon_min") == 30
        for horizon in (15, 30, 60):
            assert page.is_visible(f'#live-scores tr[data-horizon="{horizon}"]')
        # +15 minutes is scored once three refreshes have passed its target
        page.wait_for_function(
            """() => document.querySelector('#live-scores tr[data-horizon="15"] .recent-error')
                .textContent.endsWith('km/h')""",
            timeout=60_000,
        )
        # the congested junction is proposed, named by its streets, and approved in the map
        card = page.wait_for_selector('.signal-proposal[data-status="proposed"]', timeout=60_000)
        assert card is not None and "Castle Street / Dale Street" in card.inner_text()
        proposal_id = int(card.get_attribute("data-proposal") or 0)
        card.query_selector("button.approve").click()  # type: ignore[union-attr]
        page.wait_for_selector(
            f'.signal-proposal[data-proposal="{proposal_id}"][data-status="approved"]', timeout=10_000
        )
        assert listener.got.wait(10)
        task = json.loads(listener.messages[0])
        assert task["taskingParameters"]["plan_number"] == proposal_id
        assert (tmp_path / "server" / "signal_plans" / f"PLAN_MLJ000000_{proposal_id}.json").is_file()
        store = LiveStateStore(db)
        assert [(r["event"], r["actor"]) for r in store.audit(proposal_id)] == [
            ("proposed", "loop"), ("approved", "alice"), ("published", "alice"),
        ]  # fmt: skip
        store.close()
        context.close()
    finally:
        listener.close()
        for process in processes:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        server.stop()

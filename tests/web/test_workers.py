"""``metaliverpool serve --workers N``: several processes on one port, sharing rooms through PostgreSQL and
Redis. A worker killed with SIGKILL loses no acknowledged edit, its clients reconnect (to the other worker
or to the one the supervisor starts in its place) and resync, and the supervisor restarts it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets
from pycrdt import Map

from metaliverpool.api.live import SERVED_BY_HEADER
from metaliverpool.api.live_client import LiveClient
from web.conftest import free_port, new_scenario, sign_up_in, wait_until_healthy
from web.protocol import close_road, edit_entry, token_of

WORKERS = 2


def serve_command(twin_dir: Path, state: Path, port: int, *options: str) -> list[str]:
    """``metaliverpool serve`` on ``port`` (run as a module of this interpreter)."""
    return [
        sys.executable,
        "-m",
        "metaliverpool.cli.main",
        "serve",
        "--twin",
        str(twin_dir),
        "--state",
        str(state),
        "--port",
        str(port),
        *options,
    ]


def worker_pids(supervisor: int) -> set[int]:
    """The server processes under ``supervisor`` (its children, except multiprocessing's helper)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return {
        int(pid) for pid in children if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    }


def test_a_server_process_does_not_load_torch() -> None:
    """Every worker imports the app: torch (the neural forecaster's, ~250 MiB and ~3 s of CPU) would make
    each process heavier and a restarted one slower, though no served model needs it until one is loaded."""
    code = "import sys, metaliverpool.api.app; print(sorted({'torch'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


def test_workers_need_redis_and_postgres(twin_dir: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        serve_command(twin_dir, tmp_path, free_port(), "--workers", "2"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: --workers: 2 processes need --redis URL and a PostgreSQL --db (postgresql+psycopg://...)"
    ]


@pytest.mark.postgres
@pytest.mark.redis
def test_a_killed_worker_loses_no_acknowledged_edit_and_its_clients_reconnect(
    twin_dir: Path, tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = serve_command(
        twin_dir, tmp_path, port, "--workers", str(WORKERS), "--db", postgres_url, "--redis", redis_url
    )
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_healthy(url, server, timeout_s=60)
        deadline = time.monotonic() + 30
        while len(worker_pids(server.pid)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.1)
        with httpx.Client(base_url=url, timeout=30) as client:
            alice = sign_up_in(client, "alice")
            bob = sign_up_in(client, "bob")
            scenario_id = new_scenario(client, alice, name="Crowd")["scenario_id"]
            client.put(f"/api/scenarios/{scenario_id}/members/bob", json={"role": "editor"}, headers=alice)
            headers = asyncio.run(
                handshake_headers(f"ws://127.0.0.1:{port}/api/scenarios/{scenario_id}/live")
            )
            assert "sec-websocket-extensions" not in headers  # no permessage-deflate: no zlib per socket
            assert len(headers[SERVED_BY_HEADER.decode()]) == 32  # the serving process's opaque id
            acknowledged = asyncio.run(edit_through_a_kill(port, scenario_id, [alice, bob], server.pid))
            stored = client.get(f"/api/scenarios/{scenario_id}/edits", headers=alice).json()["edits"]
        assert acknowledged <= {edit["id"] for edit in stored}
        assert any(key.startswith("after-") for key in acknowledged)  # edits after the kill too
        deadline = time.monotonic() + 30
        while len(worker_pids(server.pid)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(worker_pids(server.pid)) == WORKERS  # the supervisor replaced the killed worker
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


async def handshake_headers(url: str) -> websockets.datastructures.Headers:
    """The response headers of a WebSocket handshake that offers permessage-deflate (as browsers do)."""
    async with websockets.connect(url, compression="deflate") as socket:
        return socket.response.headers


async def edit_through_a_kill(
    port: int, scenario_id: int, users: list[dict[str, str]], supervisor: int
) -> set[str]:
    """Clients on both workers edit; one worker is killed; its clients reconnect, resync and edit on.

    Returns the ids of the edits the server acknowledged (answered a sync step 1 sent after them).
    """
    path = f"ws://127.0.0.1:{port}/api/scenarios/{scenario_id}/live"
    names = ["alice", "bob"]
    clients: list[tuple[LiveClient, str]] = []
    while len({live.process for live, _ in clients}) < WORKERS:  # the kernel spreads the connections
        assert len(clients) < 40, "every connection went to one worker"
        number = len(clients) % len(users)
        clients.append((await LiveClient(path, token_of(users[number])).connect(), names[number]))
    acknowledged: set[str] = set()

    async def edit(live: LiveClient, author: str, key: str) -> None:
        await live.transact(
            lambda doc: doc.get("edits", type=Map).__setitem__(
                key, edit_entry(close_road(1000 + len(acknowledged)), author)
            )
        )
        await live.acknowledged()
        acknowledged.add(key)

    for round_number in range(2):
        for number, (live, author) in enumerate(clients[:8]):
            await edit(live, author, f"before-{round_number}-{number}")
    os.kill(min(worker_pids(supervisor)), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not any(live.close_code is not None for live, _ in clients):
        assert time.monotonic() < deadline, "no client saw its worker die"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the other sockets of the killed worker close at the same moment
    dropped = [(live, author) for live, author in clients if live.close_code is not None]
    survivors = [live for live, _ in clients if live.close_code is None]
    killed = {live.process for live, _ in dropped}
    assert len(killed) == 1 and survivors
    for number, (live, author) in enumerate(dropped):
        await live.connect()
        assert live.process not in killed
        assert set(live.doc.get("edits", type=Map).to_py()) >= acknowledged  # resynced
        await edit(live, author, f"after-{number}")
        for other in survivors:
            await other.wait_for(
                lambda other=other, number=number: f"after-{number}" in other.doc.get("edits", type=Map)
            )
    for live, _ in clients:
        await live.close()
    return acknowledged

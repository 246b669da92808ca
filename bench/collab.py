"""Benchmark of live collaboration: edit propagation latency, server memory, and the map's first paint.

``python bench/collab.py --twin twins/liverpool-centre [--clients 50,200] [--edits 100]``

For each N, a fresh server (``metaliverpool.api.app`` under uvicorn, SQLite in a temporary folder, one
process) gets N simulated clients (:class:`metaliverpool.api.live_client.LiveClient`) on loopback editing one
scenario, spread over ``--client-processes`` worker processes (4 by default). Edits are made one at a time
by random clients; the latency of an edit at a receiver is the time from just before its author sends it
to the moment the receiver's process has read it from its socket (so it includes the server's check, its
SQLite commit and the fan-out, and the client processes' own scheduling on this shared machine).
Reported: p50/p95/max over all (edit, receiver) pairs and the server's resident memory (RSS) after the
clients joined and at the end. Then the first paint of the twin's map in headless Chromium
(``/usr/bin/chromium``): milliseconds from navigation start until deck.gl drew the road layer, median of
three fresh page loads. Targets (issue 3): p95 < 50 ms at 200 clients; first paint < 3 s.

Prints a table and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import queue
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Map

from metaliverpool.api.live_client import LiveClient

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """A server process on a free port with its state in a temporary folder."""

    def __init__(self, twin: Path, state: Path, web: Path | None) -> None:
        self.port = free_port()
        config = {
            "twin_paths": [str(twin.resolve())],
            "database_url": f"sqlite:///{state / 'bench.db'}",
            "state_dir": str(state),
            "redis_url": None,
            "web_dir": None if web is None else str(web.resolve()),
        }
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "metaliverpool.api.app:app_from_environment",
            "--factory",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--ws",
            "websockets-sansio",
        ]
        env = {**os.environ, "METALIVERPOOL_SERVER_CONFIG": json.dumps(config)}
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def prepare(server: Server, twin_id: str, users: int) -> tuple[int, list[str]]:
    """Sign up ``users`` accounts and make a scenario they all edit; returns its id and their tokens."""
    tokens = []
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for number in range(users):
            name = f"user{number:03d}"
            client.post(
                "/api/auth/signup", json={"name": name, "password": "bench-password"}
            ).raise_for_status()
            response = client.post("/api/auth/signin", json={"name": name, "password": "bench-password"})
            tokens.append(response.json()["token"])
        owner = {"Authorization": f"Bearer {tokens[0]}"}
        created = client.post("/api/scenarios", json={"twin_id": twin_id, "name": "Bench"}, headers=owner)
        scenario_id = int(created.json()["scenario_id"])
        for number in range(1, users):
            client.put(
                f"/api/scenarios/{scenario_id}/members/user{number:03d}",
                json={"role": "editor"},
                headers=owner,
            ).raise_for_status()
    return scenario_id, tokens


async def run_clients(url: str, members: list[tuple[int, str, str]], commands: Any, results: Any) -> None:
    """A worker process's clients: connect, report receipts of the current edit, make edits on command."""
    loop = asyncio.get_running_loop()
    clients = {index: await LiveClient(url, token).connect(timeout_s=120) for index, token, _ in members}
    names = {index: name for index, _, name in members}
    current = {"edit": -1}

    def receipt(index: int) -> Any:
        def on_update(_update: bytes, at_s: float) -> None:
            if current["edit"] >= 0:
                results.put(("recv", current["edit"], index, at_s))

        return on_update

    for index, client in clients.items():
        client.on_update = receipt(index)
    results.put(("ready", len(clients)))
    while True:
        command = await loop.run_in_executor(None, commands.get)
        if command[0] == "expect":
            current["edit"] = command[1]
            results.put(("expecting", command[1]))
        elif command[0] == "edit":
            _, number, index = command
            key = f"e{number}"
            entry = {
                "edit": {"kind": "change_lanes", "osm_way_ids": [1001], "lanes": 1 + number % 3, "id": key},
                "author": names[index],
                "created_at_s": float(number),
            }
            sent_s = time.perf_counter()
            await clients[index].transact(
                lambda doc, key=key, entry=entry: doc.get("edits", type=Map).__setitem__(key, entry)
            )
            results.put(("sent", number, index, sent_s))
        else:
            for client in clients.values():
                await client.close()
            results.put(("stopped", 0))
            return


def client_process(url: str, members: list[tuple[int, str, str]], commands: Any, results: Any) -> None:
    """Entry of a client worker process."""
    asyncio.run(run_clients(url, members, commands, results))


def measure_latency(
    server: Server, scenario_id: int, tokens: list[str], clients: int, edits: int, seed: int, processes: int
) -> dict[str, Any]:
    """``clients`` clients spread over ``processes`` worker processes; ``edits`` edits made one at a time.

    Receipt and send times are ``time.perf_counter()`` (CLOCK_MONOTONIC: one clock for every process on
    the machine), so latencies compare times taken in different processes.
    """
    context = multiprocessing.get_context("spawn")
    url = f"ws://127.0.0.1:{server.port}/api/scenarios/{scenario_id}/live"
    results = context.Queue()
    workers = []
    owner_of: dict[int, int] = {}
    for worker in range(processes):
        members = [
            (index, tokens[index % len(tokens)], f"user{index % len(tokens):03d}")
            for index in range(worker, clients, processes)
        ]
        for index, _, _ in members:
            owner_of[index] = worker
        commands = context.Queue()
        process = context.Process(target=client_process, args=(url, members, commands, results), daemon=True)
        process.start()
        workers.append((process, commands))
    connected = 0
    while connected < clients:
        kind, count = results.get(timeout=300)[:2]
        assert kind == "ready"
        connected += count
    joined_rss = rss_mb(server.process.pid)
    peak_rss = joined_rss
    rng = random.Random(seed)
    latencies_ms: list[float] = []
    missing = 0
    for number in range(edits):
        for _, commands in workers:
            commands.put(("expect", number))
        acknowledged = 0
        while acknowledged < processes:
            if results.get(timeout=60)[0] == "expecting":
                acknowledged += 1
        author = rng.randrange(clients)
        workers[owner_of[author]][1].put(("edit", number, author))
        sent_s: float | None = None
        received: dict[int, float] = {}
        deadline = time.monotonic() + 10
        while (sent_s is None or len(received) < clients - 1) and time.monotonic() < deadline:
            try:
                message = results.get(timeout=0.5)
            except queue.Empty:
                continue
            if message[0] == "sent" and message[1] == number:
                sent_s = message[3]
            elif message[0] == "recv" and message[1] == number and message[2] != author:
                received[message[2]] = message[3]
        assert sent_s is not None, "the author never sent"
        missing += clients - 1 - len(received)
        latencies_ms.extend((at - sent_s) * 1000 for at in received.values())
        if number % 10 == 0:
            peak_rss = max(peak_rss, rss_mb(server.process.pid))
    end_rss = rss_mb(server.process.pid)
    for _, commands in workers:
        commands.put(("stop",))
    for process, _ in workers:
        process.join(30)
    latencies_ms.sort()
    return {
        "clients": clients,
        "client_processes": processes,
        "edits": edits,
        "deliveries": len(latencies_ms),
        "missing_deliveries": missing,
        "p50_ms": statistics.median(latencies_ms),
        "p95_ms": latencies_ms[int(0.95 * (len(latencies_ms) - 1))],
        "max_ms": latencies_ms[-1],
        "server_rss_joined_mb": joined_rss,
        "server_rss_peak_mb": max(peak_rss, end_rss),
    }


def measure_first_paint(server: Server, scenario_id: int, token: str, repeats: int = 3) -> dict[str, Any]:
    """Milliseconds from navigation start to the first deck.gl frame with the roads, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    times_ms = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_cookies([{"name": "ml_token", "value": token, "url": server.url}])
            page = context.new_page()
            page.goto(f"{server.url}/#/s/{scenario_id}")
            page.wait_for_function(
                "() => window.metaliverpool && window.metaliverpool.firstPaintMs !== null", timeout=60_000
            )
            times_ms.append(float(page.evaluate("() => window.metaliverpool.firstPaintMs")))
            context.close()
        browser.close()
    return {"first_paint_ms": statistics.median(times_ms), "first_paint_runs_ms": times_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twin", type=Path, default=REPO / "twins" / "liverpool-centre")
    parser.add_argument("--clients", default="50,200")
    parser.add_argument("--edits", type=int, default=100)
    parser.add_argument("--users", type=int, default=20, help="accounts shared by the clients")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client-processes", type=int, default=4, help="processes the clients run in")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    twin_id = json.loads((args.twin / "manifest.json").read_text()).get("region") or args.twin.name
    web = REPO / "web" / "dist"
    results: dict[str, Any] = {"twin": str(args.twin), "latency": []}
    for clients in (int(value) for value in args.clients.split(",")):
        with tempfile.TemporaryDirectory(prefix="ml-bench-") as state:
            server = Server(args.twin, Path(state), web if (web / "index.html").is_file() else None)
            try:
                scenario_id, tokens = prepare(server, twin_id, min(args.users, clients))
                figures = measure_latency(
                    server, scenario_id, tokens, clients, args.edits, args.seed, args.client_processes
                )
                results["latency"].append(figures)
                print(
                    f"N={clients:4d}  p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
                    f"max {figures['max_ms']:7.1f} ms  missing {figures['missing_deliveries']}  "
                    f"server RSS {figures['server_rss_joined_mb']:.0f} MiB joined, "
                    f"{figures['server_rss_peak_mb']:.0f} MiB peak",
                    flush=True,
                )
                if not args.no_browser and clients == max(int(v) for v in args.clients.split(",")):
                    if (web / "index.html").is_file() and Path("/usr/bin/chromium").is_file():
                        paint = measure_first_paint(server, scenario_id, tokens[0])
                        results.update(paint)
                        runs = ", ".join(f"{ms:.0f}" for ms in paint["first_paint_runs_ms"])
                        print(f"first paint {paint['first_paint_ms']:.0f} ms (runs: {runs} ms)")
                    else:
                        print("first paint skipped: build the web client (make web) and install chromium")
            finally:
                server.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()

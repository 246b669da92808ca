"""Benchmark of live collaboration: edit propagation latency, server memory, and the map's first paint.

``python bench/collab.py --twin twins/liverpool-centre [--clients 50,200] [--edits 100]``

For each N, a fresh server (``metaliverpool.api.app`` under uvicorn, SQLite in a temporary folder, one
process) gets N simulated clients (:class:`metaliverpool.api.live_client.LiveClient`) on loopback editing one
scenario. Edits are made one at a time by random clients; the latency of an edit at a receiver is the time
from just before its author sends it to the moment the receiver has applied it (so it includes the
server's check, its SQLite commit and the fan-out, plus the receiving side's own handling in this
process). Reported: p50/p95/max over all (edit, receiver) pairs and the server's resident memory (RSS)
after the clients joined and at the end. Then the first paint of the twin's map in headless Chromium
(``/usr/bin/chromium``): milliseconds from navigation start until deck.gl drew the road layer, median of
three fresh page loads. Targets (issue 3): p95 < 50 ms at 200 clients; first paint < 3 s.

Prints a table and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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


async def measure_latency(
    server: Server, scenario_id: int, tokens: list[str], clients: int, edits: int, seed: int
) -> dict[str, Any]:
    """Connect ``clients`` clients, make ``edits`` edits one at a time, return latency and memory figures."""
    url = f"ws://127.0.0.1:{server.port}/api/scenarios/{scenario_id}/live"
    live = []
    for number in range(clients):
        live.append(await LiveClient(url, tokens[number % len(tokens)]).connect(timeout_s=60))
    joined_rss = rss_mb(server.process.pid)
    latencies_ms: list[float] = []
    received: dict[int, float] = {}
    current = {"sent": 0.0}

    for index, client in enumerate(live):
        client.on_update = lambda _update, at, index=index: received.setdefault(index, at)

    rng = random.Random(seed)
    missing = 0
    peak_rss = joined_rss
    for number in range(edits):
        author_index = rng.randrange(clients)
        author = live[author_index]
        name = f"user{author_index % len(tokens):03d}"
        entry = {
            "edit": {
                "kind": "change_lanes",
                "osm_way_ids": [1001],
                "lanes": 1 + number % 3,
                "id": f"e{number}",
            },
            "author": name,
            "created_at_s": float(number),
        }
        received.clear()
        current["sent"] = time.perf_counter()
        await author.transact(
            lambda doc, entry=entry, key=f"e{number}": doc.get("edits", type=Map).__setitem__(key, entry)
        )
        deadline = time.perf_counter() + 5.0
        while len(received) < clients - 1 and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
        missing += clients - 1 - len(received)
        latencies_ms.extend(
            (at - current["sent"]) * 1000 for index, at in received.items() if index != author_index
        )
        if number % 10 == 0:
            peak_rss = max(peak_rss, rss_mb(server.process.pid))
    end_rss = rss_mb(server.process.pid)
    for client in live:
        await client.close()
    latencies_ms.sort()
    return {
        "clients": clients,
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
                figures = asyncio.run(
                    measure_latency(server, scenario_id, tokens, clients, args.edits, args.seed)
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

"""Benchmark of a crowd: several server processes, thousands of live clients, one process killed midway.

``python bench/crowd.py --twin DIR [--clients 2000] [--duration-s 300] [--workers 4]``

Starts ``metaliverpool serve --workers N`` on a fresh PostgreSQL database with Redis fan-out, makes
``--scenarios`` shared scenarios, and opens ``--clients`` WebSocket clients from ``--load-processes``
load-generator processes: ``--editors`` editors (:class:`metaliverpool.api.live_client.LiveClient`, each
with a pycrdt document; each makes one edit every ``--edit-interval-s`` on average and waits for the
server's acknowledgement: the answer to a sync step 1 sent after it) and viewers (raw sockets speaking the
same sync protocol, keeping no document: they sync, then read updates). Clients are spread over the
scenarios round-robin. Halfway through, one server process is killed with SIGKILL; its clients reconnect
(the kernel hands them to another process, or to the one the supervisor starts in its place) and resync.

Every edit's key carries its editor and number (``crowd-RUN-EDITOR-NUMBER``); a client finding a new key in
an update (or in the resync after a reconnect) records when. Latency is receipt time minus the editor's
time just before sending (``time.perf_counter()``: CLOCK_MONOTONIC, one clock for every process here), so
it includes the server's checks, the PostgreSQL commit, Redis and the load generator's own scheduling.
"Across processes" keeps the pairs whose receiver was on another server process than the editor (the
``x-metaliverpool-process`` handshake header). Memory per 1,000 viewers: the rise of the server processes'
summed RSS when the viewers joined (editors already in), scaled. Lost: keys the editors saw acknowledged
that the database (``GET /api/scenarios/{id}/edits``) lacks afterwards. Targets (issue 17): p95 < 100 ms,
p99 < 250 ms, 0 lost.

``--find-max 500,1000,2000,3000`` instead runs each crowd size in turn (``--duration-s`` each, no kill) on
one server and reports the largest whose p95 across processes stays under 250 ms.

Prints a table and writes every figure as JSON (``--out``, default ``crowd.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from pycrdt import Map, YMessageType, YSyncMessageType, read_message
from pycrdt._sync import create_sync_step1_message, create_sync_step2_message
from sqlalchemy import create_engine, text

from metaliverpool.api.live import SERVED_BY_HEADER
from metaliverpool.api.live_client import LiveClient

PASSWORD = "crowd-bench-passphrase"
CONNECT_TIMEOUT_S = 60.0
HANDSHAKES_AT_ONCE = 40
"""Connections a load process opens at a time (a browser crowd does not all arrive in one millisecond)."""
P95_LIMIT_MS = 250.0
"""``--find-max``: a crowd is held while edits reach 95 % of the other clients within this."""
EMPTY_STEP1 = create_sync_step1_message(b"\x00")
EMPTY_STEP2 = create_sync_step2_message(b"\x00\x00")
SERVED_BY = SERVED_BY_HEADER.decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raise_open_file_limit() -> int:
    """Every socket is a file: raise the soft limit to the hard one (inherited by child processes)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (0 if it is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (0 if it is gone)."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (every process, ours and others'), from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of sorted ``values`` (nearest rank); NaN if empty."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(fraction * len(values)))]


class Cluster:
    """``metaliverpool serve --workers N`` on a fresh PostgreSQL database (dropped by :meth:`stop`)."""

    def __init__(self, twin: Path, state: Path, workers: int, postgres_admin: str, redis: str) -> None:
        self.admin_url = postgres_admin
        self.database = f"ml_crowd_{uuid.uuid4().hex[:10]}"
        admin = create_engine(postgres_admin, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.database}"'))
        admin.dispose()
        self.port = free_port()
        self.workers = workers
        command = [
            sys.executable,
            "-m",
            "metaliverpool.cli.main",
            "serve",
            "--twin",
            str(twin),
            "--state",
            str(state),
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--db",
            postgres_admin.rsplit("/", 1)[0] + f"/{self.database}",
            "--redis",
            redis,
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while len(self.worker_pids()) < workers or not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def worker_pids(self) -> list[int]:
        """The server processes (children of the supervisor, except multiprocessing's tracker)."""
        pid = self.process.pid
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            return sorted(
                int(child)
                for child in children
                if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
            )
        return []

    def rss_mib(self) -> float:
        """Summed RSS of the server processes."""
        return sum(rss_mib(pid) for pid in self.worker_pids())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Crowd:
    """The accounts and scenarios of the benchmark: an owner, editors (members) and one viewer account
    (the scenarios are shared, so any signed-in user may watch)."""

    twin_id: str
    scenarios: list[int]
    owner_token: str
    viewer_token: str
    editor_tokens: list[tuple[str, str]] = field(default_factory=list)


def prepare(url: str, twin_id: str, scenarios: int, editors: int) -> Crowd:
    """Sign up the accounts and make the scenarios (editor ``k`` edits scenario ``k % scenarios``)."""
    with httpx.Client(base_url=url, timeout=120) as client:

        def account(name: str) -> str:
            body = {"name": name, "password": PASSWORD}
            client.post("/api/auth/signup", json=body).raise_for_status()
            response = client.post("/api/auth/signin", json=body)
            response.raise_for_status()
            client.cookies.clear()
            return str(response.json()["token"])

        owner = account("owner")
        headers = {"Authorization": f"Bearer {owner}"}
        ids = []
        for number in range(scenarios):
            body = {"twin_id": twin_id, "name": f"Crowd {number}", "visibility": "shared"}
            response = client.post("/api/scenarios", json=body, headers=headers)
            response.raise_for_status()
            ids.append(int(response.json()["scenario_id"]))
        crowd = Crowd(twin_id, ids, owner, account("viewer"))
        for number in range(editors):
            name = f"editor{number:03d}"
            crowd.editor_tokens.append((name, account(name)))
            client.put(
                f"/api/scenarios/{ids[number % scenarios]}/members/{name}",
                json={"role": "editor"},
                headers=headers,
            ).raise_for_status()
    return crowd


@dataclass
class Record:
    """What one load process saw (plain tuples, sent back through a queue)."""

    sends: list[tuple[int, int, float, str]] = field(default_factory=list)
    """(editor, number, sent_s, server process)"""
    acknowledged: list[tuple[int, str]] = field(default_factory=list)
    """(scenario, key) the server acknowledged"""
    receipts: list[tuple[int, int, float, str]] = field(default_factory=list)
    """(editor, number, received_s, receiver's server process): first arrival at each client"""
    reconnects: list[tuple[float, float]] = field(default_factory=list)
    """(closed_s, synced again_s)"""
    failures: list[str] = field(default_factory=list)
    cpu_s: float = 0.0
    """CPU seconds the load process used in all"""


class Receiver:
    """A client's view of the keys it has seen: records the first arrival of each edit of this run."""

    def __init__(self, run: str, record: Record) -> None:
        self.pattern = re.compile(rb"crowd-" + run.encode() + rb"-(\d+)-(\d+)")
        self.record = record
        self.seen: set[bytes] = set()
        self.process = ""

    def scan(self, payload: bytes, received_s: float) -> None:
        for found in self.pattern.finditer(payload):
            if found.group(0) not in self.seen:
                self.seen.add(found.group(0))
                editor, number = int(found.group(1)), int(found.group(2))
                self.record.receipts.append((editor, number, received_s, self.process))


async def open_socket(url: str, gate: asyncio.Semaphore) -> Any:
    async with gate:
        return await websockets.connect(
            url, max_size=None, open_timeout=CONNECT_TIMEOUT_S, ping_interval=None, close_timeout=1
        )


async def viewer(url: str, run: str, gate: asyncio.Semaphore, record: Record, ready: Any) -> None:
    """A viewer (until cancelled): sync (no document kept), read updates, reconnect at once when dropped."""
    receiver = Receiver(run, record)
    closed_s: float | None = None
    while True:
        try:
            connection = await open_socket(url, gate)
            receiver.process = connection.response.headers.get(SERVED_BY, "")
            async with connection:
                await connection.send(EMPTY_STEP1)
                async for message in connection:
                    received_s = time.perf_counter()
                    if message[0] != YMessageType.SYNC:
                        continue
                    if message[1] == YSyncMessageType.SYNC_STEP1:
                        await connection.send(EMPTY_STEP2)
                        continue
                    if message[1] == YSyncMessageType.SYNC_STEP2:
                        if closed_s is not None:
                            record.reconnects.append((closed_s, received_s))
                            closed_s = None
                        if ready is not None:
                            ready.set_result(None)
                            ready = None
                    receiver.scan(read_message(message[2:]), received_s)
        except (OSError, TimeoutError, websockets.WebSocketException) as error:
            if ready is not None:
                ready.set_exception(error)
                return
            await asyncio.sleep(random.uniform(0.0, 0.1))  # y-websocket's first retry is near-immediate
        if closed_s is None:
            closed_s = time.perf_counter()


async def editor(
    url: str,
    token: str,
    index: int,
    scenario_id: int,
    name: str,
    run: str,
    interval_s: float,
    go: asyncio.Future[float],
    gate: asyncio.Semaphore,
    record: Record,
    ready: Any,
) -> None:
    """An editor: once ``go`` gives the end time, one edit every ``interval_s`` on average (uniform 0.5-1.5
    times), each acknowledged."""
    receiver = Receiver(run, record)
    live = LiveClient(url, token)
    async with gate:
        await live.connect(CONNECT_TIMEOUT_S)
    receiver.process = live.process or ""
    live.on_update = receiver.scan
    ready.set_result(None)
    until_s = await go
    rng = random.Random(index)
    pending: list[str] = []
    number = 0
    while True:
        await asyncio.sleep(interval_s * rng.uniform(0.5, 1.5))
        if time.perf_counter() >= until_s:
            break
        key = f"crowd-{run}-{index}-{number}"
        entry = {
            "edit": {"kind": "change_lanes", "osm_way_ids": [1001 + number % 8], "lanes": 1 + number % 3},
            "author": name,
            "created_at_s": float(number),
        }
        pending.append(key)
        record.sends.append((index, number, time.perf_counter(), receiver.process))
        number += 1
        try:
            await live.transact(
                lambda doc, key=key, entry=entry: doc.get("edits", type=Map).__setitem__(key, entry)
            )
            await live.acknowledged(CONNECT_TIMEOUT_S)
        except (ConnectionError, TimeoutError, websockets.WebSocketException):
            closed_s = time.perf_counter()
            while time.perf_counter() < until_s + CONNECT_TIMEOUT_S:
                try:
                    async with gate:
                        await live.connect(CONNECT_TIMEOUT_S)  # the sync re-sends what was not stored
                    await live.acknowledged(CONNECT_TIMEOUT_S)
                    break
                except (OSError, ConnectionError, TimeoutError, websockets.WebSocketException):
                    await asyncio.sleep(random.uniform(0.0, 0.1))
            else:
                record.failures.append(f"editor {index} could not reconnect")
                break
            receiver.process = live.process or ""
            record.reconnects.append((closed_s, time.perf_counter()))
        record.acknowledged.extend((scenario_id, acked) for acked in pending)
        pending.clear()
    await live.close()


async def load(spec: dict[str, Any], commands: Any, results: Any) -> None:
    """One load-generator process: editors connect, then viewers, then everyone runs until the end time."""
    raise_open_file_limit()
    record = Record()
    gate = asyncio.Semaphore(HANDSHAKES_AT_ONCE)
    loop = asyncio.get_running_loop()
    go: asyncio.Future[float] = loop.create_future()
    editors: list[asyncio.Task[None]] = []
    viewers: list[asyncio.Task[None]] = []

    async def start(kind: str, clients: list[Any], tasks: list[asyncio.Task[None]]) -> None:
        readies = [loop.create_future() for _ in clients]
        for ready, client in zip(readies, clients, strict=True):
            if kind == "editor":
                index, scenario_id, name, token = client
                url = f"{spec['ws']}/api/scenarios/{scenario_id}/live"
                coroutine = editor(
                    url,
                    token,
                    index,
                    scenario_id,
                    name,
                    spec["run"],
                    spec["interval_s"],
                    go,
                    gate,
                    record,
                    ready,
                )
            else:
                url = f"{spec['ws']}/api/scenarios/{client}/live?token={spec['viewer_token']}"
                coroutine = viewer(url, spec["run"], gate, record, ready)
            tasks.append(asyncio.create_task(coroutine))
        outcomes = await asyncio.gather(*readies, return_exceptions=True)
        record.failures.extend(
            f"{kind} did not connect: {o!r}" for o in outcomes if isinstance(o, BaseException)
        )

    await loop.run_in_executor(None, commands.get)
    await start("editor", spec["editors"], editors)
    results.put(("ready", "editors"))
    await loop.run_in_executor(None, commands.get)
    await start("viewer", spec["viewers"], viewers)
    results.put(("ready", "viewers"))
    until_s = (await loop.run_in_executor(None, commands.get))[1]
    go.set_result(until_s)
    await asyncio.sleep(max(0.0, until_s - time.perf_counter()))
    done, running = await asyncio.wait(editors, timeout=CONNECT_TIMEOUT_S)
    for task in [*running, *viewers]:
        task.cancel()
    await asyncio.gather(*viewers, return_exceptions=True)
    record.failures.extend(repr(task.exception()) for task in done if task.exception() is not None)
    record.cpu_s = time.process_time()
    results.put(("record", record.__dict__))


def load_process(spec: dict[str, Any], commands: Any, results: Any) -> None:
    """Entry of a load-generator process."""
    asyncio.run(load(spec, commands, results))


def measure(
    cluster: Cluster,
    crowd: Crowd,
    clients: int,
    editors: int,
    duration_s: float,
    interval_s: float,
    load_processes: int,
    kill_at_s: float | None,
) -> dict[str, Any]:
    """One crowd of ``clients`` (``editors`` of them editing) for ``duration_s``; kill a process at
    ``kill_at_s`` (seconds after the viewers joined) if given."""
    run = uuid.uuid4().hex[:6]
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    viewers = clients - editors
    editor_specs = [
        (index, crowd.scenarios[index % len(crowd.scenarios)], *crowd.editor_tokens[index])
        for index in range(editors)
    ]
    viewer_scenarios = [crowd.scenarios[index % len(crowd.scenarios)] for index in range(viewers)]
    workers = []
    for number in range(load_processes):
        spec = {
            "ws": cluster.url.replace("http", "ws"),
            "run": run,
            "interval_s": interval_s,
            "viewer_token": crowd.viewer_token,
            "editors": editor_specs[number::load_processes],
            "viewers": viewer_scenarios[number::load_processes],
        }
        commands = context.Queue()
        process = context.Process(target=load_process, args=(spec, commands, results), daemon=True)
        process.start()
        workers.append((process, commands))
    settle_s = 60.0 + clients / 10  # time allowed for everyone to connect
    rss_empty = cluster.rss_mib()
    for _, commands in workers:
        commands.put(("editors",))
    for _ in workers:
        assert results.get(timeout=settle_s)[0] == "ready"
    time.sleep(2)
    rss_editors = cluster.rss_mib()
    joined_s = time.perf_counter()
    for _, commands in workers:
        commands.put(("viewers",))
    for _ in workers:
        assert results.get(timeout=settle_s)[0] == "ready"
    connect_s = time.perf_counter() - joined_s
    time.sleep(2)
    rss_viewers = cluster.rss_mib()
    cpu_before = {pid: cpu_s(pid) for pid in cluster.worker_pids()}
    busy_before_s = machine_busy_s()
    start_s = time.perf_counter()
    until_s = start_s + duration_s
    for _, commands in workers:
        commands.put(("go", until_s))
    killed: dict[str, Any] = {}
    peak_rss = rss_viewers
    while time.perf_counter() < until_s:
        time.sleep(1.0)
        peak_rss = max(peak_rss, cluster.rss_mib())
        if kill_at_s is not None and not killed and time.perf_counter() - start_s >= kill_at_s:
            victim = cluster.worker_pids()[0]
            killed = {"pid": victim, "rss_mib": rss_mib(victim), "at_s": time.perf_counter()}
            os.kill(victim, signal.SIGKILL)
    busy_s = machine_busy_s() - busy_before_s
    records = []
    for _ in workers:
        message = results.get(timeout=3 * CONNECT_TIMEOUT_S)
        records.append(message[1])
    for process, _ in workers:
        process.join(30)
    cpu_server_s = sum(cpu_s(pid) - cpu_before.get(pid, 0.0) for pid in cluster.worker_pids())
    return summarise(cluster, crowd, records, start_s, killed) | {
        "clients": clients,
        "editors": editors,
        "viewers": viewers,
        "scenarios": len(crowd.scenarios),
        "server_processes": cluster.workers,
        "load_processes": load_processes,
        "duration_s": duration_s,
        "edit_interval_s": interval_s,
        "viewers_connect_s": connect_s,
        "server_rss_empty_mib": rss_empty,
        "server_rss_editors_mib": rss_editors,
        "server_rss_all_mib": rss_viewers,
        "server_rss_peak_mib": peak_rss,
        "server_rss_per_1000_viewers_mib": (rss_viewers - rss_editors) / viewers * 1000 if viewers else None,
        "server_cpu_s_surviving_processes": cpu_server_s,
        "load_generator_cpu_s": sum(record["cpu_s"] for record in records),
        "machine_busy_cpu_s": busy_s,
        "machine_cores": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def summarise(
    cluster: Cluster, crowd: Crowd, records: list[dict[str, Any]], start_s: float, killed: dict[str, Any]
) -> dict[str, Any]:
    """Latencies (all pairs, and across processes), reconnections after the kill, lost edits."""
    sends = {(e, n): (at, process) for record in records for e, n, at, process in record["sends"]}
    latencies: list[float] = []
    across: list[float] = []
    by_10_s: dict[int, list[float]] = {}
    for record in records:
        for editor, number, received_s, process in record["receipts"]:
            sent = sends.get((editor, number))
            if sent is None or sent[0] < start_s:
                continue
            latency_ms = (received_s - sent[0]) * 1000
            latencies.append(latency_ms)
            by_10_s.setdefault(int((sent[0] - start_s) // 10), []).append(latency_ms)
            if process != sent[1]:
                across.append(latency_ms)
    latencies.sort()
    across.sort()
    timeline = [
        {"from_s": 10 * slot, "p95_ms": percentile(sorted(values), 0.95), "count": len(values)}
        for slot, values in sorted(by_10_s.items())
    ]
    reconnect_ms = sorted(
        (synced - closed) * 1000
        for record in records
        for closed, synced in record["reconnects"]
        if killed and closed >= killed["at_s"] - 1
    )
    acknowledged = {(scenario, key) for record in records for scenario, key in record["acknowledged"]}
    stored: set[tuple[int, str]] = set()
    headers = {"Authorization": f"Bearer {crowd.owner_token}"}
    with httpx.Client(base_url=cluster.url, timeout=60, headers=headers) as client:
        for scenario_id in crowd.scenarios:
            response = client.get(f"/api/scenarios/{scenario_id}/edits")
            response.raise_for_status()
            stored |= {(scenario_id, key) for key in response.json()["entries"]}
    failures = [failure for record in records for failure in record["failures"]]

    def quantiles(values: list[float]) -> dict[str, float]:
        return {f"p{q}_ms": percentile(values, q / 100) for q in (50, 95, 99)} | {
            "max_ms": values[-1] if values else float("nan"),
            "count": len(values),
        }

    return {
        "edits_sent": len(sends),
        "edits_acknowledged": len(acknowledged),
        "acknowledged_lost": len(acknowledged - stored),
        "latency": quantiles(latencies),
        "latency_across_processes": quantiles(across),
        "latency_p95_every_10_s": timeline,
        "killed": {key: value for key, value in killed.items() if key != "at_s"},
        "reconnections": len(reconnect_ms),
        "reconnect": {
            "p50_ms": percentile(reconnect_ms, 0.5),
            "p95_ms": percentile(reconnect_ms, 0.95),
            "max_ms": reconnect_ms[-1] if reconnect_ms else float("nan"),
        },
        "failures": len(failures),
        "failure_examples": failures[:5],
    }


def row(figures: dict[str, Any]) -> str:
    lat, across = figures["latency"], figures["latency_across_processes"]
    return (
        f"{figures['clients']:6d} clients ({figures['editors']} editors)  "
        f"latency p50/p95/p99 {lat['p50_ms']:6.1f} / {lat['p95_ms']:6.1f} / {lat['p99_ms']:6.1f} ms  "
        f"across processes {across['p50_ms']:6.1f} / {across['p95_ms']:6.1f} / {across['p99_ms']:6.1f} ms  "
        f"({across['count']} of {lat['count']} deliveries)  "
        f"RSS {figures['server_rss_all_mib']:.0f} MiB, {figures['server_rss_per_1000_viewers_mib']:.0f} MiB "
        f"per 1,000 viewers  failures {figures['failures']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twin", type=Path, required=True, help="a twin bundle folder")
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--editors", type=int, default=50)
    parser.add_argument("--scenarios", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="server processes")
    parser.add_argument("--duration-s", type=float, default=300.0)
    parser.add_argument(
        "--edit-interval-s", type=float, default=5.0, help="mean time between an editor's edits"
    )
    parser.add_argument("--load-processes", type=int, default=2, help="processes the clients run in")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--find-max", help="comma-separated crowd sizes to step through (no kill)")
    parser.add_argument("--out", type=Path, default=Path("crowd.json"))
    args = parser.parse_args()
    files = raise_open_file_limit()
    twin_id = json.loads((args.twin / "manifest.json").read_text()).get("region") or args.twin.name
    sizes = [int(size) for size in args.find_max.split(",")] if args.find_max else [args.clients]
    needed = 2 * max(sizes) // args.load_processes + 1000
    if files < needed:
        sys.exit(f"open-file limit {files} is below the {needed} this crowd needs (raise the hard limit)")
    results: dict[str, Any] = {"twin": str(args.twin), "runs": []}
    with tempfile.TemporaryDirectory(prefix="ml-crowd-") as state:
        cluster = Cluster(args.twin.resolve(), Path(state), args.workers, args.postgres, args.redis)
        try:
            crowd = prepare(cluster.url, twin_id, args.scenarios, args.editors)
            for size in sizes:
                kill_at_s = None if args.find_max else args.duration_s / 2
                figures = measure(
                    cluster,
                    crowd,
                    size,
                    min(args.editors, size),
                    args.duration_s,
                    args.edit_interval_s,
                    args.load_processes,
                    kill_at_s,
                )
                results["runs"].append(figures)
                print(row(figures), flush=True)
                available_s = figures["machine_cores"] * args.duration_s
                print(
                    f"       CPU in the {args.duration_s:.0f} s: server processes "
                    f"{figures['server_cpu_s_surviving_processes']:.0f} s, whole machine (other work too) "
                    f"{figures['machine_busy_cpu_s']:.0f} s of {available_s:.0f} s; "
                    f"load generator {figures['load_generator_cpu_s']:.0f} s (connecting included)",
                    flush=True,
                )
                if not args.find_max:
                    print(
                        f"killed one of {args.workers} server processes at {kill_at_s:.0f} s: "
                        f"{figures['reconnections']} reconnections, p50/p95/max "
                        f"{figures['reconnect']['p50_ms']:.0f} / {figures['reconnect']['p95_ms']:.0f} / "
                        f"{figures['reconnect']['max_ms']:.0f} ms; edits sent {figures['edits_sent']}, "
                        f"acknowledged {figures['edits_acknowledged']}, acknowledged lost "
                        f"{figures['acknowledged_lost']}"
                    )
                elif figures["latency_across_processes"]["p95_ms"] >= P95_LIMIT_MS or figures["failures"]:
                    break
        finally:
            cluster.stop()
    if args.find_max:
        held = [
            run["clients"]
            for run in results["runs"]
            if run["latency_across_processes"]["p95_ms"] < P95_LIMIT_MS and not run["failures"]
        ]
        results["largest_crowd_p95_under_250_ms"] = max(held, default=None)
        largest = f"{max(held)} clients" if held else "none of the sizes tried"
        print(f"largest crowd with p95 < {P95_LIMIT_MS:.0f} ms across processes: {largest}")
    args.out.write_text(json.dumps(results, indent=1))
    print(f"figures written to {args.out}")


if __name__ == "__main__":
    main()

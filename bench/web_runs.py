"""Benchmark: time from starting a run in the web API to its result being available, on a real server.

Starts ``metaliverpool serve`` (its own process, SQLite, a local Ray instance) on a built twin with one
example scenario (``--example``, the ``demo`` account), then times, for a static and a dynamic pair, cold
(empty run cache) and cached: ``POST /api/scenarios/{id}/runs`` until ``GET /api/runs/{id}`` says
``done`` and ``GET /api/runs/{id}/kpis`` answers (what the browser's Run button waits for). "cached" repeats
the cold request (the same inputs: the server answers with the finished run's results), "engine-cached"
renames the scenario first (other inputs, so a worker runs the pipeline, whose engine runs all come from the
run cache). Prints a table and one JSON line.

There is no peer for this one: no other system runs these scenarios behind a web API; the targets are
the issue's (static pair 15 s cold and 2 s cached, dynamic pair 60 s).

    python bench/web_runs.py --twin /tmp/twin [--scenario scenarios/centre-cordon-charge.yaml]
        [--dynamic-seeds 1,2,3] [--engines static,dynamic]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
DEMO = {"name": "demo", "password": "mersey-ferry-1"}
"""The example account ``metaliverpool serve --example`` makes (``service.examples``)."""
TARGETS_S = {("static", "cold"): 15.0, ("static", "cached"): 2.0, ("dynamic", "cold"): 60.0}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(twin: Path, scenario: Path, state: Path, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "metaliverpool.cli.main", "serve", "--twin", str(twin), "--port", str(port),
        "--state", str(state), "--example", str(scenario), "--run-slots", "2",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_healthy(client: httpx.Client, process: subprocess.Popen[bytes], timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"server exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
            )
        try:
            if client.get("/api/twins").status_code in (200, 401):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("server did not start")


def wait_done(client: httpx.Client, run_id: int, timeout_s: float = 1800.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if run["status"] == "done" and client.get(f"/api/runs/{run_id}/kpis").status_code == 200:
            return dict(run)
        if run["status"] in ("failed", "cancelled"):
            raise SystemExit(f"run {run_id} {run['status']}: {run['message']}")
        time.sleep(0.1)
    raise SystemExit(f"run {run_id} not done within {timeout_s:g} s")


def timed_run(
    client: httpx.Client, scenario_id: int, settings: dict[str, Any]
) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = client.post(f"/api/scenarios/{scenario_id}/runs", json=settings)
    if response.status_code != 202:
        raise SystemExit(f"run refused: {response.status_code} {response.text}")
    run = wait_done(client, int(response.json()["run_id"]))
    return time.perf_counter() - started, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twin", type=Path, required=True, help="A built twin bundle.")
    parser.add_argument("--scenario", type=Path, default=REPO / "scenarios" / "centre-cordon-charge.yaml")
    parser.add_argument("--dynamic-seeds", default="1,2,3", help="Seeds of the dynamic pair.")
    parser.add_argument("--engines", default="static,dynamic", help="Which pairs to time.")
    args = parser.parse_args()
    engines = args.engines.split(",")
    seeds = [int(s) for s in args.dynamic_seeds.split(",")]
    state = Path(tempfile.mkdtemp(prefix="ml-bench-web-"))
    port = free_port()
    process = start_server(args.twin, args.scenario, state, port)
    rows: list[dict[str, Any]] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0) as client:
            wait_healthy(client, process)
            token = client.post("/api/auth/signin", json=DEMO).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            client.cookies.clear()
            scenario_id = int(client.get("/api/scenarios").json()[0]["scenario_id"])
            for run in client.get(f"/api/scenarios/{scenario_id}/runs").json():
                wait_done(client, int(run["run_id"]))  # the example's own run: warms Ray and the twin
            for engine, settings in (
                ("static", {"engine": "static", "seeds": [1, 2, 3]}),
                ("dynamic", {"engine": "dynamic", "seeds": seeds}),
            ):
                if engine not in engines:
                    continue
                shutil.rmtree(state / "runcache", ignore_errors=True)
                for cache in ("cold", "cached", "engine-cached"):
                    if cache == "engine-cached":  # other inputs (the name), the same engine runs
                        name = f"{engine} renamed"
                        client.patch(f"/api/scenarios/{scenario_id}", json={"name": name})
                    seconds, run = timed_run(client, scenario_id, settings)
                    rows.append(
                        {
                            "engine": engine,
                            "cache": cache,
                            "seconds": round(seconds, 2),
                            "runs": len(run["kpis"].get("runs", [])),
                            "engine_s": [round(r["seconds"], 1) for r in run["kpis"].get("runs", [])],
                            "target_s": TARGETS_S.get((engine, cache)),
                        }
                    )
                    print(f"{engine:8} {cache:7} {seconds:8.2f} s", file=sys.stderr)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(state, ignore_errors=True)
    print(f"{'engine':8} {'cache':7} {'seconds':>8} {'runs':>5} {'target s':>9}")
    for row in rows:
        target = "" if row["target_s"] is None else f"{row['target_s']:g}"
        print(f"{row['engine']:8} {row['cache']:7} {row['seconds']:8.2f} {row['runs']:5d} {target:>9}")
    print(json.dumps({"benchmark": "web_runs", "twin": str(args.twin), "rows": rows}))


if __name__ == "__main__":
    main()

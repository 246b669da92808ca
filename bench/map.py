"""Benchmark of the maps in headless Chromium with software WebGL: first paint of the public map at ``/``,
the time from a click on the map to the panel it opens, and vehicle playback (frames a second, pause
latency) of a dynamic run.

``python bench/map.py [--data DIR] [--twin DIR] [--loads 5] [--clicks 10] [--play-s 5] [--no-playback]``

A server process (``metaliverpool.api.app`` under uvicorn, SQLite in a temporary folder) serves the built
client (``web/dist``: ``make web`` first), the region layers of ``--data`` (default ``METALIVERPOOL_DATA``)
and the twin of ``--twin`` (default: the 3 x 3 grid twin of the tests, written to a temporary folder).

- First paint: ``window.metaliverpool.publicMap.firstPaintMs``, milliseconds from the start of the
  navigation to the map idle with the districts, roads, stations and services drawn; ``--loads`` fresh
  browser contexts (no cache). Target (issue 13): under 2 s.
- Click to panel: a real mouse click on a hospital drawn in central Liverpool (the first the map draws
  there); milliseconds from the press (the event's own time stamp) to the details panel shown;
  ``--clicks`` clicks. Target: 300 ms.
- Playback: a dynamic run (seed 1) of a scenario without edits queued over REST on the twin (its vehicles
  are those of the twin's own morning); once its vehicle animation is stored, the scenario page shows
  it, plays for ``--play-s`` seconds (frames deck.gl drew per second) and pauses with a real click
  (milliseconds from the press to the animation stopped). Targets: 20 frames a second, pause within
  100 ms.

Prints a table and, last, one JSON line with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from web.a11y import click_to_panel_ms, playback  # noqa: E402
from web.browser_pages import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PASSWORD = "mersey-tunnel-clock-7"
CENTRE = (-2.975, 53.405)
"""Central Liverpool (lon, lat), where the click benchmark looks for a hospital."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(twin: Path, data: Path, state: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A server process on a free port; returns it and its URL once it answers."""
    port = free_port()
    config = {
        "twin_paths": [str(twin.resolve())],
        "database_url": f"sqlite:///{state / 'bench.db'}",
        "state_dir": str(state),
        "web_dir": str(REPO / "web" / "dist"),
        "region_data": str(data.resolve()),
        "argon2_memory_kib": 8192,
        "argon2_time_cost": 1,
    }
    command = [sys.executable, "-m", "uvicorn", "metaliverpool.api.app:app_from_environment", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    env = {**os.environ, "METALIVERPOOL_SERVER_CONFIG": json.dumps(config)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the server did not start within 600 s")


def first_paints(browser: Any, url: str, loads: int) -> list[float]:
    paints = []
    for _ in range(loads):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(f"{url}/")
        page.wait_for_function("() => window.metaliverpool?.publicMap?.firstPaintMs != null", timeout=60_000)
        paints.append(float(page.evaluate("() => window.metaliverpool.publicMap.firstPaintMs")))
        context.close()
    return paints


def clicks_to_panel(browser: Any, url: str, clicks: int) -> list[float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{url}/")
    page.wait_for_function("() => window.metaliverpool?.publicMap?.loaded.length === 7", timeout=60_000)
    page.evaluate("(c) => window.metaliverpool.publicMap.map.jumpTo({center: c, zoom: 13})", list(CENTRE))
    page.wait_for_function("() => window.metaliverpool.publicMap.map.loaded()", timeout=30_000)
    point = page.evaluate(
        """() => {
            const map = window.metaliverpool.publicMap.map;
            const f = map.queryRenderedFeatures({ layers: ["services"] })
                .find((f) => f.properties.kind === "hospital");
            if (!f) return null;
            const p = map.project(f.geometry.coordinates), box = map.getCanvas().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }"""
    )
    if point is None:
        raise SystemExit("no hospital drawn in central Liverpool")
    times = [click_to_panel_ms(page, point[0], point[1], "#details") for _ in range(clicks)]
    context.close()
    return times


def vehicle_playback(browser: Any, url: str, play_s: float) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=60) as client:
        client.post("/api/auth/signup", json={"name": "bench", "password": PASSWORD}).raise_for_status()
        token = client.post("/api/auth/signin", json={"name": "bench", "password": PASSWORD}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        twin_id = client.get("/api/twins").json()[0]["twin_id"]
        scenario = client.post("/api/scenarios", json={"twin_id": twin_id, "name": "Playback"}).json()
        scenario_id = scenario["scenario_id"]
        run_started = time.monotonic()
        run = client.post(f"/api/scenarios/{scenario_id}/runs", json={"engine": "dynamic", "seeds": [1]})
        if run.status_code != 202:
            raise SystemExit(f"run refused: {run.status_code} {run.text}")
        run_id = run.json()["run_id"]
        while True:
            described = client.get(f"/api/runs/{run_id}").json()
            if described["status"] in ("failed", "cancelled"):
                raise SystemExit(f"run {run_id} {described['status']}: {described.get('message')}")
            if "vehicles.mll" in described.get("outputs", []):
                break
            time.sleep(2)
        run_s = time.monotonic() - run_started
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": "ml_token", "value": token, "url": url}])
    page = context.new_page()
    page.goto(f"{url}/#/s/{scenario_id}")
    page.wait_for_function("() => window.metaliverpool?.room?.synced", timeout=60_000)
    page.click("button[data-tab=Runs]")
    page.click("li[data-status=done] button.compare", timeout=30_000)
    page.click("#show-vehicles", timeout=60_000)
    page.wait_for_selector("#play", state="visible", timeout=60_000)
    vehicles = int(page.evaluate("() => window.metaliverpool.view.vehicles.length"))
    measured = playback(page, play_s)
    context.close()
    rounded = {key: round(value, 1) for key, value in measured.items()}
    return {"twin": twin_id, "run_s": round(run_s, 1), "vehicles": vehicles, **rounded}


def main() -> None:
    from playwright.sync_api import sync_playwright

    from metaliverpool.config import data_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--twin", type=Path, default=None)
    parser.add_argument("--loads", type=int, default=5)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--play-s", type=float, default=5.0)
    parser.add_argument("--no-playback", action="store_true")
    args = parser.parse_args()
    data = args.data or data_dir()
    if not (REPO / "web" / "dist" / "index.html").is_file():
        raise SystemExit("web client not built: run `make web`")
    with tempfile.TemporaryDirectory() as folder:
        twin = args.twin
        if twin is None:
            from web.twin_fixture import write_grid_twin

            twin = write_grid_twin(Path(folder) / "grid")
        process, url = start_server(twin, data, Path(folder) / "state")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                paints = first_paints(browser, url, args.loads)
                print("first paints (ms):", [round(p) for p in paints], flush=True)
                clicks = clicks_to_panel(browser, url, args.clicks)
                print("clicks to panel (ms):", [round(c) for c in clicks], flush=True)
                played = None if args.no_playback else vehicle_playback(browser, url, args.play_s)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    figures: dict[str, Any] = {
        "first_paint_ms": {"median": round(statistics.median(paints)), "min": round(min(paints)),
                           "max": round(max(paints)), "loads": len(paints)},
        "click_to_panel_ms": {"median": round(statistics.median(clicks)), "max": round(max(clicks)),
                              "clicks": len(clicks)},
        "playback": played,
    }  # fmt: skip
    print(
        f"first paint of /      median {figures['first_paint_ms']['median']} ms "
        f"({figures['first_paint_ms']['min']}-{figures['first_paint_ms']['max']}; target < 2000)"
    )
    print(
        f"click to panel        median {figures['click_to_panel_ms']['median']} ms "
        f"(max {figures['click_to_panel_ms']['max']}; target < 300)"
    )
    if played:
        print(
            f"playback ({played['vehicles']} vehicles)  {played['fps']} frames/s (target >= 20), "
            f"pause {played['pause_ms']} ms (target < 100)"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Helpers of the browser tests (Playwright in Debian's Chromium): accounts and scenarios over REST, a
scenario page opened as a user, and page points of the map's features. The fixtures (``browser``,
``web_dist``, ``shared_server``) are in ``conftest.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, BrowserContext, Page

from web.conftest import ProcessServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def account(server: ProcessServer, name: str) -> str:
    """Sign ``name`` up and in; returns the bearer token (names are unique per server)."""
    with httpx.Client(base_url=server.url) as client:
        client.post("/api/auth/signup", json={"name": name, "password": "correct-horse"}).raise_for_status()
        response = client.post("/api/auth/signin", json={"name": name, "password": "correct-horse"})
        response.raise_for_status()
        return str(response.json()["token"])


def rest(server: ProcessServer, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        return client.request(method, path, **kwargs)


def shared_scenario(
    server: ProcessServer, tokens: dict[str, str], owner: str, members: dict[str, str]
) -> int:
    """A scenario of ``owner`` with ``members`` (name -> role)."""
    created = rest(
        server, tokens[owner], "POST", "/api/scenarios", json={"twin_id": "test-grid", "name": "Live"}
    )
    scenario_id = int(created.json()["scenario_id"])
    for name, role in members.items():
        response = rest(
            server, tokens[owner], "PUT", f"/api/scenarios/{scenario_id}/members/{name}", json={"role": role}
        )
        response.raise_for_status()
    return scenario_id


def open_as(
    browser: Browser, server: ProcessServer, token: str, scenario_id: int, timeout_ms: int = 30_000
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.add_cookies([{"name": "ml_token", "value": token, "url": server.url}])
    page = context.new_page()
    page.goto(f"{server.url}/#/s/{scenario_id}")
    page.wait_for_function(
        "() => window.metaliverpool && window.metaliverpool.firstPaintMs !== null"
        " && window.metaliverpool.room.synced",
        timeout=timeout_ms,
    )
    return context, page


def link_point(page: Page, osm_way_id: int, fraction: float = 0.5) -> tuple[float, float]:
    """Page pixel of a point along the first link of an OSM way."""
    return tuple(
        page.evaluate(
            """([way, fraction]) => {
                const h = window.metaliverpool, links = h.view.layers.links;
                const ways = links.columns.osm_way_id, start = links.columns.path_start;
                const pos = links.columns.positions;
                const i = ways.findIndex((w) => w === way);
                const a = start[i], b = start[i + 1] - 1;
                const lon = pos[2 * a] + (pos[2 * b] - pos[2 * a]) * fraction;
                const lat = pos[2 * a + 1] + (pos[2 * b + 1] - pos[2 * a + 1]) * fraction;
                const p = h.map.project([lon, lat]);
                const box = document.getElementById("map").getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            [osm_way_id, fraction],
        )
    )  # type: ignore[return-value]


def lonlat_point(page: Page, lon: float, lat: float) -> tuple[float, float]:
    return tuple(
        page.evaluate(
            """([lon, lat]) => {
                const p = window.metaliverpool.map.project([lon, lat]);
                const box = document.getElementById("map").getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            [lon, lat],
        )
    )  # type: ignore[return-value]

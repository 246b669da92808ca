"""The public map in Debian's Chromium, as a visitor without an account: districts, services and stations
are drawn, land and water differ, a search finds a station, a hospital's details open on click, the
controls are labelled, and no request leaves the origin. A slow test paints the real region."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from web.browser_pages import account
from web.conftest import ProcessServer
from web.png import decode_png
from web.region_fixture import HOSPITAL, RIVER_LON, SOUTH_NORTH, STATION

pytestmark = pytest.mark.browser
LAND_RGB = (0xF4, 0xF1, 0xEA)
WATER_RGB = (0x9F, 0xC4, 0xDC)


def open_visitor(browser: Browser, url: str) -> tuple[Any, Page, list[str]]:
    """A fresh context (no cookie) on ``url``, waiting for the first paint; and the requests it made."""
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    page.wait_for_function(
        "() => window.metaliverpool?.publicMap?.firstPaintMs != null"
        " && window.metaliverpool.publicMap.loaded.length === 7",
        timeout=60_000,
    )
    page.wait_for_function("() => window.metaliverpool.publicMap.map.loaded()", timeout=30_000)
    return context, page, requests


def screen_point(page: Page, lon: float, lat: float) -> tuple[float, float]:
    """Page pixel of a map coordinate."""
    x, y = page.evaluate(
        """([lon, lat]) => {
            const map = window.metaliverpool.publicMap.map, p = map.project([lon, lat]);
            const box = map.getCanvas().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        [lon, lat],
    )
    return float(x), float(y)


def rendered(page: Page, layer: str) -> list[str]:
    return sorted(
        page.evaluate(
            "(layer) => window.metaliverpool.publicMap.map.queryRenderedFeatures({layers: [layer]})"
            ".map((f) => f.properties.name)",
            layer,
        )
    )


def test_visitor_sees_the_region(browser: Browser, region_server: ProcessServer) -> None:
    context, page, requests = open_visitor(browser, f"{region_server.url}/")
    try:
        assert page.is_visible("#signin-link")
        assert "Westshire" in page.inner_text("#public-map") and "Eastham" in page.inner_text("#public-map")
        assert set(rendered(page, "land")) == {"Eastham", "Westshire"}
        assert HOSPITAL[0] in rendered(page, "services")
        assert STATION[0] in rendered(page, "stations")
        # land and water differ on screen: a point in each district and one in the river between them
        middle = sum(SOUTH_NORTH) / 2 - 0.02
        image = decode_png(page.screenshot())
        x_land, y_land = screen_point(page, -2.92, middle)
        x_water, y_water = screen_point(page, RIVER_LON, middle)
        land = tuple(int(v) for v in image[int(y_land), int(x_land), :3])
        water = tuple(int(v) for v in image[int(y_water), int(x_water), :3])
        assert land == LAND_RGB and water == WATER_RGB
        # every control is labelled
        unlabelled = page.evaluate(
            """() => Array.from(document.querySelectorAll('input, select')).filter((c) =>
                 !(c.labels && c.labels.length) && !c.getAttribute('aria-label')).map((c) => c.id)"""
        )
        assert unlabelled == []
        first_paint_ms = page.evaluate("() => window.metaliverpool.publicMap.firstPaintMs")
        assert first_paint_ms < 10_000
    finally:
        context.close()
    origin = region_server.url
    assert requests and all(url.startswith((origin, "data:", "blob:")) for url in requests), requests


def test_search_and_details(browser: Browser, region_server: ProcessServer) -> None:
    context, page, _ = open_visitor(browser, f"{region_server.url}/")
    try:
        page.fill("#search", "Lime Street")
        page.click("#search-go")
        page.wait_for_selector(f"#search-results button:has-text('{STATION[0]}')", timeout=10_000)
        assert "street or road" in page.inner_text("#search-results")
        page.click(f"#search-results button:has-text('{STATION[0]}')")
        centre = page.evaluate("() => window.metaliverpool.publicMap.map.getCenter().toArray()")
        assert centre == pytest.approx([STATION[1], STATION[2]], abs=1e-4)
        page.evaluate(
            "([lon, lat]) => window.metaliverpool.publicMap.map.jumpTo({center: [lon, lat], zoom: 12})",
            [HOSPITAL[1] + 0.01, HOSPITAL[2]],
        )
        page.wait_for_function("() => window.metaliverpool.publicMap.map.loaded()", timeout=30_000)
        x, y = screen_point(page, HOSPITAL[1], HOSPITAL[2])
        page.mouse.click(x, y)
        page.wait_for_selector("#details:not([hidden])", timeout=5_000)
        assert page.inner_text("#details-title") == HOSPITAL[0]
        assert "L1 1AA" in page.inner_text("#details")
        page.click("#close-details")
        assert page.is_hidden("#details")
    finally:
        context.close()


@pytest.mark.slow
def test_real_region_first_paint(browser: Browser, twin_dir: Path, tmp_path: Path, web_dist: Path) -> None:
    """The real data folder: the first paint of `/` (layers loaded and drawn), measured in the page."""
    from metaliverpool.config import data_dir

    data = data_dir()
    if not (data / "boundaries").is_dir():
        pytest.skip(f"no region data at {data}")
    server = ProcessServer(twin_dir, tmp_path / "state", web_dir=web_dist, region_data=str(data)).start()
    try:
        context, page, requests = open_visitor(browser, f"{server.url}/")
        try:
            assert len(rendered(page, "land")) >= 6
            assert "Liverpool" in page.inner_text("#public-map")
            first_paint_ms = page.evaluate("() => window.metaliverpool.publicMap.firstPaintMs")
            print(f"first paint of / on the real region: {first_paint_ms:.0f} ms")
            assert first_paint_ms < 10_000
        finally:
            context.close()
        assert all(url.startswith((server.url, "data:", "blob:")) for url in requests)
    finally:
        server.stop()


def test_sign_in_from_the_map_and_back(browser: Browser, region_server: ProcessServer) -> None:
    """The map's Sign in button opens the form; a signed-in user's `/` is the scenario list, with a link
    back to the map."""
    token = account(region_server, "mapvisitor")
    context, page, _ = open_visitor(browser, f"{region_server.url}/")
    try:
        page.click("#signin-link")
        page.wait_for_selector("#signin", timeout=10_000)
        context.add_cookies([{"name": "ml_token", "value": token, "url": region_server.url}])
        page.goto(f"{region_server.url}/")
        page.wait_for_selector("#scenarios", state="attached", timeout=10_000)
        assert page.inner_text("#me") == "mapvisitor"
        page.click("#public-map-link")
        page.wait_for_function("() => window.metaliverpool?.publicMap?.loaded.length === 7", timeout=30_000)
        assert page.is_visible("#my-scenarios") and not page.is_visible("#signin-link")
    finally:
        context.close()

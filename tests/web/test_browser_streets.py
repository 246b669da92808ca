"""Editing the way people think, through the UI in Debian's Chromium on the named-streets twin: a click
selects a street between junctions, grown and shortened junction by junction, with its current values and
only valid choices, each edit checked in place naming the street and conflicts flagged; a signal selects
all the signal nodes of its junction, named by its streets; a drawn low-traffic neighbourhood shows its
filters, cells and rat-runs at once, or says why it changes nothing; the search box finds a street."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from web.browser_pages import account, link_point, lonlat_point, open_as
from web.conftest import ProcessServer
from web.streets_fixture import REGION, SOUTH_DEG, STEP_DEG, WEST_DEG, write_streets_twin


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, web_dist: Path) -> Iterator[ProcessServer]:
    twin = write_streets_twin(tmp_path_factory.mktemp("streets-web") / "twin")
    process = ProcessServer(twin, tmp_path_factory.mktemp("streets-web-state"), web_dir=web_dist).start()
    yield process
    process.stop()


def scenario_page(browser: Browser, server: ProcessServer, name: str) -> tuple[Any, Page]:
    token = account(server, name)
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        created = client.post("/api/scenarios", json={"twin_id": REGION, "name": "Streets"})
        created.raise_for_status()
    return open_as(browser, server, token, int(created.json()["scenario_id"]))


def edits(page: Page) -> list[dict[str, Any]]:
    entries = page.evaluate("() => Array.from(window.metaliverpool.room.edits.values())")
    return [entry["edit"] for entry in sorted(entries, key=lambda e: e["created_at_s"])]


def highlighted_rows(page: Page) -> int:
    return int(page.evaluate("() => window.metaliverpool.view.highlights[0].rows.length"))


def test_a_street_between_junctions_its_values_and_checks_in_place(
    browser: Browser, server: ProcessServer
) -> None:
    context, page = scenario_page(browser, server, "sue")
    try:
        page.mouse.click(*link_point(page, 10))  # the west end of Dale Street
        page.wait_for_selector("#street-extent")
        assert page.inner_text("#street-name") == "Dale Street"
        assert (
            "between Crosshall Street (west) and Sir Thomas Street / Stanley Street (east)"
            in page.inner_text("#street-extent")
        )
        assert highlighted_rows(page) == 4  # both directions of two links, through the unnamed-free node 11
        assert "280 m further along Dale Street" in page.inner_text("#street-beyond")
        assert page.is_disabled("#extend-before") and page.is_disabled("#shorten-after")

        page.click("#extend-after")
        page.wait_for_function(
            "() => document.getElementById('street-extent').textContent.includes('Hatton Garden')"
        )
        assert highlighted_rows(page) == 8
        page.click("#extend-after")
        page.wait_for_function(
            "() => document.getElementById('street-extent').textContent.includes('Castle Street')"
        )
        assert page.is_disabled("#extend-after") and page.query_selector("#street-beyond") is None
        page.click("#shorten-after")
        page.wait_for_function(
            "() => document.getElementById('street-extent').textContent.includes('Hatton Garden')"
        )

        assert page.inner_text("#street-now").startswith("Now: 2 lanes each way · 30 mph · primary")
        options = page.eval_on_selector_all("#mph option", "(os) => os.map((o) => o.value)")
        assert options == ["20", "40", "50", "60", "70"]  # UK limits, not the current 30
        assert "2" not in page.eval_on_selector_all("#lanes option", "(os) => os.map((o) => o.value)")

        page.select_option("#mph", "20")
        page.click("#set-speed")
        page.wait_for_selector('#edit-status[data-check="ok"]', timeout=10_000)
        assert "20 mph on Dale Street" in page.inner_text("#edit-status")
        assert edits(page)[0]["osm_way_ids"] == [10, 11]

        # a second limit on the same street: refused in place, naming the street and the first edit
        page.select_option("#mph", "40")
        page.click("#set-speed")
        page.wait_for_selector('#edit-status[data-check="refused"]', timeout=10_000)
        refusal = page.inner_text("#edit-status")
        assert (
            "edit 2 (40 mph on Dale Street)" in refusal
            and "conflicts with edit 1 (20 mph on Dale Street)" in refusal
        )
        page.wait_for_selector('#edits li[data-number="2"][data-check="refused"]')
        listed = page.inner_text("#edits")
        assert "20 mph on Dale Street" in listed and "OSM" not in listed and "way 1" not in listed
    finally:
        context.close()


def test_a_one_lane_street_offers_no_bus_lane(browser: Browser, server: ProcessServer) -> None:
    context, page = scenario_page(browser, server, "tom")
    try:
        page.mouse.click(*link_point(page, 50))  # Temple Street
        page.wait_for_selector("#road-panel")
        assert page.inner_text("#street-name") == "Temple Street"
        assert page.is_disabled("#bus-lane")
        assert "Temple Street has 1 lane in a direction" in page.inner_text("#bus-lane-reason")
    finally:
        context.close()


def test_a_junction_is_all_its_signal_nodes_named_by_its_streets(
    browser: Browser, server: ProcessServer
) -> None:
    context, page = scenario_page(browser, server, "ula")
    try:
        page.mouse.click(*lonlat_point(page, WEST_DEG + 2 * STEP_DEG, SOUTH_DEG + 2 * STEP_DEG))
        page.wait_for_selector("#junction-panel")
        assert page.inner_text("#junction-name") == "Dale Street / Sir Thomas Street / Stanley Street"
        assert "2 signal nodes run as one junction" in page.inner_text("#junction-now")
        page.click("#ai-loop-here")
        page.wait_for_selector('#edit-status[data-check="refused"]', timeout=10_000)  # static engine
        assert edits(page)[0]["osm_node_ids"] == [712, 717]
        assert "AI signal control of Dale Street / Sir Thomas Street / Stanley Street" in page.inner_text(
            "#edits"
        )
    finally:
        context.close()


def draw(page: Page, corners: list[tuple[float, float]]) -> None:
    """Draw an area by clicking its corners (the map zoomed out one step so that all are on it)."""
    page.evaluate("() => { const m = window.metaliverpool.map; m.jumpTo({ zoom: m.getZoom() - 1 }); }")
    page.click("#draw")
    for lon, lat in corners:
        page.mouse.click(*lonlat_point(page, lon, lat))
    page.click("#finish-draw")


def test_a_drawn_neighbourhood_shows_filters_cells_and_rat_runs(
    browser: Browser, server: ProcessServer
) -> None:
    context, page = scenario_page(browser, server, "vic")
    try:
        m = STEP_DEG / 4
        west, east = WEST_DEG - m, WEST_DEG + 4 * STEP_DEG + m
        south, north = SOUTH_DEG - m, SOUTH_DEG + 2 * STEP_DEG + m
        draw(page, [(west, south), (east, south), (east, north), (west, north)])
        page.wait_for_selector("#ltn-summary", timeout=15_000)
        summary = page.inner_text("#ltn-summary")
        assert "3 modal filters, 3 cells; closes 4 of 4 rat-runs between its boundary roads" in summary
        runs = page.inner_text("#ltn-rat-runs")
        assert "Crosshall Street → Castle Street via Temple Street" in runs
        assert (
            "Victoria Street → Sir Thomas Street / Dale Street via Stanley Street" in runs
            or "via Stanley Street" in runs
        )
        assert page.evaluate("() => window.metaliverpool.view.markers.length") == 3
        assert "on Temple Street" in page.inner_text("#ltn-filters")

        # north of Dale Street there is no side street wholly inside: it changes nothing, and says why
        a, b = WEST_DEG + 1.5 * STEP_DEG, WEST_DEG + 3.5 * STEP_DEG
        c, d = SOUTH_DEG + 2.25 * STEP_DEG, SOUTH_DEG + 3.25 * STEP_DEG
        draw(page, [(a, c), (b, c), (b, d), (a, d)])
        page.wait_for_selector("#ltn-nothing", timeout=15_000)
        assert "changes nothing" in page.inner_text("#ltn-nothing")
        assert "contains no street of the classes residential" in page.inner_text("#ltn-nothing")
    finally:
        context.close()


def test_the_search_box_selects_a_street(browser: Browser, server: ProcessServer) -> None:
    context, page = scenario_page(browser, server, "wyn")
    try:
        page.fill("#editor-search", "dale")
        page.click('#editor-search-results [data-street="Dale Street"]')
        page.wait_for_selector("#street-extent")
        assert page.inner_text("#street-name") == "Dale Street"
        assert highlighted_rows(page) >= 4
    finally:
        context.close()

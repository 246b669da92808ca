"""Accessibility (WCAG 2.2 AA) and responsiveness in Debian's Chromium with software WebGL: axe-core finds
no serious or critical violation on any page (public map, sign-in, scenario list, scenario editor, results,
report); the map's features are reachable from the keyboard through the list of what is in view; a click on
the map opens its panel within 300 ms; the vehicles play and pause (their frame rate and pause latency
against the targets are bench/map.py's); the public map is usable on a 390 x 844 phone screen."""

from __future__ import annotations

import statistics

import pytest
from playwright.sync_api import Browser, Page

from web.a11y import axe_violations, click_to_panel_ms, playback
from web.browser_pages import account, open_as, rest, shared_scenario
from web.conftest import ProcessServer
from web.region_fixture import HOSPITAL, STATION
from web.test_browser_public import open_visitor, screen_point

pytestmark = pytest.mark.browser


def assert_axe_clean(page: Page, where: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{where}: {violations}"


def test_public_map_and_sign_in_pass_axe(browser: Browser, region_server: ProcessServer) -> None:
    context, page, _ = open_visitor(browser, f"{region_server.url}/")
    try:
        assert_axe_clean(page, "public map")
        page.select_option("#areas", "health_decile")  # a domain: its legend, titled by its name
        assert page.is_visible("#imd-legend") and "Health and disability" in page.inner_text("#imd-legend")
        x, y = screen_point(page, HOSPITAL[1], HOSPITAL[2])
        page.mouse.click(x, y)
        page.wait_for_selector("#details:not([hidden])")
        assert_axe_clean(page, "public map with details and a domain shown")
        page.click("#signin-link")
        page.wait_for_selector("#signin")
        assert_axe_clean(page, "sign-in")
    finally:
        context.close()


def test_map_features_open_from_the_keyboard(browser: Browser, region_server: ProcessServer) -> None:
    """Tab to the list of what is in view, open a station with Enter: the details take the focus, Escape
    gives it back to the list; a search result opens the same details."""
    context, page, _ = open_visitor(browser, f"{region_server.url}/")
    try:
        page.wait_for_selector(f"#features button:has-text('{STATION[0]}')")
        page.focus("#search")
        for _ in range(60):  # Tab through the side panel until the station's button has the focus
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.textContent") == STATION[0]:
                break
        else:
            pytest.fail("the station is not reachable with Tab")
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"  # visible focus
        page.keyboard.press("Enter")
        page.wait_for_selector("#details:not([hidden])")
        assert page.inner_text("#details-title") == STATION[0]
        assert page.evaluate("() => document.activeElement.id") == "details-title"
        page.keyboard.press("Escape")
        assert page.is_hidden("#details")
        assert page.evaluate("() => document.activeElement.textContent") == STATION[0]
        page.fill("#search", "riverside gen")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#search-results button:has-text('{HOSPITAL[0]}')")
        page.focus(f"#search-results button:has-text('{HOSPITAL[0]}')")
        page.keyboard.press("Enter")
        page.wait_for_selector("#details:not([hidden])", timeout=10_000)
        assert page.inner_text("#details-title") == HOSPITAL[0]
    finally:
        context.close()


def test_a_map_click_opens_its_panel_within_300_ms(browser: Browser, region_server: ProcessServer) -> None:
    context, page, _ = open_visitor(browser, f"{region_server.url}/")
    try:
        x, y = screen_point(page, HOSPITAL[1], HOSPITAL[2])
        times_ms = [click_to_panel_ms(page, x, y, "#details") for _ in range(5)]
        assert page.inner_text("#details-title") == HOSPITAL[0]
        assert statistics.median(times_ms) < 300, times_ms
    finally:
        context.close()


def test_the_public_map_on_a_phone(browser: Browser, region_server: ProcessServer) -> None:
    """390 x 844: nothing wider than the screen, the map takes a good share of it, search, the layers and a
    click on a feature work, and the details fit on the screen."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(f"{region_server.url}/")
        page.wait_for_function("() => window.metaliverpool?.publicMap?.loaded.length === 7", timeout=60_000)
        page.wait_for_function("() => window.metaliverpool.publicMap.map.loaded()", timeout=30_000)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        box = page.locator("#public-map").bounding_box()
        assert box and box["width"] >= 380 and box["height"] >= 380, box
        assert page.is_visible("#search") and page.is_visible("#signin-link")
        page.fill("#search", "Lime Street")
        page.click("#search-go")
        page.wait_for_selector(f"#search-results button:has-text('{STATION[0]}')")
        page.evaluate(
            "([lon, lat]) => window.metaliverpool.publicMap.map.jumpTo({center: [lon, lat], zoom: 13})",
            [HOSPITAL[1], HOSPITAL[2]],
        )
        page.wait_for_function("() => window.metaliverpool.publicMap.map.loaded()", timeout=30_000)
        page.touchscreen.tap(*screen_point(page, HOSPITAL[1], HOSPITAL[2]))
        page.wait_for_selector("#details:not([hidden])", timeout=5_000)
        details = page.locator("#details").bounding_box()
        assert details and details["x"] >= 0 and details["x"] + details["width"] <= 390, details
        assert_axe_clean(page, "public map on a phone")
    finally:
        context.close()


def test_signed_in_pages_results_report_and_playback(browser: Browser, region_server: ProcessServer) -> None:
    """The scenario list, the editor (every tab), a dynamic run's results and report pass axe; its vehicles
    play and pause."""
    tokens = {"ada": account(region_server, "ada")}
    scenario_id = shared_scenario(region_server, tokens, "ada", {})
    context, page = open_as(browser, region_server, tokens["ada"], scenario_id)
    try:
        for tab in ("Edit", "Layers", "Comments", "Versions", "Runs", "Sharing"):
            button = page.locator(f"button[data-tab={tab}]")
            if button.count():
                button.click()
                assert_axe_clean(page, f"scenario editor, {tab} tab")
        page.evaluate(
            """() => window.metaliverpool.room.edits.set("more", {
                edit: { kind: "demand_change", percent: 50 }, author: "ada",
                created_at_s: Date.now() / 1000 })"""
        )
        page.click("button[data-tab=Runs]")
        page.select_option("#run-engine", "dynamic")
        page.fill("#run-seeds", "1")
        page.wait_for_selector("#start-run:not([disabled])", timeout=15_000)
        page.click("#start-run")
        page.wait_for_selector("li[data-status=done] button.compare", timeout=300_000)
        page.click("li[data-status=done] button.compare")
        page.wait_for_selector("#compare")
        assert_axe_clean(page, "results")
        page.wait_for_selector("#show-vehicles", timeout=240_000)
        page.click("#show-vehicles")
        page.wait_for_selector("#play", state="visible", timeout=30_000)
        # the clock advances while playing and stops at Pause; the frame rate and pause latency targets
        # (20 a second, 100 ms) are measured by bench/map.py: on this shared 2-core machine they depend
        # on what else runs (docs/web.md), so the test bounds them loosely
        measured = playback(page, 3.0)
        assert measured["advanced_s"] > 0 and measured["moved_after_pause_s"] == 0, measured
        assert measured["fps"] >= 2 and measured["pause_ms"] < 1000, measured
        assert_axe_clean(page, "results with vehicles")
        run_id = int(page.get_attribute("li[data-status=done]", "data-run") or 0)
        page.goto(f"{region_server.url}/api/runs/{run_id}/report")
        assert_axe_clean(page, "report")
        page.goto(f"{region_server.url}/#/scenarios")
        page.wait_for_selector("#scenarios a", timeout=10_000)
        assert_axe_clean(page, "scenario list")
        assert rest(region_server, tokens["ada"], "GET", f"/api/runs/{run_id}").status_code == 200
    finally:
        context.close()

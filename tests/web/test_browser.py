"""The web client in Debian's Chromium (Playwright).

Two users live, named cursors, follow, a viewer, a crash and restart, and the map's pixels.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from web.browser_pages import account, link_point, lonlat_point, open_as, rest, shared_scenario
from web.conftest import ProcessServer
from web.png import decode_png

pytestmark = pytest.mark.browser

BACKGROUND_RGB = (242, 239, 233)  # #f2efe9, the map's background
PRIMARY_RGB = (252, 214, 164)  # primary roads (web/src/map.ts)
CLOSED_RGB = (204, 0, 0)  # a closed road (web/src/edits.ts)


@pytest.fixture
def server(twin_dir: Path, tmp_path: Path, web_dist: Path) -> Iterator[ProcessServer]:
    """A server of its own (the crash test kills it)."""
    process = ProcessServer(twin_dir, tmp_path / "state", web_dir=web_dist).start()
    yield process
    process.stop()


def pixel(page: Page, x: float, y: float, radius: int = 2) -> np.ndarray:
    """Median RGB of a small square of a real screenshot around page point (x, y)."""
    clip = {"x": x - radius, "y": y - radius, "width": 2 * radius + 1, "height": 2 * radius + 1}
    image = decode_png(page.screenshot(clip=clip))
    return np.median(image[..., :3].reshape(-1, 3), axis=0)


def close_to(rgb: np.ndarray, expected: tuple[int, int, int], tolerance: int = 30) -> bool:
    return bool(np.all(np.abs(rgb - np.asarray(expected)) <= tolerance))


def test_two_users_see_each_others_edits_within_a_second_and_named_cursors(
    browser: Browser, shared_server: ProcessServer
) -> None:
    server = shared_server
    tokens = {name: account(server, name) for name in ("alice", "bob")}
    scenario_id = shared_scenario(server, tokens, "alice", {"bob": "editor"})
    alice_context, alice = open_as(browser, server, tokens["alice"], scenario_id)
    bob_context, bob = open_as(browser, server, tokens["bob"], scenario_id)
    try:
        # presence: each sees the other in the room
        alice.wait_for_selector('#avatars [data-user="bob"]', timeout=5_000)
        bob.wait_for_selector('#avatars [data-user="alice"]', timeout=5_000)

        # A closes a road; B sees the edit within one second
        x, y = link_point(alice, 1004)
        alice.mouse.click(x, y)
        alice.wait_for_selector("#road-panel", timeout=5_000)
        assert "1004" in alice.inner_text("#road-panel")
        # clocks in the pages: when alice's click is dispatched, and when bob's edit list has been redrawn
        # (observers run in registration order, so this one runs after the app's own)
        alice.evaluate(
            """() => document.getElementById("close-road").addEventListener(
                "click", () => { window.clickedAtMs = Date.now(); }, { capture: true })"""
        )
        bob.evaluate(
            "() => window.metaliverpool.room.edits.observeDeep(() => { window.seenAtMs = Date.now(); })"
        )
        alice.click("#close-road")
        bob.wait_for_selector("#edits li[data-edit]", timeout=10_000)
        seen_after_ms = bob.evaluate("() => window.seenAtMs") - alice.evaluate("() => window.clickedAtMs")
        assert 0 <= seen_after_ms < 1000, seen_after_ms
        assert "Close" in bob.inner_text("#edits") and "alice" in bob.inner_text("#edits")

        # named cursors, both ways
        ax, ay = lonlat_point(alice, -2.9935, 53.4065)
        alice.mouse.move(ax, ay)
        alice.mouse.move(ax + 5, ay + 5)
        bob.wait_for_selector('.cursor[data-user="alice"]', timeout=3_000)
        assert bob.inner_text('.cursor[data-user="alice"] .label') == "alice"
        # the cursor is drawn where alice's mouse is, in bob's map coordinates
        cursor_box = bob.locator('.cursor[data-user="alice"]').bounding_box()
        expected_x, expected_y = lonlat_point(bob, -2.9935, 53.4065)
        assert cursor_box is not None
        assert abs(cursor_box["x"] + 2 - expected_x) < 25 and abs(cursor_box["y"] + 2 - expected_y) < 25
        bx, by = lonlat_point(bob, -2.9925, 53.4075)
        bob.mouse.move(bx, by)
        bob.mouse.move(bx + 5, by + 5)
        alice.wait_for_selector('.cursor[data-user="bob"]', timeout=3_000)
        assert alice.inner_text('.cursor[data-user="bob"] .label') == "bob"

        # B follows A's view
        bob.click('#avatars [data-user="alice"] button.follow')
        alice.evaluate("() => window.metaliverpool.map.jumpTo({center: [-2.992, 53.408], zoom: 17})")
        bob.wait_for_function(
            "() => { const c = window.metaliverpool.map.getCenter();"
            " return Math.abs(c.lng + 2.992) < 1e-4 && Math.abs(c.lat - 53.408) < 1e-4; }",
            timeout=3_000,
        )
    finally:
        alice_context.close()
        bob_context.close()


def test_viewer_cannot_edit(browser: Browser, shared_server: ProcessServer) -> None:
    server = shared_server
    tokens = {name: account(server, name) for name in ("amy", "carol")}
    scenario_id = shared_scenario(server, tokens, "amy", {"carol": "viewer"})
    alice_context, alice = open_as(browser, server, tokens["amy"], scenario_id)
    carol_context, carol = open_as(browser, server, tokens["carol"], scenario_id)
    try:
        assert carol.inner_text("#role") == "viewer"
        assert carol.is_visible("#viewer-note")
        x, y = link_point(carol, 1004)
        carol.mouse.click(x, y)
        carol.wait_for_selector("#road-panel")
        assert carol.is_disabled("#close-road")
        # bypass the disabled button: write straight into the shared document
        carol.evaluate(
            """() => window.metaliverpool.room.edits.set("forced", {
                edit: {kind: "close_road", osm_way_ids: [1004], id: "forced"},
                author: "carol", created_at_s: 1})"""
        )
        carol.wait_for_selector("#toast", state="visible", timeout=3_000)
        assert "viewer" in carol.inner_text("#toast")
        # refused before it was applied: nothing reached the others or the database, and a fresh page
        # (a fresh copy of the room's document) does not have it
        alice.wait_for_timeout(500)
        assert alice.evaluate("() => window.metaliverpool.room.edits.size") == 0
        edits = rest(server, tokens["amy"], "GET", f"/api/scenarios/{scenario_id}/edits").json()
        assert edits["edits"] == []
        carol_context.close()
        carol_context, carol = open_as(browser, server, tokens["carol"], scenario_id)
        assert carol.evaluate("() => window.metaliverpool.room.edits.size") == 0
    finally:
        alice_context.close()
        carol_context.close()


def test_killed_server_restarts_with_edits_comments_and_versions_intact(
    browser: Browser, server: ProcessServer
) -> None:
    tokens = {name: account(server, name) for name in ("alice", "bob")}
    scenario_id = shared_scenario(server, tokens, "alice", {"bob": "editor"})
    alice_context, alice = open_as(browser, server, tokens["alice"], scenario_id)
    bob_context, bob = open_as(browser, server, tokens["bob"], scenario_id)
    try:
        x, y = link_point(alice, 1004)
        alice.mouse.click(x, y)
        alice.click("#close-road")
        bob.wait_for_function("() => window.metaliverpool.room.edits.size === 1", timeout=2_000)
        comment = rest(
            server,
            tokens["bob"],
            "POST",
            f"/api/scenarios/{scenario_id}/comments",
            json={"text": "Check the school run", "lon": -2.993, "lat": 53.406},
        )
        assert comment.status_code == 201
        version = rest(
            server, tokens["alice"], "POST", f"/api/scenarios/{scenario_id}/versions", json={"name": "v1"}
        )
        assert version.status_code == 201
        x, y = link_point(alice, 1007)
        alice.mouse.click(x, y)
        alice.select_option("#lanes", "2")
        alice.click("#set-lanes")
        bob.wait_for_function("() => window.metaliverpool.room.edits.size === 2", timeout=2_000)

        server.kill()  # SIGKILL right after the last edit reached the other user
        alice.wait_for_selector(
            '#status[data-status="offline"], #status[data-status="connecting"]', timeout=5_000
        )
        server.start()

        edits = rest(server, tokens["alice"], "GET", f"/api/scenarios/{scenario_id}/edits").json()["edits"]
        assert sorted(edit["kind"] for edit in edits) == ["change_lanes", "close_road"]
        comments = rest(server, tokens["alice"], "GET", f"/api/scenarios/{scenario_id}/comments").json()
        assert [c["text"] for c in comments] == ["Check the school run"]
        versions = rest(server, tokens["alice"], "GET", f"/api/scenarios/{scenario_id}/versions").json()
        assert [(v["name"], v["author"], v["edit_count"]) for v in versions] == [("v1", "alice", 1)]

        # the open page reconnects by itself; a fresh page shows everything
        alice.wait_for_selector('#status[data-status="online"]', timeout=10_000)
        bob.reload()
        bob.wait_for_function(
            "() => window.metaliverpool && window.metaliverpool.room.synced", timeout=30_000
        )
        bob.wait_for_function("() => window.metaliverpool.room.edits.size === 2", timeout=5_000)
        assert "Check the school run" in bob.evaluate(
            "() => Array.from(window.metaliverpool.room.comments.values()).map((c) => c.text).join()"
        )
    finally:
        alice_context.close()
        bob_context.close()


def test_screenshot_shows_the_road_network_and_edits(browser: Browser, shared_server: ProcessServer) -> None:
    server = shared_server
    tokens = {"ann": account(server, "ann")}
    scenario_id = shared_scenario(server, tokens, "ann", {})
    context, page = open_as(browser, server, tokens["ann"], scenario_id)
    try:
        page.wait_for_timeout(300)
        # way 1005 runs along the primary row (grid row 1); the block centres have no road
        road = pixel(page, *link_point(page, 1005, 0.3))
        assert close_to(road, PRIMARY_RGB), road
        block = pixel(page, *lonlat_point(page, -2.994, 53.406))
        assert close_to(block, BACKGROUND_RGB, 8), block
        minor = pixel(page, *link_point(page, 1000, 0.3))
        assert not close_to(minor, BACKGROUND_RGB, 8), minor
        # closing the road turns it red on the map
        x, y = link_point(page, 1005)
        page.mouse.click(x, y)
        page.click("#close-road")
        page.mouse.click(*lonlat_point(page, -2.994, 53.406))  # deselect (selection widens the road)
        page.wait_for_timeout(300)
        closed = pixel(page, *link_point(page, 1005, 0.3))
        assert close_to(closed, CLOSED_RGB, 40), closed
        page.screenshot(path=str(server.state / "map.png"))
    finally:
        context.close()


def test_map_says_in_one_readable_line_what_the_twin_was_calibrated_against(
    browser: Browser, shared_server: ProcessServer
) -> None:
    server = shared_server
    tokens = {"cal": account(server, "cal")}
    scenario_id = shared_scenario(server, tokens, "cal", {})
    context, page = open_as(browser, server, tokens["cal"], scenario_id)
    try:
        line = page.locator("#calibration")
        assert line.inner_text() == "Not calibrated: demand is the prior (docs/validation.md)"
        box, wrap = line.bounding_box(), page.locator(".mapwrap").bounding_box()
        assert box is not None and wrap is not None
        inside = wrap["x"] <= box["x"] and box["x"] + box["width"] <= wrap["x"] + wrap["width"]
        assert inside and wrap["y"] <= box["y"] < wrap["y"] + 60, (box, wrap)  # on the map, at its top
        assert box["height"] < 40  # one line (two at most on a narrow map)
        size = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('#calibration')).fontSize)"
        )
        assert size >= 12
        # not hidden under the map's zoom buttons or the legend
        for other in (".maplibregl-ctrl-top-left", ".legend"):
            b = page.locator(other).first.bounding_box()
            assert b is not None
            apart = box["x"] >= b["x"] + b["width"] or b["x"] >= box["x"] + box["width"]
            assert apart or box["y"] >= b["y"] + b["height"] or b["y"] >= box["y"] + box["height"], other
    finally:
        context.close()


def test_congestion_forecast_layer_draws_the_server_forecast(
    browser: Browser, shared_server: ProcessServer, forecast_model: Path
) -> None:
    server = shared_server
    tokens = {"fay": account(server, "fay")}
    scenario_id = shared_scenario(server, tokens, "fay", {})
    context, page = open_as(browser, server, tokens["fay"], scenario_id)
    try:
        page.click("button[data-tab=Layers]")
        page.wait_for_selector("#forecast-on", timeout=10_000)
        assert page.input_value("#forecast-horizon") == "10"  # 30 min is not a horizon of this model
        page.check("#forecast-on")
        page.wait_for_function("() => window.metaliverpool.forecast !== null", timeout=10_000)
        drawn = page.evaluate(
            """() => {
                const f = window.metaliverpool.forecast, links = window.metaliverpool.view.layers.links;
                return { rows: f.rows, colours: f.colours, show: f.show, snapshot: f.snapshot,
                         ways: f.rows.map((r) => links.columns.osm_way_id[r]) };
            }"""
        )
        snapshot = drawn["snapshot"]
        assert drawn["show"] == "forecast" and len(drawn["rows"]) == 8
        # each colour is the band of the server's forecast level for that link
        bands = [(0.25, (26, 150, 65)), (0.5, (240, 200, 0)), (0.75, (240, 110, 20)), (1.01, (190, 0, 0))]
        for colour, level in zip(drawn["colours"], snapshot["level_forecast"], strict=True):
            expected = next(rgb for bound, rgb in bands if level < bound)
            assert tuple(colour[:3]) == expected, (colour, level)
        clock = page.text_content("#forecast-clock") or ""
        assert "now 07:" in clock and "→ 07:" in clock
        # on the map: a sensor link whose way carries one colour shows that colour
        by_way: dict[int, set[tuple[int, ...]]] = {}
        for way, colour in zip(drawn["ways"], drawn["colours"], strict=True):
            by_way.setdefault(int(way), set()).add(tuple(colour[:3]))
        way, colours = next((w, c) for w, c in by_way.items() if len(c) == 1)
        page.wait_for_timeout(300)
        seen = pixel(page, *link_point(page, way, 0.3))
        assert close_to(seen, next(iter(colours)), 40), (seen, colours)
        # "then" shows what was observed 10 minutes later (a held-out day)
        page.select_option("#forecast-show", "observed")
        page.wait_for_function("() => window.metaliverpool.forecast.show === 'observed'", timeout=10_000)
        observed = page.evaluate("() => window.metaliverpool.forecast.snapshot.level_observed_target")
        assert observed is not None and len(observed) == 8
        assert "mean error vs what happened" in (page.text_content("#forecast-summary") or "")
        page.screenshot(path=str(server.state / "forecast.png"))
    finally:
        context.close()


def test_ai_loop_edit_run_and_junction_layer(browser: Browser, shared_server: ProcessServer) -> None:
    server = shared_server
    tokens = {"gus": account(server, "gus")}
    scenario_id = shared_scenario(server, tokens, "gus", {})
    context, page = open_as(browser, server, tokens["gus"], scenario_id)
    try:
        # the signalised junction in the middle of the grid (node 4, OSM node 504): hand it to the loop
        page.mouse.click(*lonlat_point(page, -2.993, 53.407))
        page.wait_for_selector("#junction-panel")
        page.fill("#ai-threshold", "0.05")
        page.fill("#ai-horizon", "5")
        page.click("#ai-loop-here")
        page.wait_for_function("() => window.metaliverpool.room.edits.size === 1", timeout=5_000)
        (entry,) = page.evaluate("() => Array.from(window.metaliverpool.room.edits.values())")
        edit = entry["edit"]
        assert edit["kind"] == "ai_signal_control" and edit["osm_node_ids"] == [504]
        assert edit["risk_threshold"] == 0.05 and edit["horizon_min"] == 5 and edit["forecast"] == "trend"
        # the list names the junction by the server's check label once the check is back
        page.wait_for_function(
            "() => (document.querySelector('#edits')?.textContent || '').includes('AI signal control of')",
            timeout=15_000,
        )
        # the grid's 40 trips never load the junction enough: triple them, and sample every minute (the
        # editor keeps the 5-minute default; the morning here lasts 20 minutes)
        page.evaluate(
            """() => {
                const edits = window.metaliverpool.room.edits;
                const [id, entry] = Array.from(edits.entries())[0];
                edits.set(id, { ...entry, edit: { ...entry.edit, sample_interval_s: 60 } });
                edits.set("more", { edit: { kind: "demand_change", percent: 200, id: "more" },
                                    author: "gus", created_at_s: Date.now() / 1000 });
            }"""
        )
        page.click("button[data-tab=Runs]")
        page.select_option("#run-engine", "dynamic")
        page.fill("#run-seeds", "1")
        page.check("#run-decompose")  # split the AI loop's effect from the package's
        page.wait_for_selector("#start-run:not([disabled])", timeout=15_000)
        page.click("#start-run")
        page.wait_for_selector("li[data-status=done] button.compare", timeout=240_000)
        page.click("li[data-status=done] button.compare")
        page.wait_for_selector("#ai-loop", timeout=10_000)
        # the package without the loop and what the loop adds, labelled as the report labels them
        decomposition = page.text_content("#decomposition") or ""
        assert "package without the loop" in decomposition
        assert "Vehicle-kilometres per morning" in decomposition
        # the animation joins the run after it is done: the button appears only then (the panel polls)
        page.wait_for_selector("#show-vehicles", timeout=180_000)
        page.click("#show-vehicles")
        page.wait_for_selector("#time-slider", state="visible", timeout=10_000)
        junctions = page.evaluate("() => window.metaliverpool.aiJunctions")
        assert [j["osm_node_id"] for j in junctions] == [504]
        assert "1 of 1 signalised junctions" in (page.text_content("#ai-loop") or "")
        # the purple ring is drawn around the junction
        page.mouse.move(5, 5)
        page.wait_for_timeout(300)
        x, y = lonlat_point(page, -2.993, 53.407)
        image = decode_png(page.screenshot(clip={"x": x - 30, "y": y - 30, "width": 61, "height": 61}))
        purple = np.all(np.abs(image[..., :3].astype(int) - np.array([128, 0, 160])) <= 40, axis=-1)
        assert purple.sum() >= 20, purple.sum()
        page.screenshot(path=str(server.state / "ai-loop.png"))
    finally:
        context.close()


def test_client_and_api_docs_run_under_the_content_security_policy(
    browser: Browser, shared_server: ProcessServer
) -> None:
    token = account(shared_server, "csp")
    scenario_id = shared_scenario(shared_server, {"csp": token}, "csp", {})
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.add_cookies([{"name": "ml_token", "value": token, "url": shared_server.url}])
    page = context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(f"{shared_server.url}/#/s/{scenario_id}")
    page.wait_for_function(
        "() => window.metaliverpool && window.metaliverpool.firstPaintMs !== null"
        " && window.metaliverpool.room.synced",
        timeout=30_000,
    )
    page.goto(f"{shared_server.url}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    title = page.inner_text(".swagger-ui .info .title")
    context.close()
    assert "Meta Liverpool" in title
    assert refused == []

"""Public consultation in Debian's Chromium: the owner runs and publishes a scenario (Public tab); a
visitor without an account opens it from the public map's Consultations list, opens its report, supports
it and leaves a comment at a point (the page solves the proof-of-work); the owner finds the comment in
the moderation list, approves and answers it; the visitor sees the answer; the export links give the
comment as CSV and GeoJSON."""

from __future__ import annotations

import csv
import io
import json
import time

import httpx
import pytest
from playwright.sync_api import Browser, Page

from web.browser_pages import account, open_as, rest
from web.conftest import ProcessServer
from web.test_browser_public import screen_point
from web.twin_fixture import SOUTH_DEG, STEP_DEG, WEST_DEG

pytestmark = pytest.mark.browser
SPOT = (WEST_DEG + STEP_DEG * 1.5, SOUTH_DEG + STEP_DEG * 0.5)
"""Where the visitor's comment goes (lon, lat degrees), inside the grid twin."""


def finished_static_run(server: ProcessServer, token: str, scenario_id: int) -> int:
    """Run the scenario with the static engine (one seed) and wait until it is done."""
    started = rest(
        server, token, "POST", f"/api/scenarios/{scenario_id}/runs", json={"engine": "static", "seeds": [1]}
    )
    assert started.status_code == 202, started.text
    run_id = int(started.json()["run_id"])
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        run = rest(server, token, "GET", f"/api/runs/{run_id}").json()
        if run["status"] in ("done", "failed"):
            assert run["status"] == "done", run["message"]
            return run_id
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not finish in 240 s")


def visitor_page(browser: Browser, url: str) -> tuple[object, Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    page = context.new_page()
    page.goto(url)
    page.wait_for_function("() => window.metaliverpool?.publicMap?.map?.loaded()", timeout=60_000)
    return context, page


def test_a_visitor_comments_and_the_owner_moderates_and_answers(
    browser: Browser, region_server: ProcessServer
) -> None:
    server = region_server
    token = account(server, "olivia")
    created = rest(
        server,
        token,
        "POST",
        "/api/scenarios",
        json={"twin_id": "test-grid", "name": "Car-free grid", "description": "Closing the middle street"},
    )
    scenario_id = int(created.json()["scenario_id"])
    run_id = finished_static_run(server, token, scenario_id)

    owner_context, owner = open_as(browser, server, token, scenario_id)
    owner.click("button[data-tab=Public]")
    owner.click("#publish")
    owner.wait_for_selector("#public-link")
    assert rest(server, token, "GET", f"/api/scenarios/{scenario_id}").json()["published_at_s"] > 0

    visitor_context, visitor = visitor_page(browser, f"{server.url}/")
    try:
        visitor.click(f"button[data-consultation='{scenario_id}']")
        visitor.wait_for_selector("#consult-results table.kpis")
        assert visitor.text_content("#consult-heading") == "Car-free grid"
        report_href = visitor.get_attribute("#consult-report", "href")
        assert report_href == f"/api/public/consultations/{scenario_id}/report"
        report = visitor.request.get(f"{server.url}{report_href}")
        assert (
            report.status == 200
            and report.text() == rest(server, token, "GET", f"/api/runs/{run_id}/report").text
        )
        with visitor_context.expect_page() as opened:  # type: ignore[attr-defined]
            visitor.click("#consult-report")
        opened.value.wait_for_load_state()
        assert "<html" in opened.value.content().lower()

        visitor.click("#consult-support")
        visitor.wait_for_selector("#consult-support[aria-pressed=true]", timeout=30_000)
        assert visitor.text_content("#consult-counts") == "1 support, 0 oppose"

        visitor.click("#consult-place")
        visitor.mouse.click(*screen_point(visitor, *SPOT))
        visitor.fill("#consult-comment-text", "Please keep the bus stop on the corner")
        visitor.click("#consult-comment-send")
        visitor.wait_for_selector("#consult-comment-thanks", timeout=60_000)  # proof-of-work solved
        assert visitor.locator(".consult-comment").count() == 0  # hidden until approved

        owner.click("button[data-tab=Edit]")
        owner.click("button[data-tab=Public]")  # the tab refreshes when shown
        pending = owner.locator("li[data-status=pending]")
        pending.wait_for(timeout=30_000)
        assert "Please keep the bus stop on the corner" in (pending.text_content() or "")
        assert owner.locator(".consult-pin.pending").count() == 1
        pending.locator("button.approve").click()
        approved = owner.locator("li[data-status=approved]")
        approved.wait_for(timeout=30_000)
        approved.locator("textarea").fill("It stays: see the revised plan")
        approved.locator("button.save-answer").click()
        owner.wait_for_selector("li[data-status=approved] >> text=answered by olivia", timeout=30_000)

        visitor.goto(f"{server.url}/#/c/{scenario_id}")
        visitor.reload()
        visitor.wait_for_selector(".consult-answer", timeout=60_000)
        assert "It stays: see the revised plan" in (visitor.text_content(".consult-answer") or "")
        assert "Please keep the bus stop on the corner" in (visitor.text_content("#consult-comments") or "")
        assert visitor.locator(".consult-pin").count() == 1
        assert visitor.get_attribute("#consult-support", "aria-pressed") == "true"  # the cookie remembers

        csv_href = owner.get_attribute("#export-csv", "href") or ""
        rows = list(csv.DictReader(io.StringIO(owner.request.get(f"{server.url}{csv_href}").text())))
        assert [(r["status"], r["text"], r["answer"]) for r in rows] == [
            ("approved", "Please keep the bus stop on the corner", "It stays: see the revised plan")
        ]
        assert float(rows[0]["lon"]) == pytest.approx(SPOT[0], abs=2e-4)
        assert float(rows[0]["lat"]) == pytest.approx(SPOT[1], abs=2e-4)
        geojson_href = owner.get_attribute("#export-geojson", "href") or ""
        collection = json.loads(owner.request.get(f"{server.url}{geojson_href}").text())
        assert collection["features"][0]["geometry"]["type"] == "Point"
        assert httpx.get(f"{server.url}{csv_href}").status_code == 401  # not for visitors
    finally:
        visitor_context.close()  # type: ignore[attr-defined]
        owner_context.close()

"""The editor's edit checks and a finished run's results in Debian's Chromium, through the UI, on a real
server with the 3x3 grid twin: a refusal in place on the numbered edit list, Run disabled with the reason
(and the server's 422 shown if it comes), the numbering the server's, and a static run's labelled KPIs,
difference legend and no vehicle animation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page

from web.browser_pages import account, link_point, lonlat_point, open_as, rest, shared_scenario
from web.conftest import ProcessServer

pytestmark = pytest.mark.browser

MIDDLE_JUNCTION = (-2.993, 53.407)
"""The grid's signalised junction (node 4, OSM node 504)."""


def list_numbers(page: Page) -> list[tuple[int, str, str]]:
    """(number, edit id, check status) of each edit in the list, top to bottom."""
    return [
        (
            int(li.get_attribute("data-number") or 0),
            li.get_attribute("data-edit") or "",
            li.get_attribute("data-check") or "",
        )
        for li in page.query_selector_all("#edits li[data-edit]")
    ]


def wait_checked(page: Page, count: int) -> None:
    page.wait_for_function(
        f"""() => {{
            const items = document.querySelectorAll('#edits li[data-edit]');
            return items.length === {count}
                && Array.from(items).every((li) => li.dataset.check !== 'pending');
        }}""",
        timeout=15_000,
    )


def test_a_signal_edit_is_refused_in_place_for_the_static_engine(
    browser: Browser, shared_server: ProcessServer
) -> None:
    server = shared_server
    tokens = {"sig": account(server, "sig")}
    scenario_id = shared_scenario(server, tokens, "sig", {})
    context, page = open_as(browser, server, tokens["sig"], scenario_id)
    try:
        page.click("button[data-tab=Runs]")
        assert page.input_value("#run-engine") == "static"
        page.click("button[data-tab=Edit]")
        x, y = link_point(page, 1005)
        page.mouse.click(x, y)
        page.wait_for_selector("#road-panel")
        page.click("#close-road")
        page.mouse.click(*lonlat_point(page, *MIDDLE_JUNCTION))
        page.wait_for_selector("#junction-panel")
        page.fill("#cycle", "60")
        page.click("#set-plan")
        wait_checked(page, 2)
        (first, second) = list_numbers(page)
        assert first[0] == 1 and first[2] == "ok"
        assert second[0] == 2 and second[2] == "refused"
        refused = page.locator(f"#edits li[data-edit='{second[1]}'] .refusal")
        text = refused.text_content() or ""
        assert "Refused for the static engine" in text and "the static engine has no signals" in text
        assert "Street" in text, text  # the junction is named by its streets, as the server words it

        # Run is disabled with the reason, naming the edit by its number
        page.click("button[data-tab=Runs]")
        page.wait_for_selector("#start-run[disabled]")
        reason = page.text_content("#run-blocked") or ""
        assert reason.startswith("Run is off: edit 2 (") and "static engine has no signals" in reason

        # the server's 422 stays the final guard: forced past the disabled button, its message is shown
        page.evaluate("() => document.getElementById('start-run').removeAttribute('disabled')")
        page.click("#start-run")
        page.wait_for_function(
            "() => document.getElementById('run-blocked').textContent.startsWith('The server refused')"
        )
        assert "static engine has no signals" in (page.text_content("#run-blocked") or "")
        assert rest(server, tokens["sig"], "GET", f"/api/scenarios/{scenario_id}/runs").json() == []

        # the dynamic engine represents signals: the refusal goes, Run is enabled, the loop can be split
        assert not page.is_visible("#decompose-row")
        page.select_option("#run-engine", "dynamic")
        page.wait_for_selector("#start-run:not([disabled])", timeout=15_000)
        assert (page.text_content("#run-blocked") or "") == ""
        page.click("button[data-tab=Edit]")
        wait_checked(page, 2)
        assert [status for _, _, status in list_numbers(page)] == ["ok", "ok"]
        assert page.locator("#edits .refusal").count() == 0
        page.mouse.click(*lonlat_point(page, *MIDDLE_JUNCTION))
        page.wait_for_selector("#junction-panel")
        page.click("#ai-loop-here")
        wait_checked(page, 3)
        page.click("button[data-tab=Runs]")
        assert page.is_visible("#decompose-row")
        page.select_option("#run-engine", "static")
        assert not page.is_visible("#decompose-row")
    finally:
        context.close()


def test_the_edit_list_is_numbered_as_the_server_numbers_edits(
    browser: Browser, shared_server: ProcessServer
) -> None:
    server = shared_server
    tokens = {"num": account(server, "num")}
    scenario_id = shared_scenario(server, tokens, "num", {})
    context, page = open_as(browser, server, tokens["num"], scenario_id)
    try:
        # three edits made at the same instant: the server orders ties by id ("a" < "b" < "c"), whatever
        # the order they were added in; the fourth, later, comes last
        page.evaluate(
            """() => {
                const edits = window.metaliverpool.room.edits, at = Date.now() / 1000;
                const add = (id, edit, t) =>
                    edits.set(id, { edit: { ...edit, id }, author: "num", created_at_s: t });
                add("c", { kind: "change_lanes", osm_way_ids: [1002], lanes: 2 }, at);
                add("a", { kind: "close_road", osm_way_ids: [1005] }, at);
                add("b", { kind: "bus_lane", osm_way_ids: [1000] }, at);
                add("0-late", { kind: "speed_limit", osm_way_ids: [1003], speed_limit_mph: 20 }, at + 5);
            }"""
        )
        wait_checked(page, 4)
        shown = list_numbers(page)
        assert [(n, edit_id) for n, edit_id, _ in shown] == [(1, "a"), (2, "b"), (3, "c"), (4, "0-late")]
        server_check = rest(
            server, tokens["num"], "POST", f"/api/scenarios/{scenario_id}/check", json={"engine": "static"}
        ).json()
        kinds = {entry["edit"]: entry["kind"] for entry in server_check["edits"]}
        stored = {
            edit["id"]: edit["kind"]
            for edit in rest(server, tokens["num"], "GET", f"/api/scenarios/{scenario_id}/edits").json()[
                "edits"
            ]
        }
        assert {n: stored[edit_id] for n, edit_id, _ in shown} == kinds
        # the bus lane on a one-lane street is refused in place, under the server's number
        assert [status for _, _, status in shown] == ["ok", "refused", "ok", "ok"]
        assert server_check["edits"][1]["status"] == "refused"
        bus = page.text_content("#edits li[data-edit='b'] .refusal") or ""
        assert server_check["edits"][1]["message"] in bus and "Street 1000" in bus
    finally:
        context.close()


def test_a_finished_static_run_reads_plainly(browser: Browser, shared_server: ProcessServer) -> None:
    server = shared_server
    tokens = {"res": account(server, "res")}
    scenario_id = shared_scenario(server, tokens, "res", {})
    context, page = open_as(browser, server, tokens["res"], scenario_id)
    try:
        x, y = link_point(page, 1005)
        page.mouse.click(x, y)
        page.wait_for_selector("#road-panel")
        page.click("#close-road")
        # more demand, so the run changes something to read (the grid's routes all have the same length)
        page.evaluate(
            """() => window.metaliverpool.room.edits.set("more", {
                edit: { kind: "demand_change", percent: 50 }, author: "res",
                created_at_s: Date.now() / 1000 })"""
        )
        wait_checked(page, 2)
        page.click("button[data-tab=Runs]")
        page.fill("#run-seeds", "1")
        page.wait_for_selector("#start-run:not([disabled])", timeout=15_000)
        page.click("#start-run")
        page.wait_for_selector("li[data-status=done] button.compare", timeout=240_000)
        # the bar is at its end once the result is ready
        assert page.get_attribute("li[data-status=done] progress", "value") == "1"
        assert "static engine moves no vehicles" in (page.text_content("li[data-status=done]") or "")
        page.click("li[data-status=done] button.compare")
        page.wait_for_selector("#compare")

        # a one-screen summary first
        summary = page.text_content("#run-summary") or ""
        assert "What changes:" in summary and "For whom:" in summary and "How sure:" in summary
        assert "deterministic" in summary and "generalised cost" in summary
        # the same numbers as the report's "In short" (each bold figure of its three lines)
        run_id = int(page.get_attribute("li[data-status=done]", "data-run") or 0)
        report = rest(server, tokens["res"], "GET", f"/api/runs/{run_id}/report").text
        in_short = report[
            report.index("<ul class='summary'>") : report.index("</ul>", report.index("<ul class='summary'>"))
        ]
        figures = re.findall(r"<b>([-+0-9.,]+)</b>", in_short)
        assert len(figures) >= 5, in_short
        for figure in figures:
            assert figure in summary, (figure, summary)
        # labelled KPIs with units, "deterministic" and no interval
        vkm = page.locator("#kpi-table [data-key='network.vehicle_km']")
        assert (vkm.locator(".label").text_content() or "") == "Vehicle-kilometres per morning (veh-km)"
        assert (vkm.locator(".baseline").text_content() or "") == "baseline22"
        # every block shows the server's kpi_table as is, "deterministic" where there is no interval
        served = rest(server, tokens["res"], "GET", f"/api/runs/{run_id}").json()["kpi_table"]
        assert all(row["interval"] is None for row in served)
        for row in served:
            block = page.locator(f"#kpi-table [data-key='{row['key']}']")
            assert (block.locator(".change").text_content() or "") == (
                f"change{row['display']['change']} {row['display']['interval']}".rstrip()
            )
        change = vkm.locator(".change").text_content() or ""
        assert change.startswith("change+") and change.endswith(" deterministic") and "[" not in change
        table = page.text_content("#kpi-table") or ""
        assert "network:" not in table and "vehicle_km" not in table
        # the table fits in the side panel (nothing cut off)
        panel = page.eval_on_selector(".side", "e => e.getBoundingClientRect().right")
        right = page.eval_on_selector("#kpi-table", "e => e.getBoundingClientRect().right")
        overflow = page.eval_on_selector(".side", "e => e.scrollWidth - e.clientWidth")
        assert right <= panel and overflow == 0
        # the equity table is titled by what it measures (the static engine: generalised cost)
        assert (page.text_content("#equity-title") or "").startswith("Change in generalised cost")
        # no animation: the static engine moves no vehicles
        assert page.locator("#show-vehicles").count() == 0
        assert "static engine moves no vehicles" in (page.text_content("#no-animation") or "")
        assert page.locator("#decomposition").count() == 0

        # the legend matches the layer shown: a diverging difference scale with its units
        assert page.is_visible("#roads-legend") and not page.is_visible("#result-legend")
        page.select_option("#result-map", "difference")
        page.wait_for_selector("#difference-legend", state="visible")
        legend = page.text_content("#result-legend") or ""
        assert "veh/h" in legend and "less traffic" in legend and "more traffic" in legend
        assert not page.is_visible("#roads-legend")
        page.locator("#compare").screenshot(path=str(server.state / "results.png"))
        page.select_option("#result-map", "congestion")
        page.wait_for_selector("#congestion-legend", state="visible")
        assert page.locator("#difference-legend").count() == 0
        page.select_option("#result-map", "off")
        page.wait_for_selector("#roads-legend", state="visible")
        assert not page.is_visible("#result-legend")
    finally:
        context.close()

"""Safety nets in the web client, in Debian's Chromium through the UI: undo and redo per user, restoring a
version seen live by a colleague, rename, delete with a confirmation, removing a member, sharing by
searching user names, and the confirmation before removing a colleague's edit."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from web.browser_pages import account, link_point, open_as, rest, shared_scenario
from web.conftest import ProcessServer

pytestmark = pytest.mark.browser


def edit_authors(page: Page) -> list[str]:
    return sorted(
        page.evaluate("() => Array.from(window.metaliverpool.room.edits.values()).map((e) => e.author)")
    )


def edit_kinds(page: Page) -> list[str]:
    return sorted(
        page.evaluate("() => Array.from(window.metaliverpool.room.edits.values()).map((e) => e.edit.kind)")
    )


def wait_edits(page: Page, count: int) -> None:
    page.wait_for_function(f"() => window.metaliverpool.room.edits.size === {count}", timeout=5_000)


def close_road(page: Page, way: int) -> None:
    x, y = link_point(page, way)
    page.mouse.click(x, y)
    page.wait_for_selector("#road-panel", timeout=5_000)
    page.click("#close-road")


def test_undo_and_redo_are_per_user(browser: Browser, shared_server: ProcessServer) -> None:
    server = shared_server
    tokens = {name: account(server, name) for name in ("una", "rex")}
    scenario_id = shared_scenario(server, tokens, "una", {"rex": "editor"})
    una_context, una = open_as(browser, server, tokens["una"], scenario_id)
    rex_context, rex = open_as(browser, server, tokens["rex"], scenario_id)
    try:
        assert una.is_disabled("#undo") and una.is_disabled("#redo")
        close_road(una, 1004)
        wait_edits(rex, 1)
        x, y = link_point(rex, 1007)
        rex.mouse.click(x, y)
        rex.select_option("#lanes", "2")
        rex.click("#set-lanes")
        wait_edits(una, 2)

        # una's Ctrl+Z undoes her closure, not rex's later lanes edit, on both pages
        una.click("#scenario-name")  # focus outside any text field
        una.keyboard.press("Control+z")
        wait_edits(rex, 1)
        wait_edits(una, 1)
        assert edit_authors(rex) == ["rex"] and edit_kinds(una) == ["change_lanes"]
        assert una.is_disabled("#undo") and una.is_enabled("#redo")
        una.keyboard.press("Control+Shift+z")  # redo
        wait_edits(rex, 2)
        assert edit_kinds(rex) == ["change_lanes", "close_road"]

        # rex's Undo button undoes his own edit only
        rex.click("#undo")
        wait_edits(una, 1)
        assert edit_authors(una) == ["una"]
        rex.keyboard.press("Control+y")
        wait_edits(una, 2)
        stored = rest(server, tokens["una"], "GET", f"/api/scenarios/{scenario_id}/edits").json()["edits"]
        assert sorted(edit["kind"] for edit in stored) == ["change_lanes", "close_road"]
    finally:
        una_context.close()
        rex_context.close()


def test_restoring_a_version_is_seen_live_by_a_colleague(
    browser: Browser, shared_server: ProcessServer
) -> None:
    server = shared_server
    tokens = {name: account(server, name) for name in ("vera", "walt")}
    scenario_id = shared_scenario(server, tokens, "vera", {"walt": "editor"})
    vera_context, vera = open_as(browser, server, tokens["vera"], scenario_id)
    walt_context, walt = open_as(browser, server, tokens["walt"], scenario_id)
    try:
        close_road(vera, 1004)
        vera.click('button[data-tab="Versions"]')
        vera.fill("#version-name", "one closure")
        vera.click("#save-version")
        vera.wait_for_selector("#version-list li[data-version]", timeout=5_000)
        close_road(vera, 1007)
        wait_edits(walt, 2)

        vera.click('button[data-tab="Versions"]')
        vera.click("#version-list li[data-version] button.restore")
        vera.wait_for_selector("dialog#dialog[open]", timeout=3_000)
        assert "v1" in vera.inner_text("#dialog-title")
        vera.click("#dialog-confirm")
        wait_edits(walt, 1)  # walt's page took the restore live
        walt.wait_for_function(
            "() => document.querySelectorAll('#edits li[data-edit]').length === 1", timeout=5_000
        )
        vera.wait_for_selector("#toast", state="visible", timeout=5_000)
        assert "Restored v1" in vera.inner_text("#toast")
        versions = rest(server, tokens["walt"], "GET", f"/api/scenarios/{scenario_id}/versions").json()
        assert [v["name"] for v in versions] == ["before restoring v1", "one closure"]
        assert versions[0]["edit_count"] == 2

        # the restore is undone by restoring the version saved just before it
        vera.click("#undo-restore")
        vera.wait_for_selector("dialog#dialog[open]", timeout=3_000)
        assert "v2" in vera.inner_text("#dialog-title")
        vera.click("#dialog-confirm")
        wait_edits(walt, 2)
        assert edit_kinds(walt) == ["close_road", "close_road"]
    finally:
        vera_context.close()
        walt_context.close()


def test_rename_and_delete_with_a_confirmation(browser: Browser, shared_server: ProcessServer) -> None:
    server = shared_server
    tokens = {name: account(server, name) for name in ("olga", "eddie")}
    scenario_id = shared_scenario(server, tokens, "olga", {"eddie": "editor"})
    context, page = open_as(browser, server, tokens["olga"], scenario_id)
    eddie_context, eddie = open_as(browser, server, tokens["eddie"], scenario_id)
    try:
        assert eddie.is_visible("#rename") and eddie.locator("#delete-scenario").count() == 0  # owner only
        page.click("#rename")
        page.wait_for_selector("dialog#dialog[open]")
        assert page.evaluate("() => document.activeElement.id") == "dialog-input"
        page.fill("#dialog-input", "Dale Street trial")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.getElementById('scenario-name').textContent === 'Dale Street trial'",
            timeout=5_000,
        )
        assert rest(server, tokens["olga"], "GET", f"/api/scenarios/{scenario_id}").json()["name"] == (
            "Dale Street trial"
        )

        # delete: the dialog starts on Cancel; Escape and Cancel keep the scenario
        page.click("#delete-scenario")
        page.wait_for_selector("dialog#dialog[open]")
        assert page.evaluate("() => document.activeElement.id") == "dialog-cancel"
        assert "Dale Street trial" in page.inner_text("#dialog-text")
        page.keyboard.press("Escape")
        page.wait_for_selector("dialog#dialog", state="detached")
        page.click("#delete-scenario")
        page.click("#dialog-cancel")
        page.wait_for_selector("dialog#dialog", state="detached")
        assert rest(server, tokens["olga"], "GET", f"/api/scenarios/{scenario_id}").status_code == 200

        page.click("#delete-scenario")
        page.click("#dialog-confirm")
        page.wait_for_selector("#create", timeout=5_000)  # back on the list of scenarios
        assert rest(server, tokens["olga"], "GET", f"/api/scenarios/{scenario_id}").status_code == 404
        eddie.wait_for_selector("#toast", state="visible", timeout=5_000)  # eddie's socket was closed
    finally:
        context.close()
        eddie_context.close()


def test_share_by_search_and_remove_a_member(browser: Browser, shared_server: ProcessServer) -> None:
    server = shared_server
    tokens = {name: account(server, name) for name in ("ownie", "bertram", "bertha")}
    scenario_id = shared_scenario(server, tokens, "ownie", {"bertha": "editor"})
    context, page = open_as(browser, server, tokens["ownie"], scenario_id)
    bertha_context, bertha = open_as(browser, server, tokens["bertha"], scenario_id)
    try:
        page.click('button[data-tab="Sharing"]')
        page.click("#member-name")
        page.keyboard.type("ber")
        # suggestions: users whose name starts with "ber" and who are not members yet
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('#member-suggestions option')).map((o) => o.value)"
            ".join() === 'bertram'",
            timeout=5_000,
        )
        page.fill("#member-name", page.get_attribute("#member-suggestions option", "value") or "")
        page.select_option("#member-role", "viewer")
        page.click("#add-member")
        page.wait_for_selector('#members li[data-member="bertram"]', timeout=5_000)
        assert "viewer" in page.inner_text('#members li[data-member="bertram"]')

        # removing bertha asks first, then closes her open page and her access
        page.click('#members li[data-member="bertha"] button.remove-member')
        page.wait_for_selector("dialog#dialog[open]")
        assert "bertha" in page.inner_text("#dialog-title")
        page.click("#dialog-confirm")
        page.wait_for_selector('#members li[data-member="bertha"]', state="detached", timeout=5_000)
        bertha.wait_for_selector("#toast", state="visible", timeout=5_000)
        bertha.wait_for_selector('#status[data-status="offline"]', timeout=5_000)
        assert rest(server, tokens["bertha"], "GET", f"/api/scenarios/{scenario_id}").status_code == 404
    finally:
        context.close()
        bertha_context.close()


def test_removing_a_colleagues_edit_asks_first_and_names_the_author(
    browser: Browser, shared_server: ProcessServer
) -> None:
    server = shared_server
    tokens = {name: account(server, name) for name in ("ada", "cy")}
    scenario_id = shared_scenario(server, tokens, "ada", {"cy": "editor"})
    ada_context, ada = open_as(browser, server, tokens["ada"], scenario_id)
    cy_context, cy = open_as(browser, server, tokens["cy"], scenario_id)
    try:
        close_road(ada, 1004)
        wait_edits(cy, 1)
        cy.click("#edits li[data-edit] button.remove")
        cy.wait_for_selector("dialog#dialog[open]")
        assert "ada" in cy.inner_text("#dialog-text") and "ada" in cy.inner_text("#dialog-confirm")
        cy.click("#dialog-cancel")
        cy.wait_for_timeout(300)
        assert ada.evaluate("() => window.metaliverpool.room.edits.size") == 1

        # cy's own edit goes at once, without a dialog, and Undo brings it back
        close_road(cy, 1007)
        wait_edits(ada, 2)
        cy.click("#edits li[data-edit]:has-text('by cy') button.remove")
        wait_edits(ada, 1)
        assert cy.locator("dialog#dialog").count() == 0
        cy.click("#undo")
        wait_edits(ada, 2)
        # the owner removing cy's edit is asked too (Undo cannot bring a colleague's edit back)
        ada.click("#edits li[data-edit]:has-text('by cy') button.remove")
        ada.wait_for_selector("dialog#dialog[open]")
        assert "cy" in ada.inner_text("#dialog-title")
        ada.click("#dialog-confirm")
        wait_edits(cy, 1)
        assert edit_authors(cy) == ["ada"]
    finally:
        ada_context.close()
        cy_context.close()

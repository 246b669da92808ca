"""Accessibility and responsiveness helpers of the browser tests and ``bench/map.py``: axe-core (the npm
package of ``web/``, evaluated in the page through the DevTools protocol, so the page's CSP is untouched and
nothing comes from a CDN), and the time from a click to the panel it opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
"""The rules of WCAG 2.0, 2.1 and 2.2 at levels A and AA."""


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 AA violations of the page as it is now, of the given impacts: each with its
    rule ``id``, ``impact``, ``help`` and the CSS targets of up to five nodes."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """(tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }).then((r) =>
            r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                                       targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) })))""",
        WCAG_TAGS,
    )
    return [violation for violation in result if violation["impact"] in impacts]


def click_to_panel_ms(page: Page, x: float, y: float, panel: str) -> float:
    """Milliseconds from a real mouse press at page pixel (x, y) (the event's own time stamp) until the
    element ``panel`` (a CSS selector) is shown; the panel is hidden first."""
    page.evaluate(
        """(selector) => {
            const panel = document.querySelector(selector);
            panel.hidden = true;
            window.__panelTiming = { down: null, shown: null };
            addEventListener("pointerdown", (e) => { window.__panelTiming.down = e.timeStamp; },
                             { once: true, capture: true });
            new MutationObserver((records, observer) => {
                if (!panel.hidden) { window.__panelTiming.shown = performance.now(); observer.disconnect(); }
            }).observe(panel, { attributes: true, attributeFilter: ["hidden"] });
        }""",
        panel,
    )
    page.mouse.click(x, y)
    page.wait_for_function("() => window.__panelTiming.shown !== null", timeout=10_000)
    timing = page.evaluate("() => window.__panelTiming")
    return float(timing["shown"] - timing["down"])


def playback(page: Page, seconds: float) -> dict[str, float]:
    """Play the vehicles for ``seconds`` (the scenario page's #play), then pause with a real click: the frames
    drawn per second while playing and the milliseconds from the pause click's press to playback stopped."""
    page.evaluate(
        """() => { window.__pauseDown = null; document.getElementById("play").addEventListener("pointerdown",
            (e) => { window.__pauseDown = e.timeStamp; }, { capture: true }); }"""
    )
    page.click("#play")
    page.wait_for_function("() => window.metaliverpool.playback.playing", timeout=5_000)
    start = page.evaluate(
        "() => [window.metaliverpool.frames, performance.now(), window.metaliverpool.view.time_s]"
    )
    page.wait_for_timeout(seconds * 1000)
    end = page.evaluate(
        "() => [window.metaliverpool.frames, performance.now(), window.metaliverpool.view.time_s]"
    )
    page.click("#play")
    page.wait_for_function("() => !window.metaliverpool.playback.playing", timeout=10_000)
    paused = page.evaluate("() => window.metaliverpool.playback.pausedAtMs - window.__pauseDown")
    clock = page.evaluate("() => window.metaliverpool.view.time_s")
    page.wait_for_timeout(300)
    return {
        "fps": (end[0] - start[0]) / ((end[1] - start[1]) / 1000),
        "pause_ms": float(paused),
        "advanced_s": float(end[2] - start[2]),
        "moved_after_pause_s": float(page.evaluate("() => window.metaliverpool.view.time_s") - clock),
    }

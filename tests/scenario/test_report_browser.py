"""The report opens in Debian's Chromium (Playwright, no browser download): maps and KPI table render."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metaliverpool.edits import parse_scenario
from metaliverpool.scenario.pipeline import run_pair, write_outputs
from small_twins import grid_twin

pytestmark = pytest.mark.browser


def test_report_renders_maps_and_kpi_table(browser: object, tmp_path: Path) -> None:
    scenario = parse_scenario(
        {
            "schema_version": 2,
            "name": "Close the southern main road",
            "description": "A test scenario on a grid.",
            "edits": [{"kind": "close_road", "osm_way_ids": [10_003]}],
            "run": {"engine": "static", "seeds": [1, 2]},
        }
    )
    result = run_pair(scenario, grid_twin(5))
    write_outputs(result, tmp_path / "out", None)
    report = tmp_path / "out" / "report.html"
    page = browser.new_page(viewport={"width": 1000, "height": 1200})  # type: ignore[attr-defined]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report.as_uri())
    assert page.title().startswith("Close the southern main road")
    maps = page.locator("svg.map")
    assert maps.count() == 3
    for index in range(3):
        box = maps.nth(index).bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 300
    assert page.locator("#map-flow path[stroke='#c0392b']").count() > 0, (
        "roads with more traffic drawn in red"
    )
    assert page.locator("#map-flow path[stroke='#2471a3']").count() > 0, "the closed road drawn in blue"
    assert page.locator("#map-zones path").count() >= 4
    rows = page.locator("table#kpis tbody tr")
    assert rows.count() >= 8
    assert "Vehicle-hours per morning (veh-h)" in rows.nth(1).inner_text()
    # a councillor's first screen: what changes, for whom, how sure; the static engine is deterministic
    summary = page.locator("ul.summary li").all_inner_texts()
    assert [item.split(":")[0] for item in summary] == ["What changes", "For whom", "How sure"]
    assert "deterministic" in summary[2]
    assert page.locator("ul.summary").bounding_box()["y"] < page.locator("table#kpis").bounding_box()["y"]  # type: ignore[index]
    table = page.locator("table#kpis").inner_text()
    assert "How sure" in table and "[" not in table, "no zero-width interval on a deterministic run"
    assert set(page.locator("table#kpis td.ci").all_inner_texts()) <= {"deterministic", ""}
    assert not re.search(r"\d\.\d{4,}", table), "values rounded for people"
    titles = page.locator("figcaption").all_inner_texts()
    assert any("generalised cost" in t.lower() for t in titles), "the equity chart names what it measures"
    assert page.locator("svg.chart rect").count() > 0
    assert requests == [report.as_uri()], "self-contained: no other request"
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    blank = tmp_path / "blank.png"
    page.set_content("<html><body></body></html>")
    page.screenshot(path=str(blank), full_page=True)
    assert shot.stat().st_size > 10 * blank.stat().st_size, (
        "a drawn page compresses far less than a blank one"
    )
    page.close()


@pytest.mark.slow
def test_central_liverpool_report_renders(
    browser: object, tmp_path: Path, liverpool_centre_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metaliverpool.cli.main import main

    twin = liverpool_centre_bundle
    # a scenario that moves traffic on the coded network (the Castle Street closure does not:
    # docs/network-coding.md, "Effects on other results")
    scenario = Path(__file__).resolve().parents[2] / "scenarios" / "centre-cordon-charge.yaml"
    main(
        ["scenario", "run", str(scenario), "--twin", str(twin), "--out", str(tmp_path / "out"), "--no-cache"]
    )
    capsys.readouterr()
    page = browser.new_page(viewport={"width": 1000, "height": 1200})  # type: ignore[attr-defined]
    page.goto((tmp_path / "out" / "report.html").as_uri())
    assert page.locator("svg.map").count() == 3
    assert page.locator("#map-flow path[stroke='#c0392b']").count() > 0, "diverted traffic drawn"
    assert page.locator("#map-zones path").count() >= 40, "the LSOAs of central Liverpool drawn"
    assert page.locator("table#kpis tbody tr").count() >= 14
    assert "City centre cordon charge" in page.locator("body").inner_text()
    page.screenshot(path=str(tmp_path / "liverpool.png"), full_page=True)
    assert (tmp_path / "liverpool.png").stat().st_size > 100_000
    page.close()


def test_ai_loop_report_lists_and_marks_the_junctions_taken_over(browser: object, tmp_path: Path) -> None:
    from small_twins import two_route_twin

    scenario = parse_scenario(
        {
            "schema_version": 2,
            "name": "AI loop",
            "edits": [{"kind": "ai_signal_control", "risk_threshold": 0.05, "sample_interval_s": 120}],
            "run": {"engine": "dynamic", "seeds": [1], "dta_iterations": 1},
        }
    )
    result = run_pair(scenario, two_route_twin(trips_per_hour=1800))
    document = write_outputs(result, tmp_path / "out", None)
    assert [j["osm_node_id"] for j in document["ai_loop"]["junctions"]] == [1002]
    page = browser.new_page(viewport={"width": 1000, "height": 1200})  # type: ignore[attr-defined]
    page.goto((tmp_path / "out" / "report.html").as_uri())
    assert "AI signal loop" in page.locator("h2").all_inner_texts()
    assert page.locator("table#ai-loop tbody tr").count() == 1
    # how well the trend and persistence foresaw the risk in the scenario's run, pooled as in kpis.json
    scores = document["ai_loop"]["risk_forecast"]
    assert scores["pairs"] > 0 and set(scores) >= {"trend", "persistence"}
    rows = page.locator("table#ai-risk-forecast tbody tr").all_inner_texts()
    assert len(rows) == 2 and rows[0].startswith("trend") and f"{scores['trend']['mae']:.3f}" in rows[0]
    marker = page.locator("#map-flow circle.ai-junction")
    assert marker.count() == 1
    box = marker.first.bounding_box()
    assert box is not None and box["width"] > 5, "the junction is drawn on the flow map"
    page.close()

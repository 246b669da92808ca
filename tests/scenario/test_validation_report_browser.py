"""The validation report opens in Debian's Chromium (Playwright): it renders, its plots have their points,
no console error, no request beyond the file itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaliverpool.ingest.observations import read_observations
from metaliverpool.scenario.validation import validate_twin
from metaliverpool.scenario.validation_report import render_validation_report
from small_twins import LAT0, LON0, grid_twin

pytestmark = pytest.mark.browser


def test_validation_report_renders_plots_without_errors_or_requests(browser: object, tmp_path: Path) -> None:
    counts = tmp_path / "counts.csv"
    counts.write_text(
        "site_id,lon,lat,bearing_deg,flow_vph,period,use,name\n"
        f"a,{LON0 + 0.001},{LAT0},90,300,07:00-10:00,calibration,south edge eastbound\n"
        f"b,{LON0 + 0.001},{LAT0},270,250,07:00-10:00,validation,south edge westbound\n"
        f"c,{LON0 + 0.004},{LAT0 + 0.003},0,40,07:00-10:00,validation,inner street\n"
    )
    screen = tmp_path / "screen.csv"
    screen.write_text(
        "screenline_id,name,flow_vph,period,use,lon,lat,bearing_deg\n"
        f"west,west edge,500,07:00-10:00,validation,{LON0},{LAT0 + 0.003},0\n"
        f"west,west edge,500,07:00-10:00,validation,{LON0},{LAT0 + 0.005},0\n"
    )
    twin = grid_twin(5)
    document = validate_twin(twin, read_observations([counts, screen]), "static", twin_name="grid")
    report = tmp_path / "validation.html"
    report.write_text(render_validation_report(document, twin))

    page = browser.new_page(viewport={"width": 1000, "height": 1200})  # type: ignore[attr-defined]
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(report.as_uri())
    assert page.title().startswith("Validation of grid")
    scatter = page.locator("#chart-scatter")
    box = scatter.bounding_box()
    assert box is not None and box["width"] > 400 and box["height"] > 400
    assert page.locator("#chart-scatter .obs").count() == 4, "three counts and one screenline plotted"
    assert page.locator("#chart-scatter circle.obs").count() == 1, "one calibration count drawn as a dot"
    assert page.locator("#chart-scatter path.geh-band").count() == 2
    sites = page.locator("#map-geh circle.site")
    assert sites.count() == 3
    site_box = sites.first.bounding_box()
    assert site_box is not None and site_box["width"] > 5
    assert page.locator("#map-geh path").first.get_attribute("d"), "the twin's roads drawn underneath"
    rows = page.locator("table#criteria tbody tr").all_inner_texts()
    assert any(row.startswith("calibration") and "GEH < 5" in row for row in rows)
    assert any(row.startswith("validation") and "Screenlines within 5%" in row for row in rows)
    assert any("Convergence" in row and "pass" in row for row in rows)
    assert page.locator("table#counts-validation tbody tr").count() == 2
    assert errors == [], errors
    assert requests == [report.as_uri()], "self-contained: no other request"
    shot = tmp_path / "validation.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000, "a drawn page"
    page.close()

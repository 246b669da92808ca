"""The validation report opens in Debian's Chromium (Playwright): it renders, its plots have their points,
no console error, no request beyond the file itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metaliverpool.ingest.jts import read_jts_tables
from metaliverpool.ingest.observations import read_observations
from metaliverpool.metrics.jts import compare_with_jts, jts_differences
from metaliverpool.scenario.jts_report import EDGE_COLOUR, comparison_document, render_jts_comparison
from metaliverpool.scenario.validation import validate_twin
from metaliverpool.scenario.validation_report import render_validation_report
from small_twins import LAT0, LON0, grid_twin

pytestmark = pytest.mark.browser


def _open(browser: Any, path: Path, width: int, height: int) -> tuple[Any, list[str], list[str]]:
    """A new page at ``path``, with the requests it makes and its console and page errors."""
    page = browser.new_page(viewport={"width": width, "height": height})
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    return page, requests, errors


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
    prior = twin.trips.groupby(["origin_zone_id", "destination_zone_id"]).size().rename("trips").reset_index()
    prior["trips"] = prior["trips"] * np.where(prior.index % 3 == 0, 1.5, 1.0)  # calibration moved some cells
    observations = read_observations([counts, screen])
    document = validate_twin(twin, observations, "static", twin_name="grid", od_prior=prior)
    report = tmp_path / "validation.html"
    report.write_text(render_validation_report(document, twin))

    page, requests, errors = _open(browser, report, 1000, 1200)
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
    assert any("links with flow change" in row for row in rows), "TAG's stability criterion shown"
    gaps = document["convergence"]["relative_gaps"]
    assert page.locator("#chart-gap circle.pt").count() == len(gaps) and page.locator("#chart-gap .threshold")
    matrix = document["matrix"]
    assert page.locator("#chart-cells circle.pt").count() == len(matrix["cells"]["points"]) > 10
    assert page.locator("#chart-trip-ends circle.pt").count() == len(matrix["trip_ends"]["points"])
    assert page.locator("#chart-trip-length rect.bar").count() == 2 * len(
        matrix["trip_length"]["prior_share"]
    )
    for chart in ("#chart-cells", "#chart-trip-length", "#chart-gap"):
        box = page.locator(chart).bounding_box()
        assert box is not None and box["width"] > 200, chart
    assert any(row.startswith("matrix") and "coincidence ratio" in row and "reported" in row for row in rows)
    assert any(row.startswith("matrix") and "Zonal cells: slope" in row and "fail" in row for row in rows)
    assert errors == [], errors
    assert requests == [report.as_uri()], "self-contained: no other request"
    shot = tmp_path / "validation.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000, "a drawn page"
    page.close()


def test_jts_comparison_renders_a_plot_per_service_and_mode(browser: object, tmp_path: Path) -> None:
    published_file = tmp_path / "jts0505_2019.csv"
    published_file.write_text(
        "Table JTS0505\nTravel time to GPs by mode, LSOA\n\n"
        "LSOA_code,Region,LA_Code,LA_Name,GPPTt,GPCyct,GPCart,GPWalkt\n"
        + "".join(
            f"E0100000{k},North West,E08000012,Liverpool,9,{4 + k},{3 + k},{12 + k}\n" for k in range(1, 6)
        ),
        encoding="utf-8",
    )
    ours = pd.DataFrame(
        {
            "LSOA_code": [f"E0100000{k}" for k in range(1, 7)],
            "GPCart": [2.5, 4.0, 6.5, 7.5, 9.0, 1.0],
            "GPCyct": [5.0, 6.0, np.nan, 8.0, 9.5, 1.0],
            "GPWalkt": [13.0, 15.0, 14.0, 16.0, 18.0, 1.0],
            "edge_services": ["", "GP", "", "", "", ""],
        }
    )
    published = read_jts_tables([published_file])
    comparison = compare_with_jts(ours, published)
    document = comparison_document(
        comparison, jts_differences(ours, published), "grid", [published_file.name]
    )
    page_file = tmp_path / "comparison.html"
    page_file.write_text(render_jts_comparison(document), encoding="utf-8")

    page, requests, errors = _open(browser, page_file, 1100, 900)
    rows = page.locator("table#jts-summary tbody tr").all_inner_texts()
    assert [row.split("\t")[2] for row in rows] == ["GPCart", "GPCyct", "GPWalkt"]
    car = rows[0].split("\t")
    assert car[:2] == ["GP", "by car"] and car[3] == "5", "E01000006 is not in JTS"
    assert car[6] == "+0.5", "median of the twin minus JTS: -1.5, -1, 0.5, 0.5, 1"
    for column, points in (("GPCart", 5), ("GPCyct", 4), ("GPWalkt", 5)):
        chart = page.locator(f"#jts-{column}")
        box = chart.bounding_box()
        assert box is not None and box["width"] >= 250, column
        assert chart.locator("circle.pt").count() == points, column
        assert chart.locator(".one-to-one").count() == 1
    edge = page.locator(f"#jts-GPCart circle.pt[fill='{EDGE_COLOUR}']")
    assert edge.count() == 1 and "E01000002" in (edge.first.text_content() or "")
    assert errors == [], errors
    assert requests == [page_file.as_uri()], "self-contained: no other request"
    page.close()

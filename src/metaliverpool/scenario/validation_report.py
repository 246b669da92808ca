"""The validation report as one self-contained HTML page (inline SVG, no script, no external request).

Sections: the criteria with their TAG M3.1 thresholds and pass/fail (calibration and validation apart),
convergence; observed against modelled flows with the 1:1 line and the GEH = 5 and GEH = 10 bands; a map
of the count sites coloured by GEH over the twin's roads drawn faintly; the tables of counts, screenlines,
journey times and area speeds; the matrix change statistics; the observations that found no link.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from metaliverpool.metrics.validation import GAP_CRITERION
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.html_parts import GREY, STYLE, Projection, fmt, legend, link_lines
from metaliverpool.scenario.svg_charts import (
    FIRST_COLOUR,
    SECOND_COLOUR,
    Point,
    band_chart,
    series_chart,
    xy_chart,
)

GEH_COLOURS = (("#1e8449", "GEH < 5"), ("#d68910", "GEH 5-10"), ("#c0392b", "GEH > 10"))
_BAND = "#d5e8d4"
_CHART_PX = 520
_SIDE_PX = 7.0
_EXTRA_STYLE = """
.pass{color:#1e8449;font-weight:600}.fail{color:#c0392b;font-weight:600}.na{color:#777}
svg.chart{border:1px solid #ddd;background:#fff}
#criteria td,#criteria th{text-align:left}
"""


def geh_colour(value: float) -> str:
    """Colour of a GEH value: green below 5, amber 5-10, red above 10."""
    return GEH_COLOURS[0][0] if value < 5 else GEH_COLOURS[1][0] if value <= 10 else GEH_COLOURS[2][0]


def geh_band_vph(observed_vph: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Modelled flows (lower, upper) at which GEH equals ``level`` for each observed flow: the roots of
    2 (M - C)^2 = level^2 (M + C)."""
    g2 = level * level
    root = np.sqrt(g2 * g2 + 16.0 * g2 * observed_vph)
    return observed_vph + (g2 - root) / 4.0, observed_vph + (g2 + root) / 4.0


def _verdict(passed: bool) -> str:
    return "<span class='pass'>pass</span>" if passed else "<span class='fail'>fail</span>"


def _judged(passed: bool | None) -> str:
    """Pass or fail, or "reported" for a statistic with no threshold."""
    return "<span class='na'>reported</span>" if passed is None else _verdict(passed)


def _criteria_table(document: dict[str, Any]) -> str:
    rows = []
    for use, group in document["groups"].items():
        for c in group["criteria"]:
            rows.append(
                f"<tr><td>{html.escape(use)}</td><td>{html.escape(c['name'])}</td><td>{c['met']} of {c['of']}"
                f" ({fmt(100 * c['share'], '{:.0f}')}%)</td><td>{html.escape(c['threshold'])}</td>"
                f"<td>{_verdict(c['pass'])}</td></tr>"
            )
    rows += _convergence_rows(document["convergence"])
    for c in (document.get("matrix") or {}).get("criteria", []):
        rows.append(
            f"<tr><td>matrix</td><td>{html.escape(c['name'])}</td><td>{fmt(c['value'], '{:.3f}')}</td>"
            f"<td>{html.escape(c['threshold'])}</td><td>{_judged(c['pass'])}</td></tr>"
        )
    return (
        "<table id='criteria'><thead><tr><th>Observations</th><th>Criterion</th><th>Met</th>"
        "<th>Threshold</th>"
        f"<th>Result</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _convergence_rows(conv: dict[str, Any]) -> list[str]:
    """The two TAG M3.1 Table 4 rows: the last relative gap, and the links' flow stability."""
    after = f" after {conv.get('iterations', 1)} iteration(s)"
    passed = conv.get("gap_pass", conv["pass"])
    gap = (
        "<tr><td>run</td><td>Convergence: relative gap</td>"
        f"<td>{fmt(conv['relative_gap'], '{:.2e}')}{after}</td>"
        f"<td>{html.escape(conv['threshold'])}</td><td>{_verdict(passed)}</td></tr>"
    )
    stability = conv.get("stability")
    if not stability:
        return [gap]
    if stability["recorded"]:
        last = ", ".join(fmt(100 * v, "{:.1f}") + "%" for v in stability["last"]) or "none"
        met = f"last {len(stability['last'])} of {len(stability['shares'])} comparisons: {last}"
        verdict = _verdict(stability["pass"])
    else:
        met = "not recorded: the DTA keeps no link flows per iteration"
        verdict = "<span class='na'>not judged</span>"
    return [
        gap,
        "<tr><td>run</td><td>Convergence: links with flow change &lt; 1%</td>"
        f"<td>{met}</td><td>{html.escape(stability['threshold'])}</td><td>{verdict}</td></tr>",
    ]


def _scatter(document: dict[str, Any]) -> str:
    """Observed (x) against modelled (y) hourly flows of counts and screenlines, GEH bands, 1:1 line."""
    points = [
        (r["observed_vph"], r["modelled_vph"], r["geh"], use, f"{r['id']} {r.get('name', '')}")
        for use, group in document["groups"].items()
        for r in [*group["counts"], *group["screenlines"]]
    ]
    if not points:
        return "<p>No matched count or screenline to plot.</p>"
    top = max(max(p[0], p[1]) for p in points) * 1.1 or 1.0
    size, pad = _CHART_PX, 46

    def sx(v: np.ndarray | float) -> np.ndarray:
        return pad + np.asarray(v) / top * (size - pad - 10)

    def sy(v: np.ndarray | float) -> np.ndarray:
        return size - pad - np.asarray(v) / top * (size - pad - 10)

    grid = np.linspace(0.0, top, 60)
    bands = []
    for level, opacity in ((10.0, 0.35), (5.0, 0.7)):
        low, high = geh_band_vph(grid, level)
        outline = [*zip(sx(grid), sy(np.minimum(high, top)), strict=True)]
        outline += [*zip(sx(grid[::-1]), sy(np.maximum(low[::-1], 0.0)), strict=True)]
        d = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in outline) + "Z"
        bands.append(f"<path class='geh-band' d='{d}' fill='{_BAND}' fill-opacity='{opacity}'/>")
    ticks = []
    for value in np.linspace(0.0, top, 5)[1:-1]:  # no label at the far corner, where it would be clipped
        ticks.append(
            f"<text x='{sx(value):.1f}' y='{size - pad + 16}' text-anchor='middle'>{value:,.0f}</text>"
        )
        ticks.append(f"<text x='{pad - 4}' y='{sy(value):.1f}' text-anchor='end'>{value:,.0f}</text>")
    marks = []
    for observed, modelled, value, use, label in points:
        x, y = float(sx(observed)), float(sy(modelled))
        title = html.escape(
            f"{label}: observed {observed:,.0f}, modelled {modelled:,.0f} veh/h, GEH {value:.1f}"
        )
        colour = geh_colour(value)
        if use == "calibration":
            marks.append(
                f"<circle class='obs' cx='{x:.1f}' cy='{y:.1f}' r='5'"
                f" fill='{colour}'><title>{title}</title></circle>"
            )
        else:
            marks.append(
                f"<rect class='obs' x='{x - 5:.1f}' y='{y - 5:.1f}' width='10' height='10' fill='none' "
                f"stroke='{colour}' stroke-width='2'><title>{title}</title></rect>"
            )
    svg = (
        f"<svg class='chart' id='chart-scatter' viewBox='0 0 {size} {size}' width='{size}'"
        f" height='{size}' role='img'"
        " aria-label='Observed against modelled flows'>"
        f"{''.join(bands)}<line x1='{sx(0):.1f}' y1='{sy(0):.1f}' x2='{sx(top):.1f}'"
        f" y2='{sy(top):.1f}' stroke='#555'"
        f" stroke-dasharray='4 3'/><line x1='{pad}' y1='{size - pad}' x2='{size - 10}'"
        f" y2='{size - pad}' stroke='#333'/>"
        f"<line x1='{pad}' y1='{size - pad}' x2='{pad}' y2='10'"
        f" stroke='#333'/>{''.join(ticks)}{''.join(marks)}"
        f"<text x='{size / 2:.0f}' y='{size - 6}' text-anchor='middle'>observed veh/h</text>"
        f"<text x='12' y='{size / 2:.0f}' transform='rotate(-90 12 {size / 2:.0f})'"
        " text-anchor='middle'>modelled veh/h"
        "</text></svg>"
    )
    keys = legend([*GEH_COLOURS, (_BAND, "GEH < 5 (dark) and < 10 (light) bands")])
    return (
        "<figure><figcaption>Observed against modelled hourly flow (dashed: 1:1; dots: calibration"
        " counts, squares: "
        f"validation counts)</figcaption>{svg}{keys}</figure>"
    )


def _site_map(document: dict[str, Any], twin: Twin) -> str:
    """Count sites coloured by GEH over the twin's roads (faint)."""
    nodes = twin.nodes
    projection = Projection(nodes["lon"].to_numpy(dtype=np.float64), nodes["lat"].to_numpy(dtype=np.float64))
    lines = link_lines(twin)
    roads = "".join(projection.path(coords) for coords in lines.to_numpy())
    sites = [r for group in document["groups"].values() for r in group["counts"]]
    marks = []
    if sites:
        places = [_site_xy(s, projection, lines) for s in sites]
        for (cx, cy), s in zip(places, sites, strict=True):
            title = html.escape(
                f"{s['id']} {s['name']}: observed {s['observed_vph']:,.0f}, modelled"
                f" {s['modelled_vph']:,.0f} veh/h, "
                f"GEH {s['geh']:.1f} ({s['use']})"
            )
            marks.append(
                f"<circle class='site' cx='{cx:.1f}' cy='{cy:.1f}' r='6'"
                f" fill='{geh_colour(s['geh'])}' stroke='white'"
                f" stroke-width='1.5'><title>{title}</title></circle>"
            )
    svg = (
        f"<svg class='map' id='map-geh' viewBox='0 0 {projection.width:.0f} {projection.height:.0f}' "
        f"width='{projection.width:.0f}' height='{projection.height:.0f}' role='img'"
        " aria-label='Count sites by GEH'>"
        f"<rect width='100%' height='100%' fill='#fbfbf8'/>"
        f"<path d='{roads}' stroke='{GREY}' stroke-width='0.6' fill='none'/><g>{''.join(marks)}</g></svg>"
    )
    return f"<figure><figcaption>Count sites by GEH</figcaption>{svg}{legend(list(GEH_COLOURS))}</figure>"


def _site_xy(site: dict[str, Any], projection: Projection, lines: Any) -> tuple[float, float]:
    """Where a count site is drawn: its point (or its link's middle), moved :data:`_SIDE_PX` to the left
    of the direction of travel, so that the two directions of a road show apart."""
    x, y = projection.xy(np.array([site["lon"]]), np.array([site["lat"]]))
    link = site["link_ids"][0] if site.get("link_ids") else None
    if link is None or link not in lines.index:
        return float(x[0]), float(y[0])
    coords = np.asarray(lines[link], dtype=np.float64)
    px, py = projection.xy(coords[:, 0], coords[:, 1])
    steps = np.hypot(np.diff(px), np.diff(py))
    if steps.sum() <= 0:
        return float(x[0]), float(y[0])
    k = int(np.searchsorted(np.cumsum(steps), 0.5 * steps.sum()))
    dx, dy = (px[k + 1] - px[k]) / max(steps[k], 1e-9), (py[k + 1] - py[k]) / max(steps[k], 1e-9)
    return float(x[0] + _SIDE_PX * dy), float(y[0] - _SIDE_PX * dx)  # left of travel, with y pointing down


def _table(table_id: str, rows: list[dict[str, Any]], columns: list[tuple[str, str, str]]) -> str:
    """A table of ``rows`` with ``columns`` (key, heading, format pattern or ``verdict``)."""
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title, _ in columns)
    body = []
    for row in rows:
        cells = []
        for key, _, pattern in columns:
            value = row.get(key)
            if pattern == "verdict":
                cells.append(f"<td>{_verdict(bool(value))}</td>")
            elif pattern == "text":
                cells.append(f"<td>{html.escape(str(value))}</td>")
            else:
                cells.append(f"<td>{fmt(value, pattern)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table id='{table_id}'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _group_tables(use: str, group: dict[str, Any]) -> str:
    parts = [
        _table(
            f"counts-{use}",
            group["counts"],
            [
                ("id", "Site", "text"),
                ("name", "Name", "text"),
                ("period", "Period", "text"),
                ("observed_vph", "Observed veh/h", "{:,.0f}"),
                ("modelled_vph", "Modelled veh/h", "{:,.0f}"),
                ("geh", "GEH", "{:.2f}"),
                ("flow_ok", "Within TAG band", "verdict"),
            ],
        ),
        _table(
            f"screenlines-{use}",
            group["screenlines"],
            [
                ("id", "Screenline", "text"),
                ("name", "Name", "text"),
                ("observed_vph", "Observed veh/h", "{:,.0f}"),
                ("modelled_vph", "Modelled veh/h", "{:,.0f}"),
                ("difference", "Difference", "{:+.1%}"),
                ("pass", "Within 5%", "verdict"),
            ],
        ),
        _table(
            f"routes-{use}",
            group["routes"],
            [
                ("id", "Route", "text"),
                ("name", "Name", "text"),
                ("observed_s", "Observed s", "{:,.0f}"),
                ("modelled_s", "Modelled s", "{:,.0f}"),
                ("difference", "Difference", "{:+.1%}"),
                ("pass", "Within 15% or 1 min", "verdict"),
            ],
        ),
        _table(
            f"areas-{use}",
            group["area_speeds"],
            [
                ("id", "Area", "text"),
                ("name", "Name", "text"),
                ("observed_kmh", "Observed km/h", "{:.1f}"),
                ("modelled_kmh", "Modelled km/h", "{:.1f}"),
                ("difference", "Difference", "{:+.1%}"),
                ("pass", "Within 15%", "verdict"),
            ],
        ),
    ]
    shown = "".join(parts)
    if not shown:
        return ""
    title = (
        "Calibration (observations the demand and network were fitted to)"
        if use == "calibration"
        else ("Validation (observations kept out of calibration)")
    )
    return f"<h3>{html.escape(title)}</h3>{shown}"


def _matrix_section(matrix: dict[str, Any] | None) -> str:
    if not matrix:
        return (
            "<p>The twin has no prior matrix (<code>od_prior.parquet</code>): no matrix change"
            " statistics.</p>"
        )
    cells, ends, tld = matrix["cells"], matrix["trip_ends"], matrix["trip_length"]
    rows = "".join(
        f"<tr><td>{name}</td><td>{fmt(fit['slope'], '{:.3f}')}</td><td>{fmt(fit['intercept'], '{:.2f}')}</td>"
        f"<td>{fmt(fit['r2'], '{:.3f}')}</td><td>{fit['n']:,}</td></tr>"
        for name, fit in (("Zonal cells", cells), ("Trip ends", ends))
    )
    charts = [
        _fit_chart("chart-cells", "Zonal cells (trips, 07:00-10:00)", cells),
        _fit_chart("chart-trip-ends", "Trip ends: origins and destinations (trips)", ends),
    ]
    if tld.get("prior_share"):
        bars = band_chart(
            "chart-trip-length",
            tld["prior_share"],
            tld["calibrated_share"],
            tld["bin_km"],
            ("prior", "calibrated"),
            "trip length, km (network distance)",
        )
        keys = legend([(FIRST_COLOUR, "prior"), (SECOND_COLOUR, "calibrated")])
        charts.append(f"<figure><figcaption>Trip-length distribution</figcaption>{bars}{keys}</figure>")
    return (
        "<table id='matrix'><thead><tr><th>Calibrated against"
        " prior</th><th>Slope</th><th>Intercept</th><th>R²</th>"
        f"<th>Points</th></tr></thead><tbody>{rows}</tbody></table>"
        f"<p>Trip length (network distance): mean {fmt(tld['prior_mean_km'], '{:.2f}')} km prior, "
        f"{fmt(tld['calibrated_mean_km'], '{:.2f}')} km calibrated; standard deviation "
        f"{fmt(tld['prior_sd_km'], '{:.2f}')} km and {fmt(tld['calibrated_sd_km'], '{:.2f}')} km;"
        " coincidence "
        f"ratio {fmt(tld['coincidence_ratio'], '{:.3f}')}.</p>"
        f"<div class='charts'>{''.join(charts)}</div>"
        + _table(
            "sectors",
            matrix.get("sectors", []),
            [
                ("origin", "From sector", "text"),
                ("destination", "To sector", "text"),
                ("prior", "Prior trips", "{:,.0f}"),
                ("calibrated", "Calibrated trips", "{:,.0f}"),
                ("change", "Change", "{:+.1%}"),
                ("pass", "Within 5%", "verdict"),
            ],
        )
    )


def _fit_chart(chart_id: str, caption: str, fit: dict[str, Any]) -> str:
    """Prior (x) against calibrated (y) values, the 1:1 line dashed."""
    points = [Point(x, y, f"prior {x:,.1f}, calibrated {y:,.1f}") for x, y in fit.get("points", [])]
    chart = xy_chart(chart_id, points, "prior", "calibrated")
    return f"<figure><figcaption>{html.escape(caption)}</figcaption>{chart}</figure>"


def _convergence_chart(conv: dict[str, Any]) -> str:
    """The relative gap by iteration against TAG's 0.1%."""
    gaps = conv.get("relative_gaps") or []
    if not gaps:
        return ""
    chart = series_chart("chart-gap", gaps, GAP_CRITERION, "iteration", "relative gap")
    return (
        f"<figure><figcaption>Relative gap by iteration (dashed red: TAG's 0.1%)</figcaption>{chart}</figure>"
    )


def render_validation_report(document: dict[str, Any], twin: Twin) -> str:
    """The HTML page of a ``validation.json`` document."""
    title = f"Validation of {document.get('twin') or document.get('region') or 'the twin'}"
    groups = "".join(_group_tables(use, group) for use, group in document["groups"].items())
    unmatched = "".join(f"<li>{html.escape(u)}</li>" for u in document["unmatched"])
    files = ", ".join(html.escape(f) for f in document["observation_files"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} - Meta Liverpool</title>
<style>{STYLE}{_EXTRA_STYLE}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="lede">Baseline run on the {html.escape(document["engine"])} engine against {files}. Criteria and
thresholds from DfT TAG unit M3.1 (highway assignment modelling); observations used in calibration and those
kept out of it are judged apart.</p>
<h2>Criteria</h2>{_criteria_table(document)}{_convergence_chart(document["convergence"])}
<h2>Flows</h2><div class="charts">{_scatter(document)}</div>{_site_map(document, twin)}
<h2>Observations</h2>{groups or "<p>No matched observation.</p>"}
<h2>Matrix change</h2>{_matrix_section(document.get("matrix"))}
<h2>Not matched</h2>{f"<ul id='unmatched'>{unmatched}</ul>" if unmatched else "<p>All matched.</p>"}
<p class="note">GEH = sqrt(2 (M - C)^2 / (M + C)) with M modelled and C observed hourly flows.
Generated by Meta Liverpool in {fmt(document.get("seconds"), "{:.1f}")} s.</p>
</body></html>
"""

"""A self-contained HTML report: maps and charts as inline SVG, no external file, font, script or CDN.

Sections: a plain-language summary; the KPI table (baseline, scenario, change with its 95% interval across
seeds); three maps (link-flow difference, winners and losers by zone, NOx change by link); equity by IMD
decile (bar chart with intervals, the most deprived decile called out); diversion and rat-running lists; the
edits as applied. Map tooltips use SVG ``<title>`` elements (native, no script).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.network.twin import Twin
from metaliverpool.scenario.html_parts import GREY as _GREY
from metaliverpool.scenario.html_parts import STYLE as _STYLE
from metaliverpool.scenario.html_parts import Projection as _Projection
from metaliverpool.scenario.html_parts import fmt as _fmt
from metaliverpool.scenario.html_parts import legend as _legend
from metaliverpool.scenario.html_parts import link_lines as _link_lines
from metaliverpool.scenario.impacts import Impacts

_UP = "#c0392b"
_DOWN = "#2471a3"
_LOOP = "#8e44ad"

_KPI_ROWS = (
    ("network", "vehicle_km", "Vehicle-kilometres", "{:,.0f}"),
    ("network", "vehicle_hours", "Vehicle-hours", "{:,.0f}"),
    ("network", "delay_hours", "Delay (vehicle-hours)", "{:,.0f}"),
    ("network", "mean_speed_kmh", "Mean speed (km/h)", "{:,.1f}"),
    ("network", "queue_veh_at_junctions", "Mean queue at junctions (vehicles)", "{:,.0f}"),
    ("emissions", "co2_kg", "CO2 (kg)", "{:,.0f}"),
    ("emissions", "nox_kg", "NOx (kg)", "{:,.2f}"),
    ("emissions", "pm25_kg", "PM2.5 exhaust (kg)", "{:,.3f}"),
)


def _change_cell(change: dict[str, Any], pattern: str) -> str:
    mean, lower, upper = change.get("mean"), change.get("lower"), change.get("upper")
    if mean is None:
        return "n/a"
    text = _fmt(mean, pattern)
    if mean > 0 and text.strip("0.,"):
        text = "+" + text
    if change.get("n", 0) > 1 and lower is not None:
        text += f" <span class='ci'>[{_fmt(lower, pattern)}, {_fmt(upper, pattern)}]</span>"
    return text


def _link_map(
    projection: _Projection,
    lines: pd.Series,
    values: pd.Series,
    title: str,
    unit: str,
    names: pd.Series,
    map_id: str,
    points: list[tuple[float, float, str]] | None = None,
) -> str:
    """A map of ``values`` per link (colour and width by sign and size) and optional marked ``points``
    (lon, lat, label): the junctions the AI loop took over."""
    background = "".join(projection.path(coords) for coords in lines.to_numpy())
    shown = values[np.isfinite(values.to_numpy(dtype=np.float64))]
    largest = float(shown.abs().max()) if len(shown) else 0.0
    threshold = max(largest * 0.02, 1e-9)
    shown = shown[shown.abs() >= threshold].sort_values(key=np.abs)
    paths = []
    for link, value in shown.items():
        if link not in lines.index:
            continue
        colour = _UP if value > 0 else _DOWN
        width = 1.0 + 5.0 * abs(value) / largest if largest > 0 else 1.0
        label = f"{names.get(link, '')} (link {link}): {value:+,.1f} {unit}"
        paths.append(
            f"<path d='{projection.path(lines[link])}' stroke='{colour}' stroke-width='{width:.1f}'>"
            f"<title>{html.escape(label)}</title></path>"
        )
    svg = (
        f"<svg class='map' id='{map_id}' viewBox='0 0 {projection.width:.0f} {projection.height:.0f}' "
        f"width='{projection.width:.0f}' height='{projection.height:.0f}'"
        f" role='img' aria-label='{html.escape(title)}'>"
        f"<rect width='100%' height='100%' fill='#fbfbf8'/>"
        f"<path d='{background}' stroke='{_GREY}' stroke-width='0.6' fill='none'/>"
        f"<g fill='none' stroke-linecap='round'>{''.join(paths)}</g>"
        f"{_markers(projection, points or [])}</svg>"
    )
    items = [(_UP, f"more ({unit})"), (_DOWN, f"less ({unit})"), (_GREY, "no notable change")]
    if points:
        items.append((_LOOP, "junction retimed by the AI loop"))
    legend = _legend(items)
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{svg}{legend}</figure>"


def _markers(projection: _Projection, points: list[tuple[float, float, str]]) -> str:
    """Circles at ``points`` (lon, lat, label), with the label as a tooltip."""
    if not points:
        return ""
    x, y = projection.xy(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    circles = "".join(
        f"<circle class='ai-junction' cx='{cx:.1f}' cy='{cy:.1f}' r='6' fill='{_LOOP}' fill-opacity='0.85'"
        f" stroke='white' stroke-width='1.5'><title>{html.escape(label)}</title></circle>"
        for cx, cy, (_, _, label) in zip(x, y, points, strict=True)
    )
    return f"<g>{circles}</g>"


def _ai_loop_section(doc: dict[str, Any]) -> str:
    """What the AI signal loop did: settings and the junctions it took over (empty without the loop)."""
    loop = doc.get("ai_loop")
    if not loop:
        return ""
    rows = "".join(
        f"<tr><td>{j['osm_node_id']}</td><td>{j['seeds_flagged']} of {loop['seeds']}</td>"
        f"<td>{_clock(j['first_flag_s'])}</td><td>{j['max_forecast']:.2f}</td></tr>"
        for j in loop["junctions"]
    )
    table = (
        "<table class='kpis' id='ai-loop'><thead><tr><th>junction (OSM node)</th><th>taken over in</th>"
        "<th>first at</th><th>largest risk forecast</th></tr></thead><tbody>" + rows + "</tbody></table>"
        if rows
        else "<p>No junction was forecast at risk: every junction kept its fixed plan.</p>"
    )
    forecast = loop.get("forecast", "trend")
    if forecast == "reactive":
        how = (
            "Every few minutes the loop measured each of the "
            f"{loop['eligible_signals']} signalised junctions' blocking risk (how full the exits its waiting "
            "traffic wants are), without forecasting (reactive); a junction at or above "
        )
    else:
        how = (
            "Every few minutes the loop forecast each of the "
            f"{loop['eligible_signals']} signalised junctions' blocking risk (how full the exits its waiting "
            f"traffic wants are) {loop['horizon_s'] / 60:.0f} minutes ahead ("
            + ("Holt's trend" if forecast == "trend" else "its mean on earlier simulated mornings")
            + "); a junction forecast at or above "
        )
    return (
        f"<h2>AI signal loop</h2><p>{how}"
        f"{loop['risk_threshold']:.2f} was handed from its fixed plan to the adaptive look-ahead controller. "
        "The baseline is the same scenario without the loop, so every change on this page is the loop's. "
        "The junctions it took over are marked on the flow map.</p>" + table + _risk_forecast_table(loop)
    )


def _risk_forecast_table(loop: dict[str, Any]) -> str:
    """How well the trend and persistence foresaw the risk on the baseline runs (empty without samples)."""
    scores = loop.get("risk_forecast")
    if not scores or not scores["pairs"]:
        return ""

    def cell(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    rows = "".join(
        f"<tr><td>{label}</td><td>{cell(scores[key]['mae'])}</td><td>{cell(scores[key]['precision'])}</td>"
        f"<td>{cell(scores[key]['recall'])}</td><td>{scores[key]['hits']}</td></tr>"
        for key, label in (
            ("trend", "trend (Holt)"),
            ("history", "history (earlier mornings)"),
            ("persistence", "persistence (risk now)"),
        )
        if key in scores
    )
    return (
        f"<p>How well the risk {loop['horizon_s'] / 60:.0f} minutes later was foreseen on the baseline runs "
        f"(the loop measured but did not steer; {scores['pairs']} junction samples with traffic): MAE of the "
        f"risk, and precision and recall of 'risk later at or above {loop['risk_threshold']:.2f}'.</p>"
        "<table class='kpis' id='ai-risk-forecast'><thead><tr><th>forecast</th><th>MAE</th>"
        "<th>precision</th><th>recall</th><th>hits</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


def _clock(seconds_after_seven: float) -> str:
    """Seconds after 07:00 as a clock time."""
    minutes = int(seconds_after_seven // 60)
    return f"{7 + minutes // 60:02d}:{minutes % 60:02d}"


def _diverging_colour(value: float, largest: float) -> str:
    if not math.isfinite(value) or largest <= 0:
        return "#eeeeee"
    t = max(-1.0, min(1.0, value / largest))
    if t < 0:  # faster: green
        return f"rgb({int(255 - 200 * -t)},{int(255 - 80 * -t)},{int(255 - 200 * -t)})"
    return f"rgb({int(255 - 60 * t)},{int(255 - 200 * t)},{int(255 - 120 * t)})"


def _zone_map(projection: _Projection, twin: Twin, zones: pd.DataFrame, lines: pd.Series, map_id: str) -> str:
    geometry = twin.zones.set_index("zone_id")["geometry"]
    values = zones.set_index("zone_id")["journey_change_s"]
    largest = float(np.nanmax(np.abs(values.to_numpy(dtype=np.float64)))) if values.notna().any() else 0.0
    polygons = []
    for zone_id, value in values.items():
        shape = geometry.get(zone_id)
        if shape is None or shape.is_empty:
            continue
        rings = []
        for part in getattr(shape, "geoms", [shape]):
            if isinstance(part, shapely.Polygon):
                rings.append(projection.path(part.exterior.coords) + "Z")
        code = zones.loc[zones["zone_id"] == zone_id, "zone_code"].iloc[0]
        label = f"{code}: {value:+.0f} s per trip" if math.isfinite(value) else f"{code}: no trips"
        polygons.append(
            f"<path d='{''.join(rings)}' fill='{_diverging_colour(float(value), largest)}' stroke='#888' "
            f"stroke-width='0.5'><title>{html.escape(label)}</title></path>"
        )
    roads = "".join(projection.path(coords) for coords in lines.to_numpy())
    svg = (
        f"<svg class='map' id='{map_id}' viewBox='0 0 {projection.width:.0f} {projection.height:.0f}' "
        f"width='{projection.width:.0f}' height='{projection.height:.0f}'"
        f" role='img' aria-label='winners and losers'>"
        f"<rect width='100%' height='100%' fill='#fbfbf8'/>{''.join(polygons)}"
        f"<path d='{roads}' stroke='#999' stroke-width='0.4' fill='none' opacity='0.6'/></svg>"
    )
    legend = _legend(
        [
            (_diverging_colour(-1, 1), "trips from here get faster"),
            (_diverging_colour(1, 1), "slower"),
            ("#eeeeee", "no trips"),
        ]
    )
    return (
        "<figure><figcaption>Winners and losers: mean change in journey time of trips starting in each "
        f"neighbourhood (LSOA)</figcaption>{svg}{legend}</figure>"
    )


def _equity_chart(rows: list[dict[str, Any]], title: str, unit: str, chart_id: str) -> str:
    width, height, left, bottom = 520, 240, 60, 30
    values = [r.get("mean") for r in rows]
    finite = [v for v in values if v is not None and math.isfinite(v)]
    uppers = [r.get("upper") for r in rows if r.get("upper") is not None]
    lowers = [r.get("lower") for r in rows if r.get("lower") is not None]
    top = max([0.0, *finite, *uppers]) or 1.0
    low = min([0.0, *finite, *lowers])
    span = (top - low) or 1.0
    plot_h = height - bottom - 10

    def y(v: float) -> float:
        return 10 + (top - v) / span * plot_h

    bars = []
    bar_w = (width - left - 10) / 10
    for i, row in enumerate(rows):
        mean = row.get("mean")
        if mean is None or not math.isfinite(mean):
            continue
        x = left + i * bar_w + 4
        y0, y1 = sorted((y(0.0), y(mean)))
        colour = "#7d3c98" if row["imd_decile"] == 1 else ("#c0392b" if mean > 0 else "#2471a3")
        label = f"decile {row['imd_decile']}: {mean:+.2f} {unit} (population {row.get('population', 0):,.0f})"
        bars.append(
            f"<rect x='{x:.1f}' y='{y0:.1f}' width='{bar_w - 8:.1f}'"
            f" height='{max(y1 - y0, 0.5):.1f}' fill='{colour}'>"
            f"<title>{html.escape(label)}</title></rect>"
        )
        if row.get("n", 0) > 1 and row.get("lower") is not None:
            cx = x + (bar_w - 8) / 2
            bars.append(
                f"<line x1='{cx:.1f}' x2='{cx:.1f}' y1='{y(row['lower']):.1f}'"
                f" y2='{y(row['upper']):.1f}' stroke='#222'/>"
            )
        bars.append(
            f"<text x='{x + (bar_w - 8) / 2:.1f}' y='{height - 12}'"
            f" text-anchor='middle'>{row['imd_decile']}</text>"
        )
    axis = (
        f"<line x1='{left}' x2='{width - 5}' y1='{y(0):.1f}' y2='{y(0):.1f}' stroke='#444'/>"
        f"<text x='5' y='{y(top) + 4:.1f}'>{top:+.1f}</text>"
        f"<text x='5' y='{y(low) + 4:.1f}'>{low:+.1f}</text>"
        f"<text x='{left}' y='{height}' class='axis'>IMD decile (1 = most deprived)</text>"
    )
    return (
        f"<figure class='chart'><figcaption>{html.escape(title)}</figcaption>"
        f"<svg class='chart' id='{chart_id}' viewBox='0 0 {width} {height + 4}'"
        f" width='{width}' height='{height + 4}'>"
        f"{axis}{''.join(bars)}</svg></figure>"
    )


def _summary(doc: dict[str, Any]) -> str:
    network = doc.get("network", {})
    journeys = doc.get("journeys", {})
    emissions = doc.get("emissions", {})
    vh = network.get("vehicle_hours", {}).get("change", {})
    co2 = emissions.get("co2_kg", {}).get("change", {})
    win = journeys.get("trips_winning", {}).get("mean")
    lose = journeys.get("trips_losing", {}).get("mean")
    deprived = doc.get("equity", {}).get("most_deprived_decile", {}).get("journey_change_s", {})
    rat = doc.get("diversion", {}).get("rat_running", {}).get("flagged", 0)
    points = [
        f"Total time spent driving changes by <b>{_change_cell(vh, '{:,.0f}')}</b> vehicle-hours over the "
        f"{doc.get('period_h', 0):g}-hour morning peak.",
        f"About <b>{_fmt(win, '{:,.0f}')}</b> car trips get more than a minute faster and "
        f"<b>{_fmt(lose, '{:,.0f}')}</b> more than a minute slower.",
        f"Carbon dioxide from traffic changes by <b>{_change_cell(co2, '{:,.0f}')}</b> kg.",
        "Trips from the most deprived tenth of neighbourhoods (IMD decile 1) change by "
        f"<b>{_change_cell(deprived, '{:,.0f}')}</b> seconds on average.",
        f"Residential streets flagged for possible rat-running: <b>{rat}</b>.",
    ]
    return "<ul class='summary'>" + "".join(f"<li>{p}</li>" for p in points) + "</ul>"


def _notes(doc: dict[str, Any]) -> str:
    notes = doc.get("notes") or []
    if not notes:
        return ""
    return (
        "<p class='note'><b>Limits of this run:</b> " + " ".join(html.escape(str(n)) for n in notes) + "</p>"
    )


def _kpi_table(doc: dict[str, Any]) -> str:
    rows = []
    for group, key, label, pattern in _KPI_ROWS:
        entry = doc.get(group, {}).get(key)
        if not entry:
            continue
        rows.append(
            f"<tr><th>{html.escape(label)}</th><td>{_fmt(entry['baseline']['mean'], pattern)}</td>"
            f"<td>{_fmt(entry['scenario']['mean'], pattern)}</td>"
            f"<td>{_change_cell(entry['change'], pattern)}</td></tr>"
        )
    journeys = doc.get("journeys", {})
    arrived = journeys.get("trips_arrived")
    if arrived:
        rows.append(
            f"<tr><th>Trips that arrived</th><td>{_fmt(arrived['baseline']['mean'], '{:,.0f}')}</td>"
            f"<td>{_fmt(arrived['scenario']['mean'], '{:,.0f}')}</td>"
            f"<td>{_change_cell(arrived['change'], '{:,.0f}')}</td></tr>"
        )
    for key, label in (
        ("trips_winning", "Trips faster by over 1 min"),
        ("trips_losing", "Trips slower by over 1 min"),
    ):
        if key in journeys:
            rows.append(
                f"<tr><th>{label}</th><td></td><td></td>"
                f"<td>{_change_cell(journeys[key], '{:,.0f}')}</td></tr>"
            )
    for kind, entry in doc.get("access", {}).get("car", {}).items():
        near = entry["nearest_min"]
        rows.append(
            f"<tr><th>Minutes to nearest {html.escape(kind)} by car (zone mean)</th>"
            f"<td>{_fmt(near['baseline']['mean'], '{:.1f}')}</td>"
            f"<td>{_fmt(near['scenario']['mean'], '{:.1f}')}</td>"
            f"<td>{_change_cell(near['change'], '{:.2f}')}</td></tr>"
        )
    for kind, entry in doc.get("access", {}).get("walk", {}).items():
        rows.append(
            f"<tr><th>Minutes to nearest {html.escape(kind)} on foot (zone mean)</th>"
            f"<td>{_fmt(entry['nearest_min']['mean'], '{:.1f}')}</td><td>same</td><td>unchanged</td></tr>"
        )
    seeds = doc.get("seeds", 1)
    return (
        "<table id='kpis'><thead><tr><th>Measure</th><th>Baseline</th><th>Scenario</th>"
        f"<th>Change [95% interval over {seeds} seeds]</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _link_list(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>None.</p>"
    items = "".join(
        f"<tr><td>{html.escape(str(r.get('name') or ''))}</td>"
        f"<td>{r.get('osm_way_id')}</td><td>{html.escape(str(r.get('highway')))}</td>"
        f"<td>{_fmt(r.get('baseline_vph'), '{:,.0f}')}</td><td>{_fmt(r.get('scenario_vph'), '{:,.0f}')}</td>"
        f"<td>{_fmt(r.get('change_vph'), '{:+,.0f}')}</td></tr>"
        for r in rows
    )
    return (
        "<table class='links'><thead><tr><th>Street</th><th>OSM way</th><th>Class</th><th>Baseline veh/h</th>"
        f"<th>Scenario veh/h</th><th>Change</th></tr></thead><tbody>{items}</tbody></table>"
    )


def render_report(doc: dict[str, Any], base_twin: Twin, impacts: Impacts) -> str:
    """The report page for a ``kpis.json`` document and its impact tables."""
    scenario = doc.get("scenario", {})
    nodes = base_twin.nodes
    projection = _Projection(nodes["lon"].to_numpy(dtype=np.float64), nodes["lat"].to_numpy(dtype=np.float64))
    lines = _link_lines(base_twin)
    links = impacts.links.set_index("base_link_id")
    names = links["name"] if "name" in links else pd.Series(dtype=str)
    loop_points = [
        (j["lon"], j["lat"], f"OSM node {j['osm_node_id']}: taken over at {_clock(j['first_flag_s'])}")
        for j in doc.get("ai_loop", {}).get("junctions", [])
        if np.isfinite(j["lon"]) and np.isfinite(j["lat"])
    ]
    flow_map = _link_map(
        projection,
        lines,
        links["change_vph"],
        "Change in traffic flow on each road (vehicles per hour)",
        "veh/h",
        names,
        "map-flow",
        loop_points,
    )
    nox_map = _link_map(
        projection,
        lines,
        links["nox_g_change"] if "nox_g_change" in links else pd.Series(dtype=float),
        "Change in NOx emitted on each road over the period (grams)",
        "g NOx",
        names,
        "map-nox",
    )
    zone_map = _zone_map(projection, base_twin, impacts.zones, lines, "map-zones")
    equity = doc.get("equity", {})
    charts = [
        _equity_chart(
            equity.get("journey_change_s", []),
            "Change in journey time by IMD decile (s per trip)",
            "s",
            "chart-journeys",
        )
    ]
    for kind in ("gp", "hospital", "school"):
        key = f"car_{kind}_nearest_min_change"
        if key in equity:
            charts.append(
                _equity_chart(
                    equity[key],
                    f"Change in minutes by car to the nearest {kind}, by IMD decile",
                    "min",
                    f"chart-{kind}",
                )
            )
    if "nox_change_g" in equity:
        charts.append(
            _equity_chart(
                equity["nox_change_g"],
                "Change in NOx emitted in the neighbourhood (g), by IMD decile",
                "g",
                "chart-nox",
            )
        )
    diversion = doc.get("diversion", {})
    edits = "".join(
        f"<li>{html.escape(str(e.get('kind')))} {html.escape(str(e.get('id') or ''))}: "
        + html.escape(", ".join(f"{k} {v}" for k, v in e.items() if k not in ("edit", "id", "kind")))
        + "</li>"
        for e in scenario.get("edits", [])
    )
    run = doc.get("run", {})
    closed = diversion.get("closed_to_cars", {})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(str(scenario.get("name", "Scenario")))} - Meta Liverpool</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(str(scenario.get("name", "")))}</h1>
<p class="lede">{html.escape(str(scenario.get("description", "")))}</p>
<p class="note">Engine: {html.escape(str(run.get("engine")))}; seeds {html.escape(str(run.get("seeds")))};
baseline and scenario run
with the same seeds. Intervals are 95% Student-t intervals of the per-seed change. Journey measure:
{html.escape(str(doc.get("journeys", {}).get("measure", "")))}.</p>
<h2>In short</h2>{_summary(doc)}{_notes(doc)}
<h2>Key measures</h2>{_kpi_table(doc)}{_ai_loop_section(doc)}
<h2>Maps</h2>{flow_map}{zone_map}{nox_map}
<h2>Who gains and who loses</h2><p>Each bar is the population-weighted mean over the neighbourhoods of one
deprivation decile (English Indices of Deprivation 2019); decile 1, the most deprived, is drawn in purple.</p>
<div class="charts">{"".join(charts)}</div>
<h2>Where traffic moves</h2><h3>Largest changes</h3>{_link_list(diversion.get("largest_changes", []))}
<h3>Possible rat-running on residential streets</h3>
<p class="note">Flagged when flow on a residential street rises by at least
{100 * diversion.get("rat_running", {}).get("rule", {}).get("min_rise_fraction", 0):.0f}% and by at least
{diversion.get("rat_running", {}).get("rule", {}).get("min_rise_vph", 0):.0f} vehicles per hour.</p>
{_link_list(diversion.get("rat_running", {}).get("links", []))}
<p>Road links closed to cars in the scenario: {closed.get("links", 0)}; largest flow on them in the scenario:
{_fmt(closed.get("max_scenario_vph"), "{:,.1f}")} veh/h.</p>
<h2>The edits</h2><ol>{edits}</ol>
<p class="note">Emission factors: metaliverpool/metrics/data/emission_curves.csv (its header gives the
sources: CO2 from TAG A1.3.8 fuel consumption, NOx and PM from the EMEP/EEA 2014 guidebook annex, Euro 5/6
cars; fleet shares are judgement).
Generated by Meta Liverpool.</p>
</body></html>
"""

"""A self-contained HTML report: maps and charts as inline SVG, no external file, font, script or CDN.

Sections: the edits refused and left out, if any (first); a one-screen summary (what changes, for whom, how
sure); the KPI table (do nothing, scenario, change, and its 95% interval where seeds vary; labels, units and
rounding from :mod:`metaliverpool.scenario.kpi_labels`); with ``decompose``, the package without the AI
loop and what the loop adds; three maps (link-flow difference, winners and losers by zone, NOx change by
link); equity by IMD decile (bar chart with intervals, the most deprived decile called out); diversion and
rat-running lists; the edits as applied. Map tooltips use SVG ``<title>`` elements (native, no script).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.network.twin import Twin
from metaliverpool.observed.summary import calibration_line
from metaliverpool.scenario.html_parts import GREY as _GREY
from metaliverpool.scenario.html_parts import STYLE as _STYLE
from metaliverpool.scenario.html_parts import Projection
from metaliverpool.scenario.html_parts import fmt as _fmt
from metaliverpool.scenario.html_parts import legend as _legend
from metaliverpool.scenario.html_parts import link_lines as _link_lines
from metaliverpool.scenario.impacts import Impacts
from metaliverpool.scenario.kpi_labels import (
    decomposition_table,
    format_number,
    journey_measure,
    kpi_table,
    uncertainty,
)

_UP = "#c0392b"
_DOWN = "#2471a3"
_LOOP = "#8e44ad"


def _change_cell(change: dict[str, Any], decimals: int, doc: dict[str, Any]) -> str:
    """A change with its interval where seeds vary (``+923 [+800, +1,050]``), rounded for people."""
    text = format_number(change.get("mean"), decimals, signed=True)
    if not doc.get("deterministic") and change.get("n", 0) > 1 and change.get("lower") is not None:
        lower = format_number(change["lower"], decimals, signed=True)
        upper = format_number(change["upper"], decimals, signed=True)
        text += f" <span class='ci'>[{lower}, {upper}]</span>"
    return text


def _link_map(
    projection: Projection,
    lines: pd.Series,
    values: pd.Series,
    title: str,
    unit: str,
    names: pd.Series,
    map_id: str,
    roads: str,
    points: list[tuple[float, float, str]] | None = None,
) -> str:
    """A map of ``values`` per link (colour and width by sign and size) over the grey ``roads`` (an SVG
    path of every link) and optional marked ``points`` (lon, lat, label): the junctions the AI loop took
    over."""
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
        f"<path d='{roads}' stroke='{_GREY}' stroke-width='0.6' fill='none'/>"
        f"<g fill='none' stroke-linecap='round'>{''.join(paths)}</g>"
        f"{_markers(projection, points or [])}</svg>"
    )
    items = [(_UP, f"more ({unit})"), (_DOWN, f"less ({unit})"), (_GREY, "no notable change")]
    if points:
        items.append((_LOOP, "junction retimed by the AI loop"))
    legend = _legend(items)
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{svg}{legend}</figure>"


def _markers(projection: Projection, points: list[tuple[float, float, str]]) -> str:
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


def _zone_name(zones: pd.DataFrame, zone_id: Any) -> str:
    """An LSOA by its name and code (``Liverpool 022A (E01006512)``), or its code without a name."""
    row = zones.loc[zones["zone_id"] == zone_id].iloc[0]
    name = row.get("name")
    return f"{name} ({row['zone_code']})" if isinstance(name, str) and name else str(row["zone_code"])


def _ai_loop_section(doc: dict[str, Any]) -> str:
    """What the AI signal loop did: settings and the junctions it took over (empty without the loop)."""
    loop = doc.get("ai_loop")
    if not loop:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(str(j.get('name') or j['osm_node_id']))}</td>"
        f"<td>{j['seeds_flagged']} of {loop['seeds']}</td>"
        f"<td>{_clock(j['first_flag_s'])}</td><td>{j['max_forecast']:.2f}</td></tr>"
        for j in loop["junctions"]
    )
    table = (
        "<table class='kpis' id='ai-loop'><thead><tr><th>junction</th><th>taken over in</th>"
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
        "Like every edit, the loop is compared with the base twin as it is: the changes on this page are the "
        "whole scenario's (run with <code>decompose</code> to separate what the loop adds). "
        "The junctions it took over are marked on the flow map.</p>" + table + _risk_forecast_table(loop)
    )


def _risk_forecast_table(loop: dict[str, Any]) -> str:
    """How well the trend and persistence foresaw the risk in the scenario's runs (empty without samples)."""
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
        f"<p>How well the risk {loop['horizon_s'] / 60:.0f} minutes later was foreseen in the scenario's "
        f"runs (the loop steering, so a junction it took over changed its own risk; {scores['pairs']} "
        "junction samples with traffic): MAE of the risk, and precision and recall of "
        f"'risk later at or above {loop['risk_threshold']:.2f}'.</p>"
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


def _zone_map(
    projection: Projection, twin: Twin, zones: pd.DataFrame, roads: str, map_id: str, measure: str
) -> str:
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
        code = _zone_name(zones, zone_id)
        label = f"{code}: {value:+.0f} s per trip" if math.isfinite(value) else f"{code}: no trips"
        polygons.append(
            f"<path d='{''.join(rings)}' fill='{_diverging_colour(float(value), largest)}' stroke='#888' "
            f"stroke-width='0.5'><title>{html.escape(label)}</title></path>"
        )
    svg = (
        f"<svg class='map' id='{map_id}' viewBox='0 0 {projection.width:.0f} {projection.height:.0f}' "
        f"width='{projection.width:.0f}' height='{projection.height:.0f}'"
        f" role='img' aria-label='winners and losers'>"
        f"<rect width='100%' height='100%' fill='#fbfbf8'/>{''.join(polygons)}"
        f"<path d='{roads}' stroke='#999' stroke-width='0.4' fill='none' opacity='0.6'/></svg>"
    )
    legend = _legend(
        [
            (_diverging_colour(-1, 1), "trips from here are better off"),
            (_diverging_colour(1, 1), "worse off"),
            ("#eeeeee", "no trips"),
        ]
    )
    return (
        f"<figure><figcaption>Winners and losers: mean change in {measure.lower()} of car trips starting in "
        f"each neighbourhood (LSOA)</figcaption>{svg}{legend}</figure>"
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
    """The first screen: what changes, for whom, how sure."""
    network = doc.get("network", {})
    journeys = doc.get("journeys", {})
    emissions = doc.get("emissions", {})
    vh = network.get("vehicle_hours", {}).get("change", {})
    vkm = network.get("vehicle_km", {}).get("change", {})
    co2 = emissions.get("co2_kg", {}).get("change", {})
    win = journeys.get("trips_winning", {}).get("mean")
    lose = journeys.get("trips_losing", {}).get("mean")
    deprived = doc.get("equity", {}).get("most_deprived_decile", {}).get("journey_change_s", {})
    rat = doc.get("diversion", {}).get("rat_running", {}).get("flagged", 0)
    measure, short = journey_measure(doc)
    period = f"{doc.get('period_h', 0):g}-hour morning peak"
    points = [
        f"<b>What changes:</b> time spent driving changes by <b>{_change_cell(vh, 0, doc)}</b> "
        f"vehicle-hours and distance driven by <b>{_change_cell(vkm, 0, doc)}</b> vehicle-km over the "
        f"{period}; carbon dioxide from traffic by <b>{_change_cell(co2, 0, doc)}</b> kg.",
        f"<b>For whom:</b> about <b>{format_number(win, 0)}</b> car trips are more than a minute better off "
        f"and <b>{format_number(lose, 0)}</b> more than a minute worse off ({html.escape(measure)}); "
        "trips from the most deprived tenth of neighbourhoods (IMD decile 1) change by "
        f"<b>{_change_cell(deprived, 0, doc)}</b> s each on average. Residential streets flagged for "
        f"possible rat-running: <b>{rat}</b>.",
        f"<b>How sure:</b> {html.escape(_how_sure(doc))} {html.escape(short)} is what the "
        "winners and losers are measured by.",
    ]
    return "<ul class='summary'>" + "".join(f"<li>{p}</li>" for p in points) + "</ul>"


def _how_sure(doc: dict[str, Any]) -> str:
    if doc.get("deterministic"):
        return (
            "The static engine is deterministic: one run each, no interval (its uncertainty is the twin's "
            "calibration, stated at the top)."
        )
    seeds = doc.get("seeds", 1)
    if seeds < 2:
        return "One seed: no interval; run more seeds to see how much the result varies."
    return (
        f"Changes are the mean over {seeds} seeds (baseline and scenario on the same seeds) with a "
        f"{uncertainty(doc)} in brackets."
    )


def _seeds_line(doc: dict[str, Any]) -> str:
    if doc.get("deterministic"):
        return "deterministic (one run of each side)"
    seeds = doc.get("engine_seeds") or doc.get("run", {}).get("seeds")
    return f"seeds {seeds}, baseline and scenario on the same seeds; intervals: 95% Student-t of the change"


def _refused(doc: dict[str, Any]) -> str:
    """The first lines when edits were refused and the run went ahead without them."""
    refused = doc.get("refused_edits") or []
    if not refused:
        return ""
    items = "".join(
        f"<li>{html.escape(str(r['title']))}: {html.escape(str(r['message']))}</li>" for r in refused
    )
    return (
        "<div class='refused' id='refused-edits'><p><b>Not in this run:</b> these edits were refused and "
        f"left out; every result below is without them.</p><ul>{items}</ul></div>"
    )


def _decomposition(doc: dict[str, Any]) -> str:
    """The package without the AI loop against do-nothing, and what the loop adds (decomposed runs)."""
    table = decomposition_table(doc)
    if not table:
        return ""
    rows = [
        f"<tr><th>{html.escape(row['label'])} ({html.escape(row['unit'])})</th>"
        f"<td>{row['package_without_loop']}</td><td>{row['loop_adds']}</td><td>{row['whole']}</td></tr>"
        for row in table
    ]
    return (
        "<h2>The package and the AI loop</h2><p>The whole scenario's change against the base twin, split "
        "into the package without the AI loop (against the base twin) and what the loop adds to it (the "
        "whole scenario against the package without the loop).</p>"
        "<table class='kpis' id='decomposition'><thead><tr><th>Measure</th><th>Package without the loop</th>"
        "<th>The loop adds</th><th>Whole scenario</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _notes(doc: dict[str, Any]) -> str:
    notes = doc.get("notes") or []
    if not notes:
        return ""
    return (
        "<p class='note'><b>Limits of this run:</b> " + " ".join(html.escape(str(n)) for n in notes) + "</p>"
    )


def _kpi_table(doc: dict[str, Any]) -> str:
    """Key measures: labels, units and rounding from :mod:`metaliverpool.scenario.kpi_labels`."""
    rows = "".join(
        f"<tr><th>{html.escape(row['label'])} ({html.escape(row['unit'])})</th>"
        f"<td>{row['display']['baseline']}</td><td>{row['display']['scenario']}</td>"
        f"<td>{row['display']['change']}</td>"
        f"<td class='ci'>{html.escape(row['display']['interval'])}</td></tr>"
        for row in kpi_table(doc)
    )
    return (
        "<table id='kpis'><thead><tr><th>Measure</th><th>Do nothing</th><th>Scenario</th><th>Change</th>"
        f"<th>How sure</th></tr></thead><tbody>{rows}</tbody></table>"
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
    projection = Projection(nodes["lon"].to_numpy(dtype=np.float64), nodes["lat"].to_numpy(dtype=np.float64))
    lines = _link_lines(base_twin)
    roads = "".join(projection.path(coords) for coords in lines.to_numpy())  # drawn under every map
    links = impacts.links.set_index("base_link_id")
    names = links["name"] if "name" in links else pd.Series(dtype=str)
    loop_points = [
        (
            j["lon"],
            j["lat"],
            f"{j.get('name') or j['osm_node_id']}: taken over at {_clock(j['first_flag_s'])}",
        )
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
        roads,
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
        roads,
    )
    zone_map = _zone_map(projection, base_twin, impacts.zones, roads, "map-zones", journey_measure(doc)[1])
    equity = doc.get("equity", {})
    _, short = journey_measure(doc)
    charts = [
        _equity_chart(
            equity.get("journey_change_s", []),
            f"Change in {short.lower()} of a car trip by IMD decile (s per trip)",
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
        f"<li value='{int(e.get('edit', 0))}'>{html.escape(str(e.get('label') or e.get('kind')))}: "
        + html.escape(
            ", ".join(
                f"{k.replace('_', ' ')} {v}" for k, v in e.items() if k not in ("edit", "id", "kind", "label")
            )
        )
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
{_refused(doc)}
<p class="calibration" id="twin-calibration">Twin: {html.escape(calibration_line(base_twin.manifest))}</p>
<p class="lede">{html.escape(str(scenario.get("description", "")))}</p>
<p class="note">Compared with the base twin as it is (do nothing).
Engine: {html.escape(str(run.get("engine")))}; {html.escape(_seeds_line(doc))}.
Journey measure: {html.escape(journey_measure(doc)[0])}.</p>
<h2>In short</h2>{_summary(doc)}{_notes(doc)}
<h2>Key measures</h2>{_kpi_table(doc)}{_decomposition(doc)}{_ai_loop_section(doc)}
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

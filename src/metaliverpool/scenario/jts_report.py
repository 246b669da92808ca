"""The twin's access times against DfT's published Journey Time Statistics as ``comparison.json`` and one
self-contained ``comparison.html`` (inline SVG, no script, no external request): per service and mode the
LSOAs compared, the median minutes of each, the median and mean difference (twin minus JTS) and the median
absolute difference, over all LSOAs and over those the twin does not flag at the edge of its study area;
then, per service, one plot per mode of JTS (x) against the twin (y) minutes with the 1:1 line, the LSOAs
flagged at the edge drawn in orange.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from metaliverpool.scenario.access_map import MODE_NAMES, SERVICE_NAMES
from metaliverpool.scenario.html_parts import STYLE, fmt, legend
from metaliverpool.scenario.svg_charts import SECOND_COLOUR, Point, xy_chart

EDGE_COLOUR = "#e67e22"
MODE_ORDER = ("car", "cycle", "walk")
_MODE_SUFFIX = {"car": "Cart", "cycle": "Cyct", "walk": "Walkt"}


def comparison_document(
    comparison: pd.DataFrame, differences: pd.DataFrame, twin_name: str, jts_files: list[str]
) -> dict[str, Any]:
    """``comparison.json``: the twin, the JTS files, one row per column (:func:`metrics.jts.compare_with_jts`)
    and one per LSOA and column (:func:`metrics.jts.jts_differences`), NaN as ``None``."""
    return {
        "twin": twin_name,
        "jts_files": jts_files,
        "columns": _records(comparison),
        "lsoas": _records(differences),
    }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = frame.to_dict(orient="records")
    return [
        {
            str(k): (None if isinstance(v, float) and not math.isfinite(v) else _plain(v))
            for k, v in row.items()
        }
        for row in rows
    ]


def _plain(value: Any) -> Any:
    """numpy scalars as Python values (for JSON)."""
    return value.item() if hasattr(value, "item") else value


def _summary_table(columns: list[dict[str, Any]]) -> str:
    head = (
        "<tr><th>Service</th><th>Mode</th><th>Column</th><th>LSOAs</th><th>Twin median, min</th>"
        "<th>JTS median, min</th><th>Median difference</th><th>Mean difference</th>"
        "<th>Median |difference|</th><th>Flagged at the edge</th><th>Median |difference|, unflagged</th></tr>"
    )
    body = []
    for row in columns:
        service = SERVICE_NAMES.get(row["service"], row["service"])
        mode = MODE_NAMES.get(_MODE_SUFFIX.get(row["mode"], ""), row["mode"])
        body.append(
            f"<tr><td>{html.escape(service)}</td><td>{html.escape(mode)}</td><td>{html.escape(row['column'])}"
            f"</td><td>{row['lsoas']}</td><td>{fmt(row['twin_median_min'], '{:.1f}')}</td>"
            f"<td>{fmt(row['jts_median_min'], '{:.1f}')}</td>"
            f"<td>{fmt(row['median_diff_min'], '{:+.1f}')}</td>"
            f"<td>{fmt(row['mean_diff_min'], '{:+.1f}')}</td><td>{fmt(row['median_abs_diff_min'], '{:.1f}')}"
            f"</td><td>{row['edge_lsoas']}</td><td>{fmt(row['median_abs_diff_unflagged_min'], '{:.1f}')}</td>"
            "</tr>"
        )
    return f"<table id='jts-summary'><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"


def _plots(columns: list[dict[str, Any]], lsoas: list[dict[str, Any]]) -> str:
    by_column: dict[str, list[dict[str, Any]]] = {}
    for row in lsoas:
        by_column.setdefault(row["column"], []).append(row)
    rows = []
    for service in dict.fromkeys(row["service"] for row in columns):
        figures = []
        for mode in MODE_ORDER:
            column = f"{service}{_MODE_SUFFIX[mode]}"
            if column not in by_column:
                continue
            points = [
                Point(
                    r["jts_min"],
                    r["twin_min"],
                    f"{r['LSOA_code']}: twin {r['twin_min']:.1f}, JTS {r['jts_min']:.1f} min"
                    + (" (a nearer one may be outside the twin)" if r["edge"] else ""),
                    EDGE_COLOUR if r["edge"] else SECOND_COLOUR,
                )
                for r in by_column[column]
            ]
            caption = f"{column}: {SERVICE_NAMES.get(service, service)} {MODE_NAMES[_MODE_SUFFIX[mode]]}"
            chart = xy_chart(f"jts-{column}", points, "JTS minutes", "twin minutes", size_px=280)
            figures.append(f"<figure><figcaption>{html.escape(caption)}</figcaption>{chart}</figure>")
        if figures:
            rows.append(f"<div class='charts'>{''.join(figures)}</div>")
    return "".join(rows)


def render_jts_comparison(document: dict[str, Any]) -> str:
    """The HTML page of a :func:`comparison_document`."""
    title = f"Access to services: {document['twin'] or 'the twin'} against DfT Journey Time Statistics"
    files = ", ".join(html.escape(f) for f in document["jts_files"])
    keys = legend(
        [
            (SECOND_COLOUR, "LSOA"),
            (EDGE_COLOUR, "flagged at the edge: a nearer service may lie outside the twin"),
        ]
    )
    body = (
        _summary_table(document["columns"]) + keys + _plots(document["columns"], document["lsoas"])
        if document["columns"]
        else "<p>No JTS column in common with the twin's table, or no LSOA in both.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} - Meta Liverpool</title>
<style>{STYLE}svg.chart{{border:1px solid #ddd;background:#fff}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="lede">Minutes to the nearest service per LSOA, the twin's (docs/access.md) against {files}.
Differences are the twin's minutes minus JTS's; dashed: the 1:1 line, where the two agree.</p>
<h2>By service and mode</h2>{body}
</body></html>
"""

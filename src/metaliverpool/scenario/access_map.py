"""The JTS access table as one self-contained HTML page of LSOA maps (``metaliverpool access --map``).

One small map per column (service x mode, JTS names), the LSOAs coloured by minutes on one scale from 0
to :data:`SCALE_MAX_MIN` (longer times take the darkest colour), grey where the twin reaches no
destination, and a dashed red outline where ``edge_services`` flags the service (a destination outside
the study area may be nearer). Hovering an LSOA shows its code and minutes.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd
import shapely

from metaliverpool.metrics.jts import JTS_SERVICES, MODE_SUFFIX
from metaliverpool.scenario.html_parts import Projection

MAP_WIDTH_PX = 300
SCALE_MAX_MIN = 30.0
"""Minutes at the dark end of the colour scale."""
NO_VALUE_COLOUR = "#d9d9d9"
MODE_NAMES = {"Cart": "by car", "Cyct": "by cycle", "Walkt": "on foot"}
SERVICE_NAMES = {
    "PS": "primary school",
    "SS": "secondary school",
    "GP": "GP",
    "Hosp": "hospital",
    "Food": "food store",
    "Town": "town centre",
}

_STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;line-height:1.4}
h1{font-size:1.4em}.row{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:8px}
figure{margin:0}figcaption{font-weight:600;font-size:.9em}svg.map{border:1px solid #ddd}
.legend{font-size:.85em;color:#444;margin:8px 0 16px}.key{margin-right:1.2em}
.key i{display:inline-block;width:18px;height:8px;margin-right:5px;vertical-align:middle}
"""


def minutes_colour(minutes: float) -> str:
    """Sequential colour of a time: pale yellow at 0 minutes to dark blue at :data:`SCALE_MAX_MIN`."""
    if not math.isfinite(minutes):
        return NO_VALUE_COLOUR
    t = max(0.0, min(1.0, minutes / SCALE_MAX_MIN))
    low, high = (255, 247, 188), (8, 48, 107)
    red, green, blue = (round(a + (b - a) * t) for a, b in zip(low, high, strict=True))
    return f"rgb({red},{green},{blue})"


def _rings(projection: Projection, shape: object) -> str:
    parts = getattr(shape, "geoms", [shape])
    return "".join(projection.path(p.exterior.coords) + "Z" for p in parts if isinstance(p, shapely.Polygon))


def render_access_map(zones: pd.DataFrame, table: pd.DataFrame, title: str) -> str:
    """The page for an access ``table`` (``metrics.jts.jts_access_table``) over the twin's ``zones``
    (``zone_code``, ``geometry``)."""
    shapes = zones.drop_duplicates("zone_code").set_index("zone_code")["geometry"]
    rows = table.set_index("LSOA_code")
    bounds = np.array([shapes[c].bounds for c in rows.index if c in shapes.index and shapes[c] is not None])
    if bounds.size == 0:
        bounds = np.zeros((1, 4))
    projection = Projection(
        np.concatenate([bounds[:, 0], bounds[:, 2]]),
        np.concatenate([bounds[:, 1], bounds[:, 3]]),
        MAP_WIDTH_PX,
    )
    codes = [str(code) for code in rows.index]
    flagged = (
        [str(listed).split(";") for listed in rows["edge_services"].fillna("")]
        if "edge_services" in rows.columns
        else [[] for _ in codes]
    )
    sections = []
    for service in JTS_SERVICES:
        figures = []
        for suffix in MODE_SUFFIX.values():
            column = f"{service}{suffix}"
            if column not in rows.columns:
                continue
            paths = []
            for code, value, edge_services in zip(
                codes, rows[column].to_numpy(dtype=float), flagged, strict=True
            ):
                shape = shapes.get(code)
                if shape is None:
                    continue
                edge = service in edge_services
                label = f"{code}: {value:.1f} min" if math.isfinite(value) else f"{code}: none reachable"
                label += " (a nearer one may be outside the study area)" if edge else ""
                stroke = "stroke='#c00' stroke-width='1' stroke-dasharray='3,2'" if edge else "stroke='#777'"
                paths.append(
                    f"<path class='lsoa' d='{_rings(projection, shape)}' fill='{minutes_colour(value)}' "
                    f"{stroke}><title>{html.escape(label)}</title></path>"
                )
            caption = f"{column}: {SERVICE_NAMES[service]} {MODE_NAMES[suffix]}"
            figures.append(
                f"<figure><figcaption>{html.escape(caption)}</figcaption>"
                f"<svg class='map' data-column='{column}' viewBox='0 0 {projection.width:.0f} "
                f"{projection.height:.0f}' width='{projection.width:.0f}' height='{projection.height:.0f}' "
                f"role='img' aria-label='{html.escape(caption)}'>{''.join(paths)}</svg></figure>"
            )
        if figures:
            sections.append(f"<div class='row'>{''.join(figures)}</div>")
    steps = [0.0, 5.0, 10.0, 20.0, SCALE_MAX_MIN]
    keys = "".join(
        f"<span class='key'><i style='background:{minutes_colour(m)}'></i>{m:.0f} min</span>" for m in steps
    )
    keys += f"<span class='key'><i style='background:{NO_VALUE_COLOUR}'></i>none reachable in the twin</span>"
    keys += "<span class='key'><i style='border:1px dashed #c00'></i>a nearer one may be outside</span>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Minutes to the nearest service from each LSOA, as DfT's Journey "
        "Time Statistics define them (docs/access.md).</p>"
        f"<div class='legend'>{keys}</div>{''.join(sections)}</body></html>"
    )

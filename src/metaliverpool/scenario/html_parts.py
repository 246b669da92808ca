"""Pieces shared by the self-contained HTML reports (scenario report, validation report).

Everything is inline: CSS in a ``<style>`` element, maps and charts as SVG, tooltips as SVG ``<title>``
elements; no external file, font, script or CDN.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import shapely

from metaliverpool.network.twin import Twin

MAP_WIDTH_PX = 860
GREY = "#c8c8c8"


def fmt(value: Any, pattern: str) -> str:
    """``value`` formatted with ``pattern``; ``n/a`` for a missing or non-finite value, no ``-0``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    text = pattern.format(value)
    if not text.strip("+-0.,"):
        text = text.lstrip("+-")  # no "-0.0" for a value that rounds to zero
    return text


class Projection:
    """Equirectangular lon/lat to SVG pixels fitted to a bounding box."""

    def __init__(self, lon: np.ndarray, lat: np.ndarray, width: float = MAP_WIDTH_PX) -> None:
        self.lon0, self.lon1 = float(np.nanmin(lon)), float(np.nanmax(lon))
        self.lat0, self.lat1 = float(np.nanmin(lat)), float(np.nanmax(lat))
        self.kx = math.cos(math.radians(0.5 * (self.lat0 + self.lat1)))
        span_x = max((self.lon1 - self.lon0) * self.kx, 1e-9)
        span_y = max(self.lat1 - self.lat0, 1e-9)
        self.scale = (width - 20) / span_x
        self.width = width
        self.height = span_y * self.scale + 20

    def xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = 10 + (np.asarray(lon) - self.lon0) * self.kx * self.scale
        y = 10 + (self.lat1 - np.asarray(lat)) * self.scale
        return x, y

    def path(self, coords: Iterable[tuple[float, float]]) -> str:
        array = np.asarray(list(coords), dtype=np.float64)
        if array.size == 0:
            return ""
        x, y = self.xy(array[:, 0], array[:, 1])
        return "M" + "L".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))


def link_lines(twin: Twin) -> pd.Series:
    """Each base link's coordinates (its geometry, or the straight line between its nodes)."""
    nodes = twin.nodes.set_index("node_id")
    out = {}
    geometries = twin.links["geometry"] if "geometry" in twin.links.columns else None
    for row, (link, a, b) in enumerate(
        zip(twin.links["link_id"], twin.links["from_node_id"], twin.links["to_node_id"], strict=True)
    ):
        geometry = geometries.iat[row] if geometries is not None else None
        if isinstance(geometry, shapely.LineString) and not geometry.is_empty:
            out[int(link)] = list(geometry.coords)
        else:
            out[int(link)] = [
                (nodes.at[a, "lon"], nodes.at[a, "lat"]),
                (nodes.at[b, "lon"], nodes.at[b, "lat"]),
            ]
    return pd.Series(out)


def legend(items: list[tuple[str, str]]) -> str:
    """A legend line of (colour, text) keys."""
    parts = [
        f"<span class='key'><i style='background:{colour}'></i>{html.escape(text)}</span>"
        for colour, text in items
    ]
    return "<div class='legend'>" + "".join(parts) + "</div>"


STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:920px;
color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:0}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
.lede{color:#555}.summary li{margin:.3em 0}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}.ci{color:#666;font-size:.9em}
figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}
svg.map{border:1px solid #ddd;max-width:100%;height:auto}
.legend{font-size:.85em;color:#444}.key{margin-right:1.2em}
.key i{display:inline-block;width:18px;height:6px;margin-right:5px;vertical-align:middle}
svg.chart text{font-size:11px;fill:#333}.charts{display:flex;flex-wrap:wrap;gap:12px}
.note{font-size:.85em;color:#666}
.calibration{font-size:.9em;border-left:3px solid #c77700;padding:2px 8px;background:#fafafa}
"""

"""Small inline-SVG charts for the self-contained reports (no script, no external request).

- :func:`xy_chart`: points of two comparable quantities (prior against calibrated trips, published against
  modelled minutes) on one scale, with the 1:1 line dashed; each point has a hover title.
- :func:`band_chart`: two distributions over the same bands (trip-length shares, prior and calibrated) as
  paired bars.
- :func:`series_chart`: values by iteration on a log scale (relative gaps), with a threshold line.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

PAD_PX = 56
"""Room for the axis labels."""
FIRST_COLOUR = "#7f8c8d"
SECOND_COLOUR = "#2471a3"


@dataclass(frozen=True)
class Point:
    """One marker: ``x``, ``y`` in the chart's units, its hover ``title`` and fill ``colour``."""

    x: float
    y: float
    title: str
    colour: str = SECOND_COLOUR


def _frame(chart_id: str, size_px: tuple[int, int], label: str, body: str, x_label: str, y_label: str) -> str:
    width, height = size_px
    return (
        f"<svg class='chart' id='{html.escape(chart_id)}' viewBox='0 0 {width} {height}' width='{width}'"
        f" height='{height}' role='img' aria-label='{html.escape(label)}'>"
        f"<line x1='{PAD_PX}' y1='{height - PAD_PX}' x2='{width - 10}' y2='{height - PAD_PX}' stroke='#333'/>"
        f"<line x1='{PAD_PX}' y1='{height - PAD_PX}' x2='{PAD_PX}' y2='10' stroke='#333'/>{body}"
        f"<text x='{width / 2:.0f}' y='{height - 6}' text-anchor='middle'>{html.escape(x_label)}</text>"
        f"<text x='12' y='{height / 2:.0f}' transform='rotate(-90 12 {height / 2:.0f})'"
        f" text-anchor='middle'>{html.escape(y_label)}</text></svg>"
    )


def _tick_text(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:g}"


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) above 0 and below ``top``, about ``count``."""
    if not math.isfinite(top) or top <= 0:
        return []
    raw = top / count
    power = 10.0 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1.0, 2.0, 5.0, 10.0)), key=lambda step: abs(top / step - count))
    return [k * step for k in range(1, int(top / step) + 1) if k * step < top]


def xy_chart(chart_id: str, points: Sequence[Point], x_label: str, y_label: str, size_px: int = 360) -> str:
    """``points`` on one linear scale from 0 to the largest value (x and y alike), the 1:1 line dashed."""
    finite = [p for p in points if math.isfinite(p.x) and math.isfinite(p.y)]
    top = max([max(p.x, p.y) for p in finite] + [0.0]) * 1.08 or 1.0
    span = size_px - PAD_PX - 10

    def sx(v: float) -> float:
        return PAD_PX + max(v, 0.0) / top * span

    def sy(v: float) -> float:
        return size_px - PAD_PX - max(v, 0.0) / top * span

    ticks = []
    for value in nice_ticks(top):
        ticks.append(f"<text x='{sx(value):.1f}' y='{size_px - PAD_PX + 16}' text-anchor='middle'>")
        ticks.append(f"{_tick_text(value)}</text>")
        ticks.append(
            f"<text x='{PAD_PX - 4}' y='{sy(value) + 4:.1f}' text-anchor='end'>{_tick_text(value)}</text>"
        )
    marks = [
        f"<circle class='pt' cx='{sx(p.x):.1f}' cy='{sy(p.y):.1f}' r='3.5' fill='{p.colour}'"
        f" fill-opacity='0.75'><title>{html.escape(p.title)}</title></circle>"
        for p in finite
    ]
    body = (
        f"<line class='one-to-one' x1='{sx(0):.1f}' y1='{sy(0):.1f}' x2='{sx(top):.1f}' y2='{sy(top):.1f}'"
        f" stroke='#555' stroke-dasharray='4 3'/>{''.join(ticks)}{''.join(marks)}"
    )
    return _frame(chart_id, (size_px, size_px), f"{y_label} against {x_label}", body, x_label, y_label)


def band_chart(
    chart_id: str,
    first: Sequence[float],
    second: Sequence[float],
    band_width: float,
    names: tuple[str, str],
    x_label: str,
    width_px: int = 520,
    height_px: int = 260,
) -> str:
    """Two share distributions over bands of ``band_width`` as paired bars (``names`` in the titles)."""
    bands = max(len(first), len(second), 1)
    top = max([*first, *second, 0.0]) * 1.1 or 1.0
    step = (width_px - PAD_PX - 10) / bands
    base = height_px - PAD_PX
    bars = []
    for k in range(bands):
        for offset, values, colour, name in (
            (0.1, first, FIRST_COLOUR, names[0]),
            (0.5, second, SECOND_COLOUR, names[1]),
        ):
            value = values[k] if k < len(values) else 0.0
            tall = value / top * (base - 10)
            title = f"{name}: {100 * value:.1f}% of trips at {k * band_width:g}-{(k + 1) * band_width:g}"
            bars.append(
                f"<rect class='bar' x='{PAD_PX + (k + offset) * step:.1f}' y='{base - tall:.1f}'"
                f" width='{0.4 * step:.1f}' height='{tall:.1f}' fill='{colour}'><title>{html.escape(title)}"
                "</title></rect>"
            )
    labels = [
        f"<text x='{PAD_PX + k * step:.1f}' y='{base + 16}' text-anchor='middle'>{k * band_width:g}</text>"
        for k in range(0, bands + 1, max(1, bands // 8))
    ]
    label_y = base - (base - 10) / 1.1 + 4
    labels.append(f"<text x='{PAD_PX - 4}' y='{label_y:.1f}' text-anchor='end'>{100 * top / 1.1:.0f}%</text>")
    return _frame(
        chart_id,
        (width_px, height_px),
        f"{names[0]} and {names[1]} by {x_label}",
        "".join(bars + labels),
        x_label,
        "share",
    )


def series_chart(
    chart_id: str, values: Sequence[float], threshold: float, x_label: str, y_label: str, width_px: int = 360
) -> str:
    """``values`` by iteration (1, 2, ...) on a log scale, with ``threshold`` as a dashed red line."""
    height_px = 240
    shown = [v for v in values if math.isfinite(v) and v > 0]
    low = math.floor(math.log10(min([*shown, threshold]))) if shown else -4
    high = math.ceil(math.log10(max([*shown, threshold]))) if shown else 0
    high = max(high, low + 1)
    count = max(len(values), 2)

    def sx(i: int) -> float:
        return PAD_PX + (i / (count - 1)) * (width_px - PAD_PX - 10)

    def sy(v: float) -> float:
        return height_px - PAD_PX - (math.log10(v) - low) / (high - low) * (height_px - PAD_PX - 10)

    points = [(sx(i), sy(v), i + 1, v) for i, v in enumerate(values) if math.isfinite(v) and v > 0]
    line = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points) if points else ""
    body = [f"<path class='series' d='{line}' stroke='{SECOND_COLOUR}' fill='none' stroke-width='1.5'/>"]
    body += [
        f"<circle class='pt' cx='{x:.1f}' cy='{y:.1f}' r='3' fill='{SECOND_COLOUR}'>"
        f"<title>iteration {i}: {v:.3g}</title></circle>"
        for x, y, i, v in points
    ]
    body.append(
        f"<line class='threshold' x1='{PAD_PX}' y1='{sy(threshold):.1f}' x2='{width_px - 10}'"
        f" y2='{sy(threshold):.1f}' stroke='#c0392b' stroke-dasharray='5 3'/>"
    )
    body += [
        f"<text x='{PAD_PX - 4}' y='{sy(10.0**e) + 4:.1f}' text-anchor='end'>1e{e}</text>"
        for e in range(low, high + 1)
    ]
    body += [
        f"<text x='{sx(i - 1):.1f}' y='{height_px - PAD_PX + 16}' text-anchor='middle'>{i}</text>"
        for i in sorted({1, count})
    ]
    return _frame(chart_id, (width_px, height_px), f"{y_label} by {x_label}", "".join(body), x_label, y_label)

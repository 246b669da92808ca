"""How a run's KPIs are shown to people: plain labels, units, rounding, and whether there is an interval.

One place for the HTML report (:mod:`metaliverpool.scenario.report`) and the API (each run's
``kpi_table``, :func:`kpi_table`), so the web panel and the report say the same thing in the same words.

- Labels say what is measured and over what: ``Vehicle-kilometres per morning``, ``Carbon dioxide per
  morning``.
- Values are rounded to the decimals of each KPI (:class:`KpiSpec`); a value that rounds to zero shows as
  ``0`` (never ``0.00000542`` or ``-0``); thousands are separated by commas.
- Intervals only where seeds vary: a run of the static engine (deterministic) or of one seed shows
  ``deterministic`` / ``one seed`` instead of a zero-width interval.
- Journeys: the static engine measures a trip's generalised cost (time plus any charge, as minutes at the
  run's value of time), the dynamic engine its travel time; :func:`journey_measure` names which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

INTERVAL_LEVEL_PERCENT = 95
"""The level of the intervals across seeds (Student t, ``metrics.intervals``)."""


@dataclass(frozen=True)
class KpiSpec:
    """One KPI row: where it sits in ``kpis.json`` (``path``), its label and unit, and its decimals."""

    path: tuple[str, ...]
    label: str
    unit: str
    decimals: int
    kind: str = "triple"
    """``triple`` (baseline, scenario, change), ``change`` (a change only, e.g. trips faster) or
    ``level`` (a value that the scenario does not change, e.g. access on foot)."""


KPI_SPECS: tuple[KpiSpec, ...] = (
    KpiSpec(("network", "vehicle_km"), "Vehicle-kilometres per morning", "veh-km", 0),
    KpiSpec(("network", "vehicle_hours"), "Vehicle-hours per morning", "veh-h", 0),
    KpiSpec(("network", "delay_hours"), "Delay (vehicle-hours per morning)", "veh-h", 0),
    KpiSpec(("network", "mean_speed_kmh"), "Mean speed", "km/h", 1),
    KpiSpec(("network", "queue_veh_at_junctions"), "Mean queue at junctions", "vehicles", 0),
    KpiSpec(("emissions", "co2_kg"), "Carbon dioxide per morning", "kg", 0),
    KpiSpec(("emissions", "nox_kg"), "Nitrogen oxides per morning", "kg", 2),
    KpiSpec(("emissions", "pm25_kg"), "Exhaust particles (PM2.5) per morning", "kg", 3),
    KpiSpec(("journeys", "trips_arrived"), "Car trips that arrived", "trips", 0),
    KpiSpec(("journeys", "trips_winning"), "Car trips over a minute better off", "trips", 0, "change"),
    KpiSpec(("journeys", "trips_losing"), "Car trips over a minute worse off", "trips", 0, "change"),
    *(
        KpiSpec(("access", "car", kind, "nearest_min"), f"Minutes to the nearest {name} by car", "min", 1)
        for kind, name in (("gp", "GP"), ("hospital", "hospital"), ("school", "school"))
    ),
    *(
        KpiSpec(
            ("access", "walk", kind, "nearest_min"),
            f"Minutes to the nearest {name} on foot",
            "min",
            1,
            "level",
        )
        for kind, name in (("gp", "GP"), ("hospital", "hospital"), ("school", "school"))
    ),
)
"""The KPIs a run shows, in order (the report's key measures and the API's ``kpi_table``)."""


def format_number(value: Any, decimals: int, signed: bool = False) -> str:
    """``value`` rounded to ``decimals`` with thousands separators; ``0`` when it rounds to zero; ``n/a``
    when missing; a leading ``+`` for a positive change when ``signed``."""
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "n/a"
    rounded = round(float(value), decimals)
    if rounded == 0:
        return "0"
    text = f"{rounded:,.{decimals}f}"
    return f"+{text}" if signed and rounded > 0 else text


def uncertainty(document: dict[str, Any]) -> str:
    """How sure the run's numbers are, in words: ``deterministic``, ``one seed`` or the interval rule."""
    if document.get("deterministic"):
        return "deterministic"
    seeds = int(document.get("seeds", 1) or 1)
    if seeds < 2:
        return "one seed"
    return f"{INTERVAL_LEVEL_PERCENT}% interval over {seeds} seeds"


def _change_interval(change: dict[str, Any], spec: KpiSpec, document: dict[str, Any]) -> str:
    """The interval of a change as text (``[+1,000, +1,400]``), or why there is none."""
    if document.get("deterministic") or int(change.get("n", 0) or 0) < 2:
        return uncertainty(document)
    lower = format_number(change.get("lower"), spec.decimals, signed=True)
    upper = format_number(change.get("upper"), spec.decimals, signed=True)
    return f"[{lower}, {upper}]"


def _find(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def kpi_table(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's KPIs as rows for people (the ``kpis.json`` ``document``): per KPI its ``key`` (dotted
    path in ``kpis.json``), ``label``, ``unit``, the raw ``baseline`` / ``scenario`` / ``change`` means and
    ``interval`` (``[lower, upper]`` of the change, or None where seeds do not vary), and ``display`` (the
    same as rounded text, ``interval`` saying ``deterministic`` where there is none)."""
    rows = []
    for spec in KPI_SPECS:
        entry = _find(document, spec.path)
        if not isinstance(entry, dict):
            continue
        if spec.kind == "triple":
            baseline, scenario = entry["baseline"].get("mean"), entry["scenario"].get("mean")
            change = entry["change"]
        elif spec.kind == "change":
            baseline = scenario = None
            change = entry
        else:
            baseline = scenario = entry.get("mean")
            change = {"mean": 0.0, "n": 0}
        varies = not document.get("deterministic") and int(change.get("n", 0) or 0) >= 2
        rows.append(
            {
                "key": ".".join(spec.path),
                "label": spec.label,
                "unit": spec.unit,
                "baseline": baseline,
                "scenario": scenario,
                "change": change.get("mean"),
                "interval": [change.get("lower"), change.get("upper")] if varies else None,
                "display": {
                    "baseline": "" if spec.kind == "change" else format_number(baseline, spec.decimals),
                    "scenario": "" if spec.kind == "change" else format_number(scenario, spec.decimals),
                    "change": "unchanged"
                    if spec.kind == "level"
                    else format_number(change.get("mean"), spec.decimals, signed=True),
                    "interval": "" if spec.kind == "level" else _change_interval(change, spec, document),
                },
            }
        )
    return rows


def decomposition_table(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The network and emissions rows of a decomposed run (``kpis.decomposition``): per KPI its ``key``,
    ``label``, ``unit`` and the rounded change (text, signed) of the package without the AI loop (against
    the base twin), what the loop adds (the whole scenario against the package) and the whole scenario;
    empty without a decomposition. The report's and the web panel's table of the package and the loop."""
    parts = document.get("decomposition")
    if not isinstance(parts, dict) or not parts:
        return []
    rows = []
    for whole, package, loop in zip(
        kpi_table(document),
        kpi_table({**document, **parts["package_without_loop"]}),
        kpi_table({**document, **parts["loop_adds"]}),
        strict=False,
    ):
        if whole["key"] != package["key"] or not whole["key"].startswith(("network", "emissions")):
            continue
        rows.append(
            {
                "key": whole["key"],
                "label": whole["label"],
                "unit": whole["unit"],
                "package_without_loop": package["display"]["change"],
                "loop_adds": loop["display"]["change"],
                "whole": whole["display"]["change"],
            }
        )
    return rows


def journey_measure(document: dict[str, Any]) -> tuple[str, str]:
    """(what a trip's "journey" change measures, in words; its short name) for this run's engine."""
    measure = str(_find(document, ("journeys", "measure")) or "")
    if measure.startswith("generalised cost"):
        return (
            "generalised cost of a car trip (time plus any charge, as time at the value of time)",
            "Generalised cost",
        )
    return "travel time of a car trip (trips that arrived)", "Journey time"

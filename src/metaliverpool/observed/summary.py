"""The one line that says what a twin was calibrated and validated against.

``twin info``, the scenario report and the map show :func:`calibration_line` of the twin's manifest. The
manifest's ``calibration`` record (written by calibration) has ``calibrated``, ``method``, ``engine``,
``observations`` (each with ``use``), ``results``, ``validation`` and ``summary``, one line a planner
reads. A twin without the record, or with ``calibrated: false``, is the prior.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

NOT_CALIBRATED = "Not calibrated: demand is the prior (docs/validation.md)"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def calibration_line(manifest: Mapping[str, Any]) -> str:
    """One line: the record's ``summary``; else, for a calibrated twin, a line made from its method and
    observations; else :data:`NOT_CALIBRATED` (or the record's own "Not calibrated: ..." summary)."""
    record = manifest.get("calibration")
    if not isinstance(record, Mapping):
        return NOT_CALIBRATED
    summary = record.get("summary")
    if isinstance(summary, str) and summary.strip():
        line = _one_line(summary)
        if record.get("calibrated") is not True and not line.lower().startswith("not calibrated"):
            return f"Not calibrated: {line}"
        return line
    if record.get("calibrated") is not True:
        return NOT_CALIBRATED
    observations = [o for o in record.get("observations") or [] if isinstance(o, Mapping)]
    calibrated = sum(1 for o in observations if o.get("use") == "calibration")
    validated = sum(1 for o in observations if o.get("use") == "validation")
    method = _one_line(str(record.get("method") or "unnamed method"))
    engine = _one_line(str(record.get("engine") or "unstated engine"))
    line = f"Calibrated ({method}, {engine} engine) to {calibrated} observation(s)"
    return line + (f"; validated against {validated} held out" if validated else "; not validated")

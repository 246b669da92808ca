"""Checks of edits against an engine and against each other, and their per-edit verdicts.

One check serves the run (:func:`metaliverpool.edits.apply.check_edits`, which applies the edits that
pass) and the editor (``POST /api/scenarios/{id}/check``), so an edit refused in the editor is refused by
the run for the same reason, in the same words. An edit is refused when

- the engine cannot represent it (:data:`ENGINE_UNSUPPORTED`: the static engine has no signals),
- it cannot be applied to the twin (a way or node not in the twin, a bus lane on a one-lane street, a
  closure that cuts a zone off, ...),
- it sets what an earlier edit already sets on the same links (:data:`CONFLICTING_KINDS`: two lane
  counts, or two speed limits, on one street),
- it changes nothing (a low-traffic neighbourhood with nothing to filter), with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from metaliverpool.edits.describe import numbered

ENGINE_UNSUPPORTED: dict[str, dict[str, str]] = {
    "static": {
        "signal_plan": "the static engine has no signals: run signal retiming with the dynamic engine",
        "ai_signal_control": "the static engine has no signals: run the AI loop with the dynamic engine",
    },
    "dynamic": {},
}
"""Per engine, the edit kinds it cannot represent and why (every signal edit of the catalogue in
:mod:`metaliverpool.edits.schema` for the static engine)."""

CONFLICTING_KINDS: dict[str, str] = {
    "change_lanes": "the lane count",
    "speed_limit": "the speed limit",
    "bus_lane": "a bus lane",
}
"""Edit kinds of which two on the same links conflict, and what both would set."""


@dataclass(frozen=True)
class EditCheck:
    """The verdict on one edit: its number (1-based place in the scenario), label, and why it is refused
    (``message``, empty when ``ok``)."""

    number: int
    kind: str
    label: str
    status: Literal["ok", "refused"]
    message: str = ""
    field: str = ""
    """The edit's field the refusal is about (``osm_way_ids``), when one is."""

    @property
    def title(self) -> str:
        """``edit 5 (bus lane on Strand Street)``."""
        return numbered(self.number, self.label)

    @property
    def where(self) -> str:
        """The title, and the field when there is one (for :class:`~metaliverpool.errors.InputError`)."""
        return f"{self.title}, field '{self.field}'" if self.field else self.title

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API and ``kpis.json``."""
        return {
            "edit": self.number,
            "kind": self.kind,
            "label": self.label,
            "title": self.title,
            "status": self.status,
            "message": self.message,
            "field": self.field,
        }


def engine_refusal(kind: str, engine: str | None) -> str | None:
    """Why ``engine`` cannot represent an edit of ``kind``, or None (also when no engine is given)."""
    if engine is None:
        return None
    return ENGINE_UNSUPPORTED.get(engine, {}).get(kind)


def refusal_summary(checks: list[EditCheck]) -> str:
    """One line naming every refused edit and why (``edit 5 (bus lane on ...): ...; edit 7 (...): ...``)."""
    return "; ".join(f"{check.where}: {check.message}" for check in checks if check.status == "refused")

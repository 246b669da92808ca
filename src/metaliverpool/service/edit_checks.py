"""Check a scenario's edits against its twin and engine, for the editor and before a run is queued.

The same checks as the run (:func:`metaliverpool.edits.apply.check_edits`), plus what the run needs from
the twin bundle (the junction-risk history of the AI loop's ``history`` forecast). Every edit gets a
verdict, numbered by its place in the list (1-based, as the editor lists them) and labelled with the
street, junction or area it acts on; an edit that does not even match the schema is refused with the
schema's words.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from metaliverpool.edits import validate_edit
from metaliverpool.edits.apply import check_edits
from metaliverpool.edits.check import EditCheck, refusal_summary
from metaliverpool.edits.schema import Edit
from metaliverpool.errors import InputError
from metaliverpool.network.twin import Twin


def _history_refusal(edit: Edit, twin_path: Path) -> str | None:
    """Why an AI loop on the ``history`` forecast cannot run on this twin (no history trained), or None."""
    from metaliverpool.scenario.risk_profile import PROFILE_PATH  # the engines: loaded only when needed

    if getattr(edit, "forecast", None) != "history" or (twin_path / PROFILE_PATH).is_file():
        return None
    return (
        "this twin has no junction-risk history for the 'history' forecast: train it with "
        f"`metaliverpool signals train-risk --twin {twin_path}` (or choose the 'trend' forecast)"
    )


def check_edit_list(twin: Twin, twin_path: Path, raw_edits: list[Any], engine: str) -> list[EditCheck]:
    """One verdict per edit of ``raw_edits`` (plain data, in order) on ``twin`` with ``engine``."""
    verdicts: dict[int, EditCheck] = {}
    valid: list[tuple[int, Edit]] = []
    for number, raw in enumerate(raw_edits, start=1):
        try:
            valid.append((number, validate_edit(raw, source="edit", number=number)))
        except InputError as error:
            kind = str(raw.get("kind", "edit")) if isinstance(raw, dict) else "edit"
            where = error.where or ""
            field = where.split(", field ", 1)[1].strip("'") if ", field " in where else ""
            verdicts[number] = EditCheck(
                number, kind, kind.replace("_", " "), "refused", error.problem, field
            )
    _, checks = check_edits(twin, [edit for _, edit in valid], engine=engine, source="edits")
    for (number, edit), check in zip(valid, checks, strict=True):
        history = _history_refusal(edit, twin_path) if check.status == "ok" else None
        if history is not None:
            check = dataclasses.replace(check, status="refused", message=history)
        verdicts[number] = dataclasses.replace(check, number=number)
    return [verdicts[number] for number in sorted(verdicts)]


def require_runnable(twin: Twin, twin_path: Path, raw_edits: list[Any], engine: str, source: str) -> None:
    """Raise :class:`InputError` (422 in the API) naming every refused edit of a run; returns quietly
    when every edit passes."""
    checks = check_edit_list(twin, twin_path, raw_edits, engine)
    if any(check.status == "refused" for check in checks):
        raise InputError(source, refusal_summary(checks))

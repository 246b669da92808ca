"""Compare two scenarios: their edits and settings, and, when both have been run, their KPIs.

:func:`diff_scenarios` lists edits added, removed and changed from A to B (edits are matched by their
``id`` when they have one, else by their content) and the settings that differ. :func:`diff_kpis` takes two
``kpis.json`` documents and gives, for every KPI, A's and B's scenario value and change, and B - A.
"""

from __future__ import annotations

import json
from typing import Any

from metaliverpool.edits.schema import Scenario


def _edit_key(edit: dict[str, Any]) -> str:
    return f"id:{edit['id']}" if edit.get("id") else "content:" + json.dumps(edit, sort_keys=True)


def diff_scenarios(a: Scenario, b: Scenario) -> dict[str, Any]:
    """Edits added / removed / changed from ``a`` to ``b`` and the top-level settings that differ."""
    doc_a, doc_b = a.to_document(), b.to_document()
    edits_a = {_edit_key(e): e for e in doc_a["edits"]}
    edits_b = {_edit_key(e): e for e in doc_b["edits"]}
    changed = [
        {"id": key.removeprefix("id:"), "from": edits_a[key], "to": edits_b[key]}
        for key in edits_a
        if key in edits_b and edits_a[key] != edits_b[key]
    ]
    settings = {
        field: {"a": doc_a.get(field), "b": doc_b.get(field)}
        for field in ("name", "base_twin", "demand", "run")
        if doc_a.get(field) != doc_b.get(field)
    }
    return {
        "edits_added": [edits_b[k] for k in edits_b if k not in edits_a],
        "edits_removed": [edits_a[k] for k in edits_a if k not in edits_b],
        "edits_changed": changed,
        "settings": settings,
    }


def _flatten(document: dict[str, Any], groups: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for group in groups:
        for name, entry in document.get(group, {}).items():
            if isinstance(entry, dict) and "scenario" in entry and "change" in entry:
                out[f"{group}.{name}"] = entry
    return out


def diff_kpis(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per KPI present in both: A's and B's scenario mean and change against their baselines, and B - A."""
    groups = ("network", "emissions")
    flat_a, flat_b = _flatten(a, groups), _flatten(b, groups)
    rows = {}
    for key in flat_a:
        if key not in flat_b:
            continue
        sa, sb = flat_a[key]["scenario"]["mean"], flat_b[key]["scenario"]["mean"]
        rows[key] = {
            "a_scenario": sa,
            "b_scenario": sb,
            "a_change": flat_a[key]["change"]["mean"],
            "b_change": flat_b[key]["change"]["mean"],
            "b_minus_a": (sb - sa) if sa is not None and sb is not None else None,
        }
    for key in ("trips_winning", "trips_losing", "mean_change_s"):
        ja, jb = a.get("journeys", {}).get(key), b.get("journeys", {}).get(key)
        if ja and jb:
            rows[f"journeys.{key}"] = {
                "a_change": ja["mean"],
                "b_change": jb["mean"],
                "b_minus_a": None if ja["mean"] is None or jb["mean"] is None else jb["mean"] - ja["mean"],
            }
    return {
        "a": a.get("scenario", {}).get("name"),
        "b": b.get("scenario", {}).get("name"),
        "same_twin": a.get("twin", {}).get("digest") == b.get("twin", {}).get("digest"),
        "kpis": rows,
    }

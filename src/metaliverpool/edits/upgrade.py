"""Upgrade scenario documents written by older versions of the schema to the current one.

Each function takes a plain document of version ``n`` and returns one of version ``n + 1``; they are
chained by :func:`upgrade_document`. Documents of an unknown version are rejected with an
:class:`~metaliverpool.errors.InputError` naming the field ``schema_version``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from metaliverpool.edits.schema import SCHEMA_VERSION
from metaliverpool.errors import InputError

Document = dict[str, Any]


def upgrade_v1_to_v2(document: Mapping[str, Any]) -> Document:
    """Version 1 kept ``engine``, ``seeds`` (a count) and ``demand_growth_percent`` at the top level.

    Version 2 groups them as ``run: {engine, seeds: [1..n]}`` and ``demand: {growth_percent}``.
    """
    upgraded = {key: value for key, value in document.items()}
    run: dict[str, Any] = {}
    if "engine" in upgraded:
        run["engine"] = upgraded.pop("engine")
    if "seeds" in upgraded:
        count = upgraded.pop("seeds")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"version 1 'seeds' is a count of seeds (a positive integer), got {count!r}")
        run["seeds"] = list(range(1, count + 1))
    demand: dict[str, Any] = {}
    if "demand_growth_percent" in upgraded:
        demand["growth_percent"] = upgraded.pop("demand_growth_percent")
    if run:
        upgraded["run"] = run
    if demand:
        upgraded["demand"] = demand
    upgraded["schema_version"] = 2
    return upgraded


UPGRADES: Mapping[int, Callable[[Mapping[str, Any]], Document]] = {1: upgrade_v1_to_v2}
"""``UPGRADES[n]`` turns a version ``n`` document into version ``n + 1``."""


def upgrade_document(document: Mapping[str, Any], source: str) -> Document:
    """Bring ``document`` to :data:`~metaliverpool.edits.schema.SCHEMA_VERSION` (a new dict)."""
    version = document.get("schema_version")
    if version is None:
        raise InputError(source, f"missing; expected {SCHEMA_VERSION}", where="field 'schema_version'")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SCHEMA_VERSION:
        raise InputError(
            source,
            f"unknown schema version {version!r}; this code reads versions 1 to {SCHEMA_VERSION}",
            where="field 'schema_version'",
        )
    upgraded = dict(document)
    while upgraded["schema_version"] < SCHEMA_VERSION:
        step = upgraded["schema_version"]
        try:
            upgraded = UPGRADES[step](upgraded)
        except ValueError as error:
            raise InputError(source, str(error), where=f"upgrading from version {step}") from None
    return upgraded

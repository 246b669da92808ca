"""Read and write twin bundles: a folder of GeoParquet tables plus ``manifest.json``.

Layout (``docs/twin-format.md``)::

    <bundle>/manifest.json        format_version, region, sources, counts, build config, code version
    <bundle>/<table>.parquet      one file per table of :data:`metaliverpool.network.twin.TABLE_COLUMNS`

Writing is atomic (:func:`metaliverpool.atomic.atomic_directory`): a failed write leaves the previous
bundle, or nothing. Reading checks the format version and the required columns and raises
:class:`~metaliverpool.errors.InputError` naming the file and what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from metaliverpool.atomic import atomic_directory
from metaliverpool.errors import InputError
from metaliverpool.network.twin import TABLE_COLUMNS, Twin
from metaliverpool.store.geoparquet import read_geoparquet, write_geoparquet

BUNDLE_FORMAT_VERSION = 1
"""Incremented on any incompatible change of the bundle format (additive column changes do not count)."""

MANIFEST_NAME = "manifest.json"

OD_PRIOR_TABLE = "od_prior"
"""Optional table of a calibrated twin: the prior matrix (``origin_zone_id`` int32,
``destination_zone_id`` int32, ``trips`` float64 over 07:00-10:00, before estimation)."""


def table_path(bundle: Path, name: str) -> Path:
    """Path of table ``name`` inside ``bundle``."""
    return Path(bundle) / f"{name}.parquet"


def write_twin(twin: Twin, path: Path, extra_tables: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write ``twin`` to the folder ``path`` atomically (replacing an existing bundle); returns the path.

    ``extra_tables`` are optional tables written beside the required ones (e.g. :data:`OD_PRIOR_TABLE`)
    and listed in the manifest's ``tables``. Raises ``ValueError`` if a table lacks a required column (a
    programming error, not user input) or an extra table has a required table's name.
    """
    extra = dict(extra_tables or {})
    clash = sorted(set(extra) & set(TABLE_COLUMNS))
    if clash:
        raise ValueError(f"extra tables may not replace required tables: {clash}")
    missing = twin.missing_columns()
    if missing:
        raise ValueError(f"twin tables lack required columns: {missing}")
    manifest: dict[str, Any] = dict(twin.manifest)
    manifest["format_version"] = BUNDLE_FORMAT_VERSION
    manifest["counts"] = twin.counts()
    manifest["tables"] = {name: f"{name}.parquet" for name in [*TABLE_COLUMNS, *extra]}
    with atomic_directory(Path(path)) as staging:
        for name, frame in twin.tables().items():
            ordered = list(TABLE_COLUMNS[name]) + [c for c in frame.columns if c not in TABLE_COLUMNS[name]]
            write_geoparquet(frame[ordered], table_path(staging, name))
        for name, frame in extra.items():
            write_geoparquet(frame, table_path(staging, name))
        (staging / MANIFEST_NAME).write_text(
            json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"
        )
    return Path(path)


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of the bundle at ``path`` (checks that it is a bundle of a known format version)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(path, "not a twin bundle folder (it does not exist)")
    manifest_path = path / MANIFEST_NAME
    if not manifest_path.is_file():
        raise InputError(manifest_path, "missing: not a twin bundle")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(manifest_path, f"not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise InputError(manifest_path, "expected a JSON object")
    version = manifest.get("format_version")
    if version != BUNDLE_FORMAT_VERSION:
        raise InputError(
            manifest_path,
            f"format_version {version!r} is not supported (expected {BUNDLE_FORMAT_VERSION})",
            where="field 'format_version'",
        )
    return manifest


def read_twin(path: Path, tables: tuple[str, ...] | None = None) -> Twin:
    """Read the twin bundle at ``path``.

    ``tables`` limits which tables are read (the others are empty); ``nodes`` and ``links`` are always
    read. Raises :class:`InputError` for a missing folder, manifest or table, or a missing column.
    """
    path = Path(path)
    manifest = read_manifest(path)
    wanted = set(TABLE_COLUMNS) if tables is None else set(tables) | {"nodes", "links"}
    frames = {}
    for name in TABLE_COLUMNS:
        if name not in wanted:
            continue
        frame = read_geoparquet(table_path(path, name))
        absent = [c for c in TABLE_COLUMNS[name] if c not in frame.columns]
        if absent:
            raise InputError(table_path(path, name), f"missing required columns {absent}")
        frames[name] = frame
    return Twin(manifest=manifest, **frames)


def read_optional_table(path: Path, name: str) -> pd.DataFrame | None:
    """Optional table ``name`` of the bundle at ``path`` (e.g. :data:`OD_PRIOR_TABLE`), or None if absent."""
    file = table_path(path, name)
    return read_geoparquet(file) if file.is_file() else None

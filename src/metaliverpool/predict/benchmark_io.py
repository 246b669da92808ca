"""The public traffic-benchmark layouts that :mod:`metaliverpool.predict.series` reads besides its own.

- DCRNN's HDF5 (``metr-la.h5``, ``pems-bay.h5``): a pandas ``HDFStore`` holding one DataFrame in the
  *fixed* layout, read here with h5py (no PyTables needed): ``<key>/axis0`` the column labels (sensor
  ids), ``<key>/axis1`` the index (timestamps, int64 nanoseconds since 1970 when its ``kind`` attribute is
  ``datetime64``), ``<key>/block0_values`` the values (time, sensors) with ``<key>/block0_items`` their
  column labels. One numeric block is expected (a speed or flow table has one).
- Timestamps (from the HDF5 index, or the first column of a CSV series as METR-LA/PEMS-BAY CSV exports
  ship) set the series' start in the week and are checked against the given interval.
- An adjacency matrix CSV: N rows of N numbers (entry ``[i, j] > 0``: ``i`` feeds or neighbours ``j``), in
  the series' column order, or with a first row of sensor ids giving the order (N + 1 rows; optionally
  a first column of the same ids, with an empty corner cell).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np

from metaliverpool.errors import InputError

SECONDS_PER_WEEK = 7 * 86_400
EPOCH_AFTER_MONDAY_S = 3 * 86_400
"""1970-01-01 was a Thursday: three days after Monday 00:00."""


def start_time_from_epoch_s(first_s: float) -> float:
    """Seconds after Monday 00:00 of a time given in seconds since 1970-01-01 00:00 (naive/local time)."""
    return float((first_s + EPOCH_AFTER_MONDAY_S) % SECONDS_PER_WEEK)


def check_regular(path: Path, times_s: np.ndarray, interval_s: float) -> None:
    """Raise unless consecutive timestamps are exactly ``interval_s`` apart (to the second)."""
    steps = np.diff(times_s)
    bad = np.flatnonzero(np.abs(steps - interval_s) > 0.5)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            path,
            f"timestamps must be {interval_s / 60:g} min apart; rows {i + 1} and {i + 2} are "
            f"{steps[i] / 60:g} min apart",
            where="timestamps",
        )


def parse_timestamps(path: Path, cells: list[str], first_line: int) -> np.ndarray:
    """ISO timestamps (``2012-03-01 00:05:00``) as seconds since 1970 (naive: the zone is ignored)."""
    out = np.empty(len(cells))
    for i, text in enumerate(cells):
        try:
            stamp = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            raise InputError(
                path,
                f"expected a timestamp such as 2012-03-01 00:05:00, found {text!r}",
                f"line {first_line + i}",
            ) from None
        out[i] = (stamp.replace(tzinfo=None) - dt.datetime(1970, 1, 1)).total_seconds()
    return out


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_hdf_fixed(path: Path) -> tuple[np.ndarray, tuple[str, ...], np.ndarray | None]:
    """Values (time, sensors), sensor ids and timestamps (s since 1970, or None for a non-time index) of
    the one DataFrame in a pandas HDFStore file in the fixed layout (module docstring)."""
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as error:
        raise InputError(path, f"not a readable HDF5 file ({error})") from None
    with handle:
        frames = [
            key for key in handle if isinstance(handle[key], h5py.Group) and "block0_values" in handle[key]
        ]
        if len(frames) != 1:
            raise InputError(
                path,
                "expected one pandas DataFrame in the HDFStore fixed layout (a group with axis0, axis1, "
                f"block0_values), found {len(frames)}",
            )
        group = handle[frames[0]]
        for name in ("axis0", "axis1", "block0_items"):
            if name not in group:
                raise InputError(
                    path, f"missing dataset '{frames[0]}/{name}' of the fixed layout", where=name
                )
        if "block1_values" in group:
            raise InputError(path, "expected one numeric block (block0); found several", where=frames[0])
        columns = tuple(_text(v) for v in group["axis0"][()])
        items = tuple(_text(v) for v in group["block0_items"][()])
        values = np.asarray(group["block0_values"][()], dtype=np.float64)
        index = group["axis1"]
        kind = _text(index.attrs.get("kind", b""))
        times_s = (
            _epoch_seconds(np.asarray(index[()], dtype=np.int64), kind) if "datetime64" in kind else None
        )
    if values.ndim != 2 or values.shape[1] != len(items):
        raise InputError(
            path, f"'block0_values' must be time x {len(items)} sensors, got shape {values.shape}"
        )
    if sorted(items) != sorted(columns) or len(set(columns)) != len(columns):
        raise InputError(path, "'block0_items' must hold the unique column labels of 'axis0'", where="axis0")
    if times_s is not None and times_s.shape[0] != values.shape[0]:
        raise InputError(path, f"'axis1' has {times_s.shape[0]} timestamps for {values.shape[0]} rows")
    order = [items.index(c) for c in columns]
    return values[:, order], columns, times_s


def _epoch_seconds(stamps: np.ndarray, kind: str) -> np.ndarray:
    """Seconds since 1970 from int64 stamps of an index of ``kind`` ``datetime64`` (nanoseconds, older
    pandas) or ``datetime64[unit]`` (pandas 3 stores the resolution)."""
    unit = kind[kind.index("[") + 1 : kind.index("]")] if "[" in kind else "ns"
    return stamps.astype(f"datetime64[{unit}]").astype("datetime64[ms]").astype(np.int64) / 1e3


def read_matrix_csv(path: Path, sensor_ids: tuple[str, ...]) -> np.ndarray:
    """An N x N adjacency matrix CSV (module docstring) in the order of ``sensor_ids``."""
    n = len(sensor_ids)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if not rows:
        raise InputError(path, f"empty file; expected a {n} x {n} adjacency matrix", where="line 1")
    order = list(range(n))
    first_data_line = 1
    row_labels = False
    if len(rows) == n + 1:  # a header row of sensor ids (which may themselves be numbers)
        header = [cell.strip() for cell in rows[0]]
        row_labels = header[0] == "" and len(header) == n + 1
        header = header[1:] if row_labels else header
        if sorted(header) != sorted(sensor_ids) or len(set(header)) != n:
            raise InputError(path, f"the first row must hold the series' {n} sensor ids", where="line 1")
        order = [header.index(s) for s in sensor_ids]
        rows, first_data_line = rows[1:], 2
    if len(rows) != n:
        raise InputError(path, f"expected {n} matrix rows (one per sensor), found {len(rows)}")
    matrix = np.zeros((n, n))
    for i, row in enumerate(rows):
        line = f"line {first_data_line + i}"
        cells = row[1:] if row_labels else row
        if row_labels and row[0].strip() != header[i]:
            raise InputError(path, f"row label {row[0]!r} should be {header[i]!r} (the header's order)", line)
        if len(cells) != n:
            raise InputError(path, f"expected {n} numbers, found {len(cells)}", where=line)
        try:
            matrix[i] = [float(cell) for cell in cells]
        except ValueError:
            raise InputError(path, "expected numbers only", where=line) from None
    return matrix[np.ix_(order, order)]

"""Sensor series: the common benchmark layout, read from CSV or ``.npz``.

A series is a table of one traffic quantity (speed in m/s, flow in veh/h or a congestion level) with one
row per time step and one column per sensor (a detector or a link). Two layouts are read:

- CSV: the first row holds the sensor ids; each following row holds one time step's values. Empty cells
  are missing values (NaN). A first column of timestamps (header cell empty or ``timestamp``/``time``/
  ``date``/``datetime``, as METR-LA/PEMS-BAY CSV exports ship) is read as the time axis.
- HDF5 (``.h5``/``.hdf5``): DCRNN's ``metr-la.h5``/``pems-bay.h5``, a pandas HDFStore DataFrame (index
  timestamps, columns sensor ids; :mod:`metaliverpool.predict.benchmark_io`).
- ``.npz``: an array ``data`` of shape (time, sensors) (a trailing feature axis of size >= 1 is allowed,
  as in METR-LA/PEMS exports and the PEMS04/08 ``.npz`` files (T, N, 3) whose first feature is flow;
  its first feature is used); optional ``sensor_ids`` (strings), ``events``
  (time x sensors, 0..1, the known capacity lost to closures or roadworks) and ``start_time_s``.

Time of day and day of week come from ``start_time_s``: seconds after Monday 00:00 of the first row
(default 0, a series that starts on a Monday at midnight; taken from the timestamps when the file has
them, which must then be ``interval`` apart). A series may cover only a window of each day
(``day_window_s`` shorter than a day, e.g. a simulated morning peak; ``.npz`` key ``day_window_s``): its
rows then run through one day's window, then the next day's, and no sample crosses from one window to
the next.

An adjacency file gives the network neighbourhood: an ``.npz`` with a square array ``adjacency``, a
CSV edge list with header ``from,to[,weight]`` naming sensor ids, or an N x N matrix CSV (with or without
a header row of sensor ids; :func:`metaliverpool.predict.benchmark_io.read_matrix_csv`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metaliverpool.errors import InputError
from metaliverpool.predict.benchmark_io import (
    check_regular,
    parse_timestamps,
    read_hdf_fixed,
    read_matrix_csv,
    start_time_from_epoch_s,
)

SECONDS_PER_DAY = 86_400
DAYS_PER_WEEK = 7


@dataclass(frozen=True)
class SensorSeries:
    """Values of one quantity per time step and sensor, with their time axis.

    Attributes
    ----------
    values:
        float64 array (time, sensors); NaN marks a missing value.
    sensor_ids:
        One id per column.
    interval_s:
        Seconds between rows.
    start_time_s:
        Seconds after Monday 00:00 of the first row.
    events:
        Optional float64 array (time, sensors) in 0..1: the share of capacity removed by a known event
        (closure = 1, roadworks on one of two lanes = 0.5). Known ahead, so models may read future values.
    """

    values: np.ndarray
    sensor_ids: tuple[str, ...]
    interval_s: float
    start_time_s: float = 0.0
    events: np.ndarray | None = None
    day_window_s: float = SECONDS_PER_DAY

    @property
    def steps_per_day(self) -> int:
        """Number of rows in one day (in one day's window for a windowed series)."""
        return round(self.day_window_s / self.interval_s)

    @property
    def windowed(self) -> bool:
        """True when each day is observed only in a window shorter than the day."""
        return self.day_window_s < SECONDS_PER_DAY - 1e-6

    @property
    def n_steps(self) -> int:
        """Number of rows (time steps)."""
        return int(self.values.shape[0])

    @property
    def n_sensors(self) -> int:
        """Number of columns (sensors)."""
        return int(self.values.shape[1])

    def time_of_day_index(self) -> np.ndarray:
        """Slot of the day (0 .. steps_per_day-1) of every row, int64 array (time,)."""
        if self.windowed:
            return np.arange(self.n_steps, dtype=np.int64) % self.steps_per_day
        time_s = self.start_time_s + np.arange(self.n_steps) * self.interval_s
        return (np.floor(np.mod(time_s, SECONDS_PER_DAY) / self.interval_s + 1e-9)).astype(np.int64)

    def day_of_week_index(self) -> np.ndarray:
        """Day of the week (0 = Monday) of every row, int64 array (time,)."""
        if self.windowed:
            first_day = int(self.start_time_s // SECONDS_PER_DAY)
            return (np.arange(self.n_steps, dtype=np.int64) // self.steps_per_day + first_day) % DAYS_PER_WEEK
        time_s = self.start_time_s + np.arange(self.n_steps) * self.interval_s
        return (np.floor(time_s / SECONDS_PER_DAY + 1e-9).astype(np.int64)) % DAYS_PER_WEEK

    def event_values(self) -> np.ndarray:
        """The events array, zeros when the series has none."""
        if self.events is None:
            return np.zeros_like(self.values)
        return self.events

    def slice_steps(self, start: int, stop: int) -> SensorSeries:
        """Rows ``start:stop`` as a new series with its start time moved accordingly (whole days of a
        windowed series)."""
        events = None if self.events is None else self.events[start:stop]
        if self.windowed:
            if start % self.steps_per_day:
                raise ValueError("a windowed series is sliced at the start of a day's window")
            shift_s = float(start // self.steps_per_day * SECONDS_PER_DAY)
        else:
            shift_s = float(start * self.interval_s)
        return SensorSeries(
            values=self.values[start:stop],
            sensor_ids=self.sensor_ids,
            interval_s=self.interval_s,
            start_time_s=self.start_time_s + shift_s,
            events=events,
            day_window_s=self.day_window_s,
        )


def _check_interval(path: Path, interval_s: float) -> None:
    if not np.isfinite(interval_s) or interval_s <= 0 or SECONDS_PER_DAY % interval_s > 1e-6:
        raise InputError(path, f"interval must divide a day into whole steps, got {interval_s} s")


TIMESTAMP_HEADERS = ("", "timestamp", "time", "date", "datetime", "unnamed: 0")
"""First-row cells that mark a first column of timestamps in a CSV series."""


def _read_csv(path: Path) -> tuple[np.ndarray, tuple[str, ...], np.ndarray | None]:
    """Values, sensor ids and timestamps (s since 1970, or None without a timestamp column)."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(path, "empty file; expected a first row of sensor ids", where="line 1") from None
        stamped = len(header) > 1 and header[0].strip().lower() in TIMESTAMP_HEADERS
        sensor_ids = tuple(cell.strip() for cell in header[1:] if stamped) or tuple(
            cell.strip() for cell in header
        )
        if not sensor_ids or any(not s for s in sensor_ids):
            raise InputError(
                path, "the first row must hold one non-empty sensor id per column", where="line 1"
            )
        if len(set(sensor_ids)) != len(sensor_ids):
            raise InputError(path, "sensor ids in the first row must be unique", where="line 1")
        rows: list[list[float]] = []
        stamps: list[str] = []
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if stamped:
                stamps.append(row[0])
                row = row[1:]
            if len(row) != len(sensor_ids):
                raise InputError(
                    path, f"expected {len(sensor_ids)} values, found {len(row)}", where=f"line {line_no}"
                )
            parsed: list[float] = []
            for col, cell in enumerate(row):
                text = cell.strip()
                if text == "":
                    parsed.append(np.nan)
                    continue
                try:
                    parsed.append(float(text))
                except ValueError:
                    raise InputError(
                        path,
                        f"expected a number, found {text!r}",
                        where=f"line {line_no}, column {sensor_ids[col]!r}",
                    ) from None
            rows.append(parsed)
    if not rows:
        raise InputError(path, "no data rows after the sensor-id row", where="line 2")
    times_s = parse_timestamps(path, stamps, 2) if stamped else None
    return np.asarray(rows, dtype=np.float64), sensor_ids, times_s


def load_series(path: Path, interval_min: float, start_time_s: float | None = None) -> SensorSeries:
    """Read a CSV or ``.npz`` sensor series (layout in the module docstring).

    ``interval_min`` is the time between rows in minutes; ``start_time_s`` (seconds after Monday 00:00 of
    the first row) overrides the value stored in an ``.npz``.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found; expected a CSV or .npz sensor series")
    interval_s = float(interval_min) * 60.0
    _check_interval(path, interval_s)
    events: np.ndarray | None = None
    stored_start = 0.0
    day_window_s = float(SECONDS_PER_DAY)
    times_s: np.ndarray | None = None
    if path.suffix.lower() == ".npz":
        try:
            archive = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise InputError(path, f"not a readable .npz archive ({error})") from None
        with archive:
            if "data" not in archive.files:
                raise InputError(path, "missing array 'data' (time x sensors)", where="arrays")
            values = np.asarray(archive["data"], dtype=np.float64)
            if values.ndim == 3 and values.shape[2] >= 1:
                values = values[:, :, 0]
            if values.ndim != 2:
                raise InputError(
                    path, f"'data' must be time x sensors, got shape {values.shape}", where="data"
                )
            if "sensor_ids" in archive.files:
                sensor_ids = tuple(str(s) for s in archive["sensor_ids"])
            else:
                sensor_ids = tuple(str(i) for i in range(values.shape[1]))
            if len(sensor_ids) != values.shape[1]:
                raise InputError(
                    path, "'sensor_ids' must have one id per column of 'data'", where="sensor_ids"
                )
            if "events" in archive.files:
                events = np.asarray(archive["events"], dtype=np.float64)
                if events.shape != values.shape:
                    raise InputError(path, f"'events' must have the shape of 'data' {values.shape}", "events")
            if "start_time_s" in archive.files:
                stored_start = float(archive["start_time_s"])
            if "day_window_s" in archive.files:
                day_window_s = float(archive["day_window_s"])
                if not 0 < day_window_s <= SECONDS_PER_DAY or (day_window_s / interval_s) % 1 > 1e-6:
                    raise InputError(
                        path, "'day_window_s' must be whole steps within a day", where="day_window_s"
                    )
    elif path.suffix.lower() == ".csv":
        values, sensor_ids, times_s = _read_csv(path)
    elif path.suffix.lower() in (".h5", ".hdf5"):
        values, sensor_ids, times_s = read_hdf_fixed(path)
    else:
        raise InputError(path, "unknown file type; expected .csv, .npz or .h5")
    if values.shape[0] < 2:
        raise InputError(path, f"need at least 2 time steps, found {values.shape[0]}")
    if times_s is not None:
        check_regular(path, times_s, interval_s)
        stored_start = start_time_from_epoch_s(float(times_s[0]))
    return SensorSeries(
        values=values,
        sensor_ids=sensor_ids,
        interval_s=interval_s,
        start_time_s=stored_start if start_time_s is None else float(start_time_s),
        events=events,
        day_window_s=day_window_s,
    )


def save_series_npz(series: SensorSeries, path: Path, adjacency: np.ndarray | None = None) -> None:
    """Write a series as ``.npz`` (``data``, ``sensor_ids``, ``events`` if any, ``start_time_s``,
    ``day_window_s``), with its sensor ``adjacency`` when given (so the file also serves as
    ``--adjacency``)."""
    import io

    from metaliverpool.atomic import write_bytes_atomic

    arrays: dict[str, np.ndarray] = {
        "data": series.values,
        "sensor_ids": np.asarray(series.sensor_ids, dtype=str),
        "start_time_s": np.asarray(series.start_time_s),
        "day_window_s": np.asarray(series.day_window_s),
    }
    if series.events is not None:
        arrays["events"] = series.events
    if adjacency is not None:
        arrays["adjacency"] = adjacency
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    write_bytes_atomic(Path(path), buffer.getvalue())


def save_series_csv(series: SensorSeries, path: Path) -> None:
    """Write a series as CSV (sensor ids in the first row; events and start time are not kept)."""
    from metaliverpool.atomic import write_text_atomic

    lines = [",".join(series.sensor_ids)]
    for row in series.values:
        lines.append(",".join("" if np.isnan(v) else f"{v:.6g}" for v in row))
    write_text_atomic(Path(path), "\n".join(lines) + "\n")


def load_adjacency(path: Path, sensor_ids: tuple[str, ...]) -> np.ndarray:
    """Read a sensor adjacency (layout in the module docstring) as a float64 (sensors, sensors) matrix.

    Entry ``[i, j] > 0`` means sensor ``i`` feeds sensor ``j`` (or is next to it).
    """
    path = Path(path)
    n = len(sensor_ids)
    if not path.is_file():
        raise InputError(
            path, "adjacency file not found; expected .npz with 'adjacency', a CSV edge list or N x N matrix"
        )
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            if "adjacency" not in archive.files:
                raise InputError(path, "missing array 'adjacency' (sensors x sensors)", where="arrays")
            matrix = np.asarray(archive["adjacency"], dtype=np.float64)
        if matrix.shape != (n, n):
            raise InputError(path, f"'adjacency' must be {n} x {n} for this series, got {matrix.shape}")
        return matrix
    index = {sensor: i for i, sensor in enumerate(sensor_ids)}
    matrix = np.zeros((n, n), dtype=np.float64)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        if "from" not in fields or "to" not in fields:
            return read_matrix_csv(path, sensor_ids)
        for line_no, row in enumerate(reader, start=2):
            for key in ("from", "to"):
                if row[key] not in index:
                    raise InputError(
                        path, f"unknown sensor id {row[key]!r}", where=f"line {line_no}, '{key}'"
                    )
            weight_text = row.get("weight") or "1"
            try:
                weight = float(weight_text)
            except ValueError:
                raise InputError(
                    path, f"expected a number, found {weight_text!r}", f"line {line_no}"
                ) from None
            matrix[index[row["from"]], index[row["to"]]] = weight
    return matrix


def normalise_adjacency(adjacency: np.ndarray) -> np.ndarray:
    """Symmetric, row-normalised neighbourhood (no self loops): row ``i`` averages ``i``'s neighbours."""
    sym = np.maximum(np.abs(adjacency), np.abs(adjacency).T)
    np.fill_diagonal(sym, 0.0)
    degree = sym.sum(axis=1, keepdims=True)
    return np.divide(sym, degree, out=np.zeros_like(sym), where=degree > 0)

"""Reading observation CSV files row by row, with one :class:`InputError` per bad field.

Every reader of :mod:`metaliverpool.ingest.observations` goes through :func:`csv_rows` (header checks,
line numbers) and the field parsers here, so a bad file is refused the same way whatever its kind:
``counts.csv: line 12, field 'flow_vph': expected a number >= 0, found 'abc'``.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from metaliverpool.errors import InputError
from metaliverpool.observed.model import USES, Period, Use

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def read_header(path: Path) -> list[str]:
    """The column names of the CSV file ``path`` (stripped, lower case); an empty file is refused."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except UnicodeDecodeError:
        raise InputError(path, "not a UTF-8 text file", where="line 1") from None
    if not header or not any(cell.strip() for cell in header):
        raise InputError(path, "empty file: expected a header line and at least one row", where="line 1")
    return [cell.strip().lower() for cell in header]


def csv_rows(
    path: Path, required: Sequence[str], optional: Sequence[str] = (), *, extra_columns: bool = False
) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for every data row of ``path``.

    The header must hold every ``required`` column; any other column must be ``optional`` unless
    ``extra_columns`` (publishers such as DfT add columns between releases). A file with no data row
    is refused.
    """
    header = read_header(path)
    missing = [name for name in required if name not in header]
    if missing:
        raise InputError(
            path, f"missing column(s) {', '.join(missing)} (header: {','.join(header)})", "line 1"
        )
    if not extra_columns:
        known = set(required) | set(optional)
        unknown = [name for name in header if name not in known]
        if unknown:
            expected = ",".join([*required, *(f"[{name}]" for name in optional)])
            raise InputError(path, f"unknown column {unknown[0]!r} (expected {expected})", where="line 1")
    rows = 0
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader)
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                raise InputError(
                    path, f"expected {len(header)} fields, found {len(cells)}", where=f"line {line}"
                )
            rows += 1
            yield line, {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    if rows == 0:
        raise InputError(path, "no data rows: expected at least one row after the header", where="line 2")


def number(
    path: Path,
    line: int,
    row: dict[str, str],
    name: str,
    *,
    minimum: float | None = None,
    positive: bool = False,
) -> float:
    """Field ``name`` as a finite float (``>= minimum``; ``> 0`` when ``positive``)."""
    text = row.get(name, "")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    bound = " > 0" if positive else (f" >= {minimum:g}" if minimum is not None else "")
    ok = math.isfinite(value) and (minimum is None or value >= minimum) and (not positive or value > 0)
    if not ok:
        raise InputError(
            path, f"expected a number{bound}, found {text!r}", where=f"line {line}, field {name!r}"
        )
    return value


def integer(path: Path, line: int, row: dict[str, str], name: str) -> int:
    """Field ``name`` as an integer."""
    text = row.get(name, "")
    try:
        return int(text)
    except ValueError:
        raise InputError(
            path, f"expected a whole number, found {text!r}", where=f"line {line}, field {name!r}"
        ) from None


def text(path: Path, line: int, row: dict[str, str], name: str) -> str:
    """Field ``name``, which must not be empty."""
    value = row.get(name, "")
    if not value:
        raise InputError(path, "expected a value, found an empty field", where=f"line {line}, field {name!r}")
    return value


def parse_period(source: str | Path, where: str, value: str) -> Period:
    """``HH:MM-HH:MM`` (24-hour clock, end after start, end at most 24:00) as a :class:`Period`."""
    parts = value.split("-")
    clocks = [_CLOCK.match(part.strip()) for part in parts] if len(parts) == 2 else []
    seconds = []
    for match in clocks:
        if match is None:
            break
        hours, minutes = int(match.group(1)), int(match.group(2))
        if minutes >= 60 or hours > 24 or (hours == 24 and minutes > 0):
            break
        seconds.append(3600.0 * hours + 60.0 * minutes)
    if len(seconds) != 2 or not seconds[0] < seconds[1]:
        raise InputError(
            source, f"expected a period HH:MM-HH:MM with end after start, found {value!r}", where
        )
    return Period(seconds[0], seconds[1])


def period(path: Path, line: int, row: dict[str, str], name: str = "period") -> Period:
    """Field ``name`` as a :class:`Period`."""
    return parse_period(path, f"line {line}, field {name!r}", row.get(name, ""))


def parse_use(source: str | Path, where: str, value: str) -> Use:
    """``calibration`` or ``validation``."""
    for use in USES:
        if value == use:
            return use
    raise InputError(source, f"expected one of {', '.join(USES)}, found {value!r}", where)


def use(path: Path, line: int, row: dict[str, str], name: str = "use") -> Use:
    """Field ``name`` as a use."""
    return parse_use(path, f"line {line}, field {name!r}", row.get(name, ""))


def bearing(path: Path, line: int, row: dict[str, str], name: str = "bearing_deg") -> float:
    """Field ``name`` as a bearing in degrees clockwise from north, in [0, 360)."""
    value = number(path, line, row, name, minimum=0.0)
    if value >= 360.0:
        raise InputError(
            path, f"expected a bearing in [0, 360), found {value:g}", where=f"line {line}, field {name!r}"
        )
    return value


def lon_lat(
    path: Path, line: int, row: dict[str, str], lon_name: str = "lon", lat_name: str = "lat"
) -> tuple[float, float]:
    """Fields ``lon_name``, ``lat_name`` as WGS84 degrees."""
    lon = number(path, line, row, lon_name)
    lat = number(path, line, row, lat_name)
    if not -180.0 <= lon <= 180.0:
        raise InputError(
            path,
            f"expected a longitude in [-180, 180], found {lon:g}",
            where=f"line {line}, field {lon_name!r}",
        )
    if not -90.0 <= lat <= 90.0:
        raise InputError(
            path, f"expected a latitude in [-90, 90], found {lat:g}", where=f"line {line}, field {lat_name!r}"
        )
    return lon, lat

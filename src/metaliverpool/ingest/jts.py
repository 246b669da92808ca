"""DfT Journey Time Statistics (JTS) LSOA tables (JTS0501-JTS0508) saved as CSV.

DfT publishes each table as an ODS workbook with one sheet per year; a sheet saved as CSV has a few title
rows, then a header row starting ``LSOA_code`` (``LSOA_code, Region, LA_Code, LA_Name, GPPTt, GPCyct,
GPCart, GPWalkt, ...``), then one row per LSOA. :func:`read_jts_tables` reads one or more such files (for
example JTS0502, 0503, 0505 and 0506 for 2019) and joins them on ``LSOA_code``; the time columns
(``<S>PTt``, ``<S>Cyct``, ``<S>Cart``, ``<S>Walkt``) become numbers, other columns stay text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from metaliverpool.errors import InputError

TIME_COLUMN = re.compile(r"^[A-Za-z0-9]+(PTt|Cyct|Cart|Walkt)$")
"""A JTS average-minimum-time column (minutes)."""
HEADER_SEARCH_ROWS = 30
MISSING = ("", "..", "-", "x")
"""How JTS marks a value it does not publish."""
LSOA_CODE = re.compile(r"E0\d{7}")


def read_jts_csv(path: Path) -> pd.DataFrame:
    """One JTS LSOA table saved as CSV: ``LSOA_code`` and its time columns (minutes, NaN where blank)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read ({error})") from None
    rows = list(csv.reader(io.StringIO(text)))
    header_line = next(
        (i for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]) if row and row[0].strip() == "LSOA_code"), None
    )
    if header_line is None:
        raise InputError(path, f"no header row starting 'LSOA_code' in the first {HEADER_SEARCH_ROWS} lines")
    header = [name.strip() for name in rows[header_line]]
    times = [name for name in header if TIME_COLUMN.match(name)]
    if not times:
        raise InputError(
            path, "no JTS time column (<S>PTt, <S>Cyct, <S>Cart, <S>Walkt)", where=f"line {header_line + 1}"
        )
    lines = [(i + 1, row) for i, row in enumerate(rows) if i > header_line and row and row[0].strip()]
    for line, row in lines:
        if not LSOA_CODE.fullmatch(row[0].strip()):
            raise InputError(path, f"LSOA_code {row[0]!r} is not an English LSOA code", where=f"line {line}")
    width = len(header)
    frame = pd.DataFrame([(row + [""] * width)[:width] for _, row in lines], columns=header)
    result = pd.DataFrame({"LSOA_code": frame["LSOA_code"].str.strip()})
    for name in times:
        raw = frame[name].str.strip()
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() & ~raw.isin(MISSING)
        if bad.any():
            first = int(bad.to_numpy().argmax())
            raise InputError(
                path,
                f"{raw.iloc[first]!r} is not a number of minutes",
                where=f"line {lines[first][0]}, field {name}",
            )
        result[name] = values.to_numpy(dtype=float)
    return result


def read_jts_tables(paths: Sequence[Path]) -> pd.DataFrame:
    """Several JTS LSOA tables (:func:`read_jts_csv`) joined on ``LSOA_code`` (outer join)."""
    joined: pd.DataFrame | None = None
    for path in paths:
        table = read_jts_csv(path)
        if joined is None:
            joined = table
        else:
            fresh = [c for c in table.columns if c == "LSOA_code" or c not in joined.columns]
            joined = joined.merge(table[fresh], on="LSOA_code", how="outer")
    if joined is None:
        raise InputError("--jts", "no JTS file given")
    return joined

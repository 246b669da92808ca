"""DfT count-point files, read as DfT publishes them on roadtraffic.dft.gov.uk, into observations.

Two files per local authority (``<id>``: Wirral 84, Halton 156, Knowsley 157, St Helens 158, Liverpool
161, Sefton 192), columns matched by name (DfT adds columns between releases; extra ones are ignored):

- ``dft_aadfbydirection_local_authority_id_<id>.csv``: annual average daily flow by count point, year and
  direction (``count_point_id, year, ..., latitude, longitude, ..., direction_of_travel, ...,
  all_motor_vehicles``). A day's flow becomes the hourly mean over the period with
  :func:`aadf_hourly_factor` (07:00-10:00: :data:`AADF_TO_AM_PEAK_HOURLY`), from the TRA0307 profile the
  demand uses.
- ``dft_rawcount_local_authority_id_<id>.csv``: the manual counts, one row per count point, direction,
  ``count_date`` and ``hour`` (7 = 07:00-08:00) with ``all_motor_vehicles``. The period mean is the mean
  of the counted hours inside the period (07:00-10:00: hours 7, 8 and 9) over the count dates of the year.

Direction letters become bearings (N 0, E 90, S 180, W 270). ``C`` (both directions combined) becomes a
two-direction :class:`Screenline` of one crossing: both directions of the road nearest the point, matched
against their summed flow (no 50/50 split is assumed). The year is ``year`` or the latest in the file.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from metaliverpool.demand.profile import AM_PEAK_SHARE_OF_WEEKDAY, HOURLY_SHARES
from metaliverpool.errors import InputError
from metaliverpool.ingest import observation_rows as rows
from metaliverpool.observed.model import MORNING_PEAK, LinkCount, LinkRef, Period, Screenline, Use

DIRECTION_BEARING_DEG = {"N": 0.0, "E": 90.0, "S": 180.0, "W": 270.0}
"""DfT's ``direction_of_travel`` letters as bearings (degrees clockwise from north); ``C`` is combined."""

AADF_WEEKDAY_RATIO = 1.05
"""Average weekday flow over the annual average daily flow (all motor vehicles). Judgement from the
shape of DfT TRA0307 (traffic by hour and day of week, GB, all roads): weekdays carry about 1.05 times
the mean day, weekends less. Not checked against the live table here (no network)."""

FIRST_PEAK_HOUR = 7
"""The hour (07:00-08:00) whose share is the first of :data:`~metaliverpool.demand.profile.HOURLY_SHARES`."""


def aadf_hourly_factor(period: Period) -> float:
    """Mean hourly flow over ``period`` per vehicle of AADF (per hour): the weekday ratio, times the share of
    a weekday's traffic in 07:00-10:00 (:data:`~metaliverpool.demand.profile.AM_PEAK_SHARE_OF_WEEKDAY`,
    TRA0307), times the share of that in the period's hours (:data:`~metaliverpool.demand.profile
    .HOURLY_SHARES`, TRA0307), over the period's hours. The same profile the demand departs by, so a count
    and the twin's trips are factored alike. ``ValueError`` for a period that is not whole hours inside
    07:00-10:00."""
    first, last = period.start_s / 3600.0, period.end_s / 3600.0
    known = range(FIRST_PEAK_HOUR, FIRST_PEAK_HOUR + len(HOURLY_SHARES))
    if not (first.is_integer() and last.is_integer() and known.start <= first and last <= known.stop):
        raise ValueError(f"AADF is factored to whole hours inside 07:00-10:00, not {period.label()}")
    shares = HOURLY_SHARES[int(first) - FIRST_PEAK_HOUR : int(last) - FIRST_PEAK_HOUR]
    return AADF_WEEKDAY_RATIO * AM_PEAK_SHARE_OF_WEEKDAY * sum(shares) / (last - first)


AADF_TO_AM_PEAK_HOURLY = aadf_hourly_factor(MORNING_PEAK)
"""Morning-peak (07:00-10:00) mean hourly flow per vehicle of AADF: 1.05 x 0.19 / 3 = 0.0665 (per hour).
Raw counts need no factor and are to be preferred where they exist."""

AADF_COLUMNS = (
    "count_point_id",
    "year",
    "direction_of_travel",
    "latitude",
    "longitude",
    "all_motor_vehicles",
)
RAW_COLUMNS = (*AADF_COLUMNS, "count_date", "hour")


def _direction(path: Path, line: int, row: dict[str, str]) -> str:
    letter = row.get("direction_of_travel", "").upper()
    if letter not in DIRECTION_BEARING_DEG and letter != "C":
        raise InputError(
            path,
            f"expected a direction N, S, E, W or C (combined), found {row.get('direction_of_travel')!r}",
            where=f"line {line}, field 'direction_of_travel'",
        )
    return letter


def _observation(
    point: int,
    letter: str,
    lon: float,
    lat: float,
    name: str,
    flow_vph: float,
    period: Period,
    use: Use,
    source: str,
) -> LinkCount | Screenline:
    site = f"dft-{point}-{letter}"
    if letter == "C":
        crossing = LinkRef(lon=lon, lat=lat, both_directions=True)
        return Screenline(site, name, (crossing,), flow_vph, period, use, source)
    where = LinkRef(lon=lon, lat=lat, bearing_deg=DIRECTION_BEARING_DEG[letter])
    return LinkCount(site, where, flow_vph, period, use, source, name)


def _year_rows(
    path: Path, required: tuple[str, ...], year: int | None
) -> tuple[int, list[tuple[int, dict[str, str]]]]:
    table = [(line, row) for line, row in rows.csv_rows(path, required, extra_columns=True)]
    years = [rows.integer(path, line, row, "year") for line, row in table]
    chosen = max(years) if year is None else year
    kept = [item for item, y in zip(table, years, strict=True) if y == chosen]
    if not kept:
        raise InputError(path, f"no rows for year {chosen} (years in the file: {min(years)}-{max(years)})")
    return chosen, kept


def read_dft_aadf(
    path: Path, *, year: int | None = None, period: Period = MORNING_PEAK, use: Use = "calibration"
) -> list[LinkCount | Screenline]:
    """Observations over ``period`` (whole hours inside 07:00-10:00) from a DfT AADF-by-direction file, one
    per count point and direction, the AADF factored by :func:`aadf_hourly_factor`."""
    try:
        factor = aadf_hourly_factor(period)
    except ValueError as error:
        raise InputError(path, str(error)) from None
    chosen, table = _year_rows(path, AADF_COLUMNS, year)
    out: list[LinkCount | Screenline] = []
    for line, row in table:
        letter = _direction(path, line, row)
        lon, lat = rows.lon_lat(path, line, row, "longitude", "latitude")
        aadf = rows.number(path, line, row, "all_motor_vehicles", minimum=0.0)
        point = rows.integer(path, line, row, "count_point_id")
        name = f"{row.get('road_name', '')} (DfT count point {point}, AADF {chosen})".strip()
        out.append(
            _observation(point, letter, lon, lat, name, aadf * factor, period, use, f"{path.name}:{line}")
        )
    return out


def read_dft_rawcounts(
    path: Path, *, year: int | None = None, period: Period = MORNING_PEAK, use: Use = "calibration"
) -> list[LinkCount | Screenline]:
    """Observations over ``period`` from a DfT raw-count file: the mean of the counted hours in the period."""
    chosen, table = _year_rows(path, RAW_COLUMNS, year)
    hours: dict[tuple[int, str], list[float]] = defaultdict(list)
    first: dict[tuple[int, str], tuple[int, dict[str, str]]] = {}
    for line, row in table:
        letter = _direction(path, line, row)
        hour = rows.integer(path, line, row, "hour")
        if not 0 <= hour <= 23:
            raise InputError(path, f"expected an hour 0-23, found {hour}", where=f"line {line}, field 'hour'")
        flow = rows.number(path, line, row, "all_motor_vehicles", minimum=0.0)
        if period.start_s <= 3600.0 * hour and 3600.0 * (hour + 1) <= period.end_s:
            key = (rows.integer(path, line, row, "count_point_id"), letter)
            hours[key].append(flow)
            first.setdefault(key, (line, row))
    if not hours:
        raise InputError(path, f"no counted hour inside {period.label()} in year {chosen}")
    out: list[LinkCount | Screenline] = []
    for (point, letter), flows in hours.items():
        line, row = first[(point, letter)]
        lon, lat = rows.lon_lat(path, line, row, "longitude", "latitude")
        name = f"{row.get('road_name', '')} (DfT count point {point}, counted {chosen})".strip()
        out.append(
            _observation(
                point, letter, lon, lat, name, float(np.mean(flows)), period, use, f"{path.name}:{line}"
            )
        )
    return out

"""The archive of live Observations in PostgreSQL, partitioned by day, with a Parquet export.

Tables (created by :meth:`LiveArchive.ensure_schema`):

- ``live_observation`` (``datastream_id``, ``phenomenon_start``, ``phenomenon_end``, ``result``,
  ``received``, ``late``): range-partitioned on ``phenomenon_start`` into daily partitions
  ``live_observation_YYYYMMDD``, each created on demand the first time a day is written. The primary key
  (``datastream_id``, ``phenomenon_start``) deduplicates: a repeated Observation is dropped and counted,
  the first one kept. Rows may arrive in any order; nothing depends on arrival order.
- ``live_datastream``: what each Datastream is and where it was matched (link or junction).
- ``live_feed_event``: a Datastream (or the whole feed, ``datastream_id`` NULL) flagged ``stopped`` or
  ``resumed``, with the time.

Gaps are computed, not stored: consecutive Observations of one Datastream (by ``phenomenon_start``)
whose start lies more than :data:`GAP_TOLERANCE_S` after the previous one's end. So late data that
fills a gap removes it. The Parquet export carries ``gap_before_s`` on the row after each gap.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from metaliverpool.atomic import write_bytes_atomic

GAP_TOLERANCE_S = 1.0
"""A Datastream's next Observation starting more than this after the previous one ended is a gap."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS live_observation (
    datastream_id bigint NOT NULL,
    phenomenon_start timestamptz NOT NULL,
    phenomenon_end timestamptz NOT NULL,
    result double precision NOT NULL,
    received timestamptz NOT NULL,
    late boolean NOT NULL,
    PRIMARY KEY (datastream_id, phenomenon_start)
) PARTITION BY RANGE (phenomenon_start);
CREATE TABLE IF NOT EXISTS live_datastream (
    datastream_id bigint PRIMARY KEY,
    thing_id bigint NOT NULL,
    name text NOT NULL,
    kind text NOT NULL,
    unit text NOT NULL,
    interval_s double precision,
    link_id bigint,
    junction_id bigint
);
CREATE TABLE IF NOT EXISTS live_feed_event (
    event_id bigserial PRIMARY KEY,
    datastream_id bigint,
    kind text NOT NULL CHECK (kind IN ('stopped', 'resumed')),
    at timestamptz NOT NULL
);
"""


class ArchiveRow(NamedTuple):
    """One Observation to archive (times in Unix seconds, UTC)."""

    datastream_id: int
    start_unix_s: float
    end_unix_s: float
    result: float
    received_unix_s: float
    late: bool


@dataclass(frozen=True)
class InsertResult:
    """Rows new to the archive and rows dropped as duplicates of (datastream, phenomenon start)."""

    inserted: int
    duplicates: int


@dataclass(frozen=True)
class Gap:
    """A stretch with no Observation of one Datastream: from ``after_unix_s`` (the end of the last one
    before) to ``before_unix_s`` (the start of the next)."""

    datastream_id: int
    after_unix_s: float
    before_unix_s: float

    @property
    def length_s(self) -> float:
        """Length of the gap in seconds."""
        return self.before_unix_s - self.after_unix_s


def psycopg_url(url: str) -> str:
    """A SQLAlchemy-style ``postgresql+psycopg://`` URL (as ``serve --db`` takes) in libpq form."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _utc(unix_s: float) -> datetime:
    return datetime.fromtimestamp(unix_s, UTC)


class LiveArchive:
    """One connection to the archive database (not shared between threads)."""

    def __init__(self, url: str) -> None:
        self.connection = psycopg.connect(psycopg_url(url), autocommit=False)
        self.days: set[str] = set()

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def ensure_schema(self) -> None:
        """Create the tables if they do not exist (the partitions come with the data)."""
        with self.connection.cursor() as cursor:
            cursor.execute(_SCHEMA)
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'live_observation'"
            )
            self.days = {name.removeprefix("live_observation_") for (name,) in cursor.fetchall()}
        self.connection.commit()

    def partitions(self) -> list[str]:
        """Names of the daily partitions, oldest first."""
        return sorted(f"live_observation_{day}" for day in self.days)

    def _ensure_days(self, cursor: psycopg.Cursor, rows: Sequence[ArchiveRow]) -> None:
        day_numbers = {int(r.start_unix_s // 86_400) for r in rows}
        needed = {_utc(d * 86_400.0).strftime("%Y%m%d") for d in day_numbers} - self.days
        for day in sorted(needed):
            first = datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC)
            # DDL takes no parameters: the bounds are ISO times made here from a date, never user text.
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS live_observation_{day} PARTITION OF live_observation "
                f"FOR VALUES FROM ('{first.isoformat()}') TO ('{(first + timedelta(days=1)).isoformat()}')"
            )
        self.days |= needed

    def insert(self, rows: Sequence[ArchiveRow]) -> InsertResult:
        """Archive ``rows`` in one transaction (COPY to a staging table, then insert what is new)."""
        if not rows:
            return InsertResult(0, 0)
        try:
            with self.connection.cursor() as cursor:
                self._ensure_days(cursor, rows)
            self.connection.commit()
        except (psycopg.errors.DuplicateTable, psycopg.errors.UniqueViolation):
            # Another process created the same day's partition at the same moment: it exists now.
            self.connection.rollback()
            self.ensure_schema()
        with self.connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS live_staging (datastream_id bigint, start_s float8, "
                "end_s float8, result float8, received_s float8, late boolean) ON COMMIT DELETE ROWS"
            )
            # COPY text written here (numbers as Python's shortest round-trip form): far cheaper per row
            # than adapting datetimes one by one; to_timestamp converts in the server.
            text = "".join(
                f"{r.datastream_id}\t{r.start_unix_s!r}\t{r.end_unix_s!r}\t{r.result!r}\t"
                f"{r.received_unix_s!r}\t{'t' if r.late else 'f'}\n"
                for r in rows
            )
            with cursor.copy("COPY live_staging FROM STDIN") as copy:
                copy.write(text.encode())
            cursor.execute(
                "INSERT INTO live_observation SELECT DISTINCT ON (datastream_id, start_s) datastream_id, "
                "to_timestamp(start_s), to_timestamp(end_s), result, to_timestamp(received_s), late "
                "FROM live_staging ORDER BY datastream_id, start_s, received_s "
                "ON CONFLICT (datastream_id, phenomenon_start) DO NOTHING"
            )
            inserted = cursor.rowcount
        self.connection.commit()
        return InsertResult(inserted, len(rows) - inserted)

    def record_datastreams(
        self, rows: Sequence[tuple[int, int, str, str, str, float | None, int | None, int | None]]
    ) -> None:
        """Upsert ``live_datastream`` rows (id, thing, name, kind, unit, interval_s, link, junction)."""
        with self.connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO live_datastream VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (datastream_id) DO UPDATE SET thing_id = EXCLUDED.thing_id, "
                "name = EXCLUDED.name, "
                "kind = EXCLUDED.kind, unit = EXCLUDED.unit, interval_s = EXCLUDED.interval_s, "
                "link_id = EXCLUDED.link_id, junction_id = EXCLUDED.junction_id",
                rows,
            )
        self.connection.commit()

    def record_feed_event(self, datastream_id: int | None, kind: str, at_unix_s: float) -> None:
        """Record a Datastream (``None``: the whole feed) ``stopped`` or ``resumed`` at a time."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO live_feed_event (datastream_id, kind, at) VALUES (%s, %s, %s)",
                (datastream_id, kind, _utc(at_unix_s)),
            )
        self.connection.commit()

    def feed_events(self) -> list[tuple[int | None, str, float]]:
        """Every feed event (datastream or ``None``, kind, Unix seconds), in order."""
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT datastream_id, kind, at FROM live_feed_event ORDER BY event_id")
            found = [(d, k, at.timestamp()) for d, k, at in cursor.fetchall()]
        self.connection.commit()
        return found

    def count(self) -> int:
        """Number of archived Observations."""
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM live_observation")
            (n,) = cursor.fetchone() or (0,)
        self.connection.commit()
        return int(n)

    def gaps(self, min_length_s: float = GAP_TOLERANCE_S) -> list[Gap]:
        """Every gap longer than ``min_length_s`` between consecutive Observations of a Datastream."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT datastream_id, previous_end, phenomenon_start FROM ("
                " SELECT datastream_id, phenomenon_start, lag(phenomenon_end) OVER w AS previous_end"
                " FROM live_observation WINDOW w AS (PARTITION BY datastream_id ORDER BY phenomenon_start)"
                ") s WHERE phenomenon_start - previous_end > make_interval(secs => %s) "
                "ORDER BY datastream_id, phenomenon_start",
                (min_length_s,),
            )
            found = [Gap(int(d), a.timestamp(), b.timestamp()) for d, a, b in cursor.fetchall()]
        self.connection.commit()
        return found

    def export_parquet(
        self, path: Path, since_unix_s: float | None = None, until_unix_s: float | None = None
    ) -> int:
        """Write the Observations with ``phenomenon_start`` in ``[since, until)`` to a Parquet file
        (atomically), ordered by Datastream and time, with ``gap_before_s`` (NULL but after a gap).
        Returns the number of rows."""
        since = _utc(since_unix_s) if since_unix_s is not None else datetime(1970, 1, 1, tzinfo=UTC)
        until = _utc(until_unix_s) if until_unix_s is not None else datetime(9999, 1, 1, tzinfo=UTC)
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT datastream_id, phenomenon_start, phenomenon_end, result, received, late,"
                " extract(epoch FROM phenomenon_start - lag(phenomenon_end) OVER w) AS gap_s"
                " FROM live_observation WHERE phenomenon_start >= %s AND phenomenon_start < %s"
                " WINDOW w AS (PARTITION BY datastream_id ORDER BY phenomenon_start)"
                " ORDER BY datastream_id, phenomenon_start",
                (since, until),
            )
            records = cursor.fetchall()
        self.connection.commit()
        columns: list[Any] = list(zip(*records, strict=True)) if records else [() for _ in range(7)]
        gap = [float(g) if g is not None and float(g) > GAP_TOLERANCE_S else None for g in columns[6]]
        utc = pa.timestamp("us", tz="UTC")
        table = pa.table(
            {
                "datastream_id": pa.array(columns[0], pa.int64()),
                "phenomenon_start": pa.array(columns[1], utc),
                "phenomenon_end": pa.array(columns[2], utc),
                "result": pa.array(columns[3], pa.float64()),
                "received": pa.array(columns[4], utc),
                "late": pa.array(columns[5], pa.bool_()),
                "gap_before_s": pa.array(gap, pa.float64()),
            }
        )
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        write_bytes_atomic(Path(path), buffer.getvalue())
        return table.num_rows

    def latest_link_results(
        self, units: Sequence[str], since_unix_s: float
    ) -> list[tuple[int, str, float, float]]:
        """Per detector Datastream matched to a link and measured in one of ``units``: (link id, unit, result,
        phenomenon end in Unix s) of its newest Observation ending after ``since_unix_s``."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT ON (o.datastream_id) d.link_id, d.unit, o.result, o.phenomenon_end "
                "FROM live_observation o JOIN live_datastream d USING (datastream_id) "
                "WHERE d.kind = 'detector' AND d.link_id IS NOT NULL AND d.unit = ANY(%s) "
                "AND o.phenomenon_end > %s ORDER BY o.datastream_id, o.phenomenon_start DESC",
                (list(units), _utc(since_unix_s)),
            )
            found = [
                (int(link), str(unit), float(r), end.timestamp()) for link, unit, r, end in cursor.fetchall()
            ]
        self.connection.commit()
        return found

    def newest_end_unix_s(self) -> float | None:
        """The newest phenomenon end in the archive (the feed's clock), or None when empty."""
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT max(phenomenon_end) FROM live_observation")
            row = cursor.fetchone()
        self.connection.commit()
        return None if row is None or row[0] is None else float(row[0].timestamp())

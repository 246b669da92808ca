"""The live archive in the real PostgreSQL: daily partitions, duplicates, late data, gaps, Parquet."""

from __future__ import annotations

import itertools
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaliverpool.ingest.sensorthings import parse_time_unix_s
from metaliverpool.store.live_archive import ArchiveRow, Gap, LiveArchive

pytestmark = pytest.mark.postgres

MIDNIGHT = parse_time_unix_s("2026-12-07T00:00:00Z")
STEP_S = 900.0


def row(
    datastream: int, k: int, result: float, received_after_s: float = 60.0, late: bool = False
) -> ArchiveRow:
    """Observation ``k`` (15-minute intervals from 23:00 on 6 December) of a Datastream."""
    start = MIDNIGHT - 3600 + k * STEP_S
    return ArchiveRow(datastream, start, start + STEP_S, result, start + STEP_S + received_after_s, late)


def test_partitions_duplicates_gaps_and_late_data_filling_them(archive_url: str, tmp_path: Path) -> None:
    archive = LiveArchive(archive_url)
    archive.ensure_schema()
    archive.ensure_schema()  # a second start finds the tables
    # Datastream 1: intervals 0..7 but 5 missing (a gap of 15 min after midnight); sent out of order.
    first = [row(1, k, 100 + k) for k in (3, 1, 0, 2, 6, 4, 7)]
    assert archive.insert(first).inserted == 7
    # The same again with changed results, one duplicate inside the batch, and Datastream 2's first row.
    again = [row(1, 3, 999), row(1, 3, 998), row(2, 0, 5.0)]
    result = archive.insert(again)
    assert (result.inserted, result.duplicates) == (1, 2)
    assert archive.partitions() == ["live_observation_20261206", "live_observation_20261207"]
    assert archive.count() == 8
    gap_start = MIDNIGHT - 3600 + 5 * STEP_S
    assert archive.gaps() == [Gap(1, gap_start, gap_start + STEP_S)]
    assert archive.gaps()[0].length_s == STEP_S
    out = tmp_path / "archive.parquet"
    assert archive.export_parquet(out) == 8
    table = pq.read_table(out).to_pandas()
    ds1 = table[table["datastream_id"] == 1].reset_index(drop=True)
    assert ds1["result"].tolist() == [100, 101, 102, 103, 104, 106, 107]  # the first arrival of 3 kept
    assert ds1["gap_before_s"].isna().tolist() == [True] * 5 + [False, True]
    assert ds1["gap_before_s"].iloc[5] == STEP_S
    assert str(table["phenomenon_start"].dt.tz) == "UTC"
    # Interval 5 arrives an hour late: archived, marked late, and the gap is gone.
    assert archive.insert([row(1, 5, 105, received_after_s=3600, late=True)]).inserted == 1
    assert archive.gaps() == []
    assert archive.export_parquet(out, since_unix_s=MIDNIGHT) == 4  # 00:00 .. 00:45 of 7 December
    late = pq.read_table(out).to_pandas()
    assert late["late"].tolist() == [False, True, False, False]
    assert late["gap_before_s"].isna().all()
    # A new process sees the partitions that exist.
    archive.close()
    reopened = LiveArchive(archive_url)
    reopened.ensure_schema()
    assert reopened.partitions() == ["live_observation_20261206", "live_observation_20261207"]
    reopened.close()


def test_feed_events_and_datastreams_are_recorded(archive_url: str) -> None:
    archive = LiveArchive(archive_url)
    archive.ensure_schema()
    archive.record_datastreams([(101, 1, "Anzahl Kfz", "detector", "", 900.0, 4, None)])
    archive.record_datastreams([(101, 1, "Anzahl Kfz", "detector", "", 900.0, 5, None)])  # corrected
    archive.record_feed_event(101, "stopped", MIDNIGHT)
    archive.record_feed_event(None, "stopped", MIDNIGHT + 1)
    assert archive.feed_events() == [(101, "stopped", MIDNIGHT), (None, "stopped", MIDNIGHT + 1)]
    with archive.connection.cursor() as cursor:
        cursor.execute("SELECT link_id FROM live_datastream")
        assert cursor.fetchall() == [(5,)]
    archive.close()


def test_two_archives_creating_the_same_day_at_once(archive_url: str) -> None:
    import threading

    first, second = LiveArchive(archive_url), LiveArchive(archive_url)
    first.ensure_schema()
    second.ensure_schema()
    with first.connection.cursor() as cursor:  # the first holds a new day's partition, not committed yet
        first._ensure_days(cursor, [row(1, 0, 1.0)])
    done: list[int] = []
    racer = threading.Thread(target=lambda: done.append(second.insert([row(2, 0, 2.0)]).inserted))
    racer.start()
    racer.join(timeout=1.0)
    assert racer.is_alive()  # waits for the first's catalogue lock
    first.connection.commit()
    racer.join(timeout=10.0)
    assert done == [1]
    assert first.insert([row(1, 0, 1.0)]).inserted == 1
    assert first.count() == 2
    first.close()
    second.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(
        st.tuples(st.integers(1, 3), st.integers(0, 11), st.integers(0, 1000)), min_size=1, max_size=40
    ),
    cuts=st.lists(st.integers(0, 40), max_size=4),
)
def test_any_order_and_batching_archives_the_first_arrival_of_each_observation_once(
    archive_url: str, data: list[tuple[int, int, int]], cuts: list[int]
) -> None:
    archive = LiveArchive(archive_url)
    archive.ensure_schema()
    with archive.connection.cursor() as cursor:
        cursor.execute("TRUNCATE live_observation")
    archive.connection.commit()
    rows = [row(d, k, float(r), received_after_s=float(n)) for n, (d, k, r) in enumerate(data)]
    bounds = sorted({0, len(rows), *[min(c, len(rows)) for c in cuts]})
    inserted = sum(archive.insert(rows[a:b]).inserted for a, b in itertools.pairwise(bounds))
    first: dict[tuple[int, int], float] = {}
    for d, k, r in data:
        first.setdefault((d, k), float(r))
    assert inserted == archive.count() == len(first)
    with archive.connection.cursor() as cursor:
        cursor.execute("SELECT datastream_id, phenomenon_start, result FROM live_observation")
        stored = {(d, round((t.timestamp() - MIDNIGHT + 3600) / STEP_S)): r for d, t, r in cursor.fetchall()}
    archive.connection.commit()
    assert stored == first
    # Gaps: the missing intervals between the first and last of each Datastream, whatever the order.
    expected = []
    for d in sorted({d for d, _ in first}):
        ks = sorted(k for dd, k in first if dd == d)
        expected += [(d, a, b) for a, b in itertools.pairwise(ks) if b > a + 1]
    got = [(g.datastream_id, round((g.after_unix_s - MIDNIGHT + 3600) / STEP_S) - 1,
            round((g.before_unix_s - MIDNIGHT + 3600) / STEP_S)) for g in archive.gaps()]  # fmt: skip
    assert got == expected
    archive.close()

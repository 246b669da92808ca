"""Discovering a SensorThings feed: its Things and Datastreams, matched to the twin, under a person's review.

:func:`discover_feed` reads every Thing (with Locations and Datastreams) from the service, matches each
Datastream to the twin (``ingest.sensorthings_match``) and keeps the review table up to date: where the
table already exists its rows (as a person corrected them) win, Datastreams new to the feed are matched
and appended, and the table is written back. Every Datastream but the ``rejected`` ones is ingested.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from metaliverpool.ingest.sensorthings import SensorThingsClient, StaDatastream, StaThing
from metaliverpool.ingest.sensorthings_match import (
    DatastreamMatch,
    match_things,
    read_review_table,
    write_review_table,
)
from metaliverpool.network.twin import Twin
from metaliverpool.store.live_archive import LiveArchive


@dataclass(frozen=True)
class LiveFeed:
    """What a feed offers and where each Datastream sits in the twin."""

    things: tuple[StaThing, ...]
    matches: tuple[DatastreamMatch, ...]

    @property
    def datastreams(self) -> dict[int, StaDatastream]:
        """The Datastreams to ingest (all but those a person rejected), by id."""
        rejected = {m.datastream_id for m in self.matches if m.status == "rejected"}
        return {
            d.datastream_id: d for t in self.things for d in t.datastreams if d.datastream_id not in rejected
        }

    def status_counts(self) -> dict[str, int]:
        """Number of review-table rows per status."""
        counts: dict[str, int] = {}
        for m in self.matches:
            counts[m.status] = counts.get(m.status, 0) + 1
        return counts


def discover_feed(client: SensorThingsClient, twin: Twin, review_path: Path) -> LiveFeed:
    """The feed's Things matched to ``twin``, the review table at ``review_path`` read and written back."""
    things = client.things()
    fresh = match_things(things, twin)
    if Path(review_path).is_file():
        reviewed = {m.datastream_id: m for m in read_review_table(review_path, twin)}
        matches = [reviewed.get(m.datastream_id, m) for m in fresh]
    else:
        matches = fresh
    write_review_table(matches, review_path)
    return LiveFeed(tuple(things), tuple(matches))


def record_feed(archive: LiveArchive, feed: LiveFeed) -> None:
    """Write what each ingested Datastream is and where it was matched into the archive."""
    by_id = {m.datastream_id: m for m in feed.matches}
    rows = []
    for datastream_id, stream in feed.datastreams.items():
        match = by_id.get(datastream_id)
        used = match is not None and match.used
        rows.append(
            (
                datastream_id,
                stream.thing_id,
                stream.name,
                "signal" if stream.is_signal else "detector",
                stream.unit,
                stream.interval_s,
                match.link_id if used and match is not None else None,
                match.junction_id if used and match is not None else None,
            )
        )
    archive.record_datastreams(rows)

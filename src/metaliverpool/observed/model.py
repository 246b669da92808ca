"""Observations of real traffic, as the calibration and validation of a twin use them.

This module holds the shared vocabulary only (no file reading, no engines): readers in
:mod:`metaliverpool.ingest.observations` turn the files a user brings into an :class:`ObservationSet`,
matching puts the twin's ``link_id``s on each observation, matrix estimation reads
:meth:`ObservationSet.count_targets`, and validation compares every observation with a model run.

Units and conventions:

- Flows are **vehicles per hour** (all motor vehicles, not PCU) averaged over the observation's period.
- A :class:`Period` is a clock interval in **seconds after midnight** of a weekday (07:00 is 25,200);
  twin times are seconds after 07:00 (:data:`metaliverpool.network.twin.DAY_START_CLOCK_S`).
- Locations are WGS84 longitude/latitude in degrees; bearings are degrees clockwise from north, the
  direction of travel the observation counts.
- ``use`` says whether an observation may steer calibration (``calibration``) or is kept out of it to
  validate the result (``validation``). Validation reports the two apart.
- ``source`` names the file and line (``counts.csv:12``) or the published fact (``lcr_observed_facts.csv:
  mersey_tunnels_annual_vehicles``) an observation came from, so every figure in a report can be traced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Use = Literal["calibration", "validation"]
USES: tuple[Use, ...] = ("calibration", "validation")


@dataclass(frozen=True)
class Period:
    """A weekday clock interval ``[start_s, end_s)`` in seconds after midnight."""

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.start_s < self.end_s <= 86_400.0:
            raise ValueError(f"period needs 0 <= start < end <= 86400 s, got {self.start_s}-{self.end_s}")

    @property
    def duration_s(self) -> float:
        """Length of the period in seconds."""
        return self.end_s - self.start_s

    def label(self) -> str:
        """``HH:MM-HH:MM``."""

        def clock(seconds: float) -> str:
            minutes = round(seconds / 60.0)
            return f"{minutes // 60:02d}:{minutes % 60:02d}"

        return f"{clock(self.start_s)}-{clock(self.end_s)}"


MORNING_PEAK = Period(7 * 3600.0, 10 * 3600.0)
"""The twin's demand period, 07:00-10:00."""


@dataclass(frozen=True)
class LinkRef:
    """Where a count is taken: an OSM way and direction, or a point and a bearing.

    Exactly one of the two forms is set: (``osm_way_id``, ``direction``) with ``direction`` ``forward``
    (the way's drawing order) or ``backward``; or (``lon``, ``lat``, ``bearing_deg``).
    ``both_directions`` (point form only, ``bearing_deg`` then ``None``) stands for both directions of
    the road nearest the point: a count published for the two directions combined (DfT's ``C``).
    """

    osm_way_id: int | None = None
    direction: Literal["forward", "backward"] | None = None
    lon: float | None = None
    lat: float | None = None
    bearing_deg: float | None = None
    both_directions: bool = False

    def __post_init__(self) -> None:
        by_way = self.osm_way_id is not None and self.direction is not None
        located = self.lon is not None and self.lat is not None
        by_point = located and ((self.bearing_deg is not None) != self.both_directions)
        if by_way == by_point:
            raise ValueError("a LinkRef is either (osm_way_id, direction) or (lon, lat, bearing_deg)")


@dataclass(frozen=True)
class LinkCount:
    """A count of vehicles passing one point of the network in one direction.

    ``link_ids`` is empty until matched to a twin (then the twin links the count stands for: one link,
    or the parallel carriageway links of one road in one direction).
    """

    site_id: str
    where: LinkRef
    flow_vph: float
    period: Period
    use: Use
    source: str
    name: str = ""
    link_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Screenline:
    """A set of crossing points with one observed total (a screenline or a cordon), one direction."""

    screenline_id: str
    name: str
    crossings: tuple[LinkRef, ...]
    flow_vph: float
    period: Period
    use: Use
    source: str
    link_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class JourneyTimeRoute:
    """An observed journey time along a route given by points in travel order."""

    route_id: str
    name: str
    points: tuple[tuple[float, float], ...]
    time_s: float
    period: Period
    use: Use
    source: str
    link_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class AreaSpeed:
    """An observed mean speed over the roads of an area (a circle), e.g. TomTom's city-centre speed.

    ``speed_mps`` is the distance-weighted mean speed (vehicle-km over vehicle-hours) of the area's roads
    in the period. With ``free_flow`` it is the speed the same traffic would have without congestion
    (TomTom's free-flow reference, against which its congestion level is the extra travel time): modelled
    with every link at its zero-flow time, weighted by the period's flows as the period speed is.
    """

    area_id: str
    name: str
    centre_lon: float
    centre_lat: float
    radius_m: float
    speed_mps: float
    period: Period
    use: Use
    source: str
    free_flow: bool = False


@dataclass(frozen=True)
class CountTarget:
    """One target for matrix estimation: the summed flow on ``link_ids`` should be ``flow_vph``.

    Made from a matched :class:`LinkCount` (its links) or :class:`Screenline` (all its links).
    ``weight`` scales the target's term in the estimation objective (1 by default).
    """

    target_id: str
    link_ids: tuple[int, ...]
    flow_vph: float
    period: Period
    use: Use
    weight: float = 1.0


@dataclass(frozen=True)
class ObservationSet:
    """Everything observed that one calibration or validation uses."""

    counts: tuple[LinkCount, ...] = ()
    screenlines: tuple[Screenline, ...] = ()
    routes: tuple[JourneyTimeRoute, ...] = ()
    area_speeds: tuple[AreaSpeed, ...] = ()
    sources: tuple[str, ...] = field(default=())
    unmatched: tuple[str, ...] = ()
    """After matching: one line per observation that found no twin link (``id: why``)."""

    def ids(self) -> list[str]:
        """Every observation's id (counts, screenlines, routes, area speeds), in that order."""
        ids = [o.site_id for o in self.counts] + [o.screenline_id for o in self.screenlines]
        return ids + [o.route_id for o in self.routes] + [o.area_id for o in self.area_speeds]

    def combined(self, other: ObservationSet) -> ObservationSet:
        """This set and ``other`` together (e.g. a user's files and the region's published figures).

        Raises ``ValueError`` if an observation id is in both."""
        shared = set(self.ids()) & set(other.ids())
        if shared:
            raise ValueError(f"observation id {sorted(shared)[0]!r} used more than once")
        return ObservationSet(
            counts=self.counts + other.counts,
            screenlines=self.screenlines + other.screenlines,
            routes=self.routes + other.routes,
            area_speeds=self.area_speeds + other.area_speeds,
            sources=self.sources + other.sources,
            unmatched=self.unmatched + other.unmatched,
        )

    def count_targets(self, use: Use | None = None) -> list[CountTarget]:
        """Matched counts and screenlines as matrix-estimation targets (unmatched ones are left out).

        ``use`` keeps only observations of that use (``None``: all).
        """
        targets = [
            CountTarget(c.site_id, c.link_ids, c.flow_vph, c.period, c.use)
            for c in self.counts
            if c.link_ids and (use is None or c.use == use)
        ]
        targets += [
            CountTarget(s.screenline_id, s.link_ids, s.flow_vph, s.period, s.use)
            for s in self.screenlines
            if s.link_ids and (use is None or s.use == use)
        ]
        return targets

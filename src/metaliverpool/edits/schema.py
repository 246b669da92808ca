"""The scenario format: a base twin, a versioned list of policy edits, a demand variant and run settings.

One source of truth for the CLI, the scenario pipeline and the web editor (which validates live edits
with :func:`metaliverpool.edits.io.validate_edit`). Edits name what they change by stable external ids
(OSM way ids, OSM node ids, LSOA codes) or by a drawn polygon (GeoJSON ``Polygon`` in EPSG:4326 lon/lat),
never by internal row numbers, so a scenario survives a rebuild of the twin.

Every model forbids unknown fields. Units are in the field names: ``speed_limit_mph`` (UK signs are in
miles per hour; converted to metres per second when applied), ``charge_gbp``, ``cycle_s``, ``offset_s``.

Versions
--------
``schema_version`` 2 is current. Version 1 (the first draft) kept run settings at the top level
(``engine``, ``seeds`` as a count, ``demand_growth_percent``); :mod:`metaliverpool.edits.upgrade` turns
a version 1 document into version 2. Any other version is rejected.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import shapely
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from shapely.geometry import shape
from shapely.validation import explain_validity

SCHEMA_VERSION = 2
"""The version this code writes; older versions are upgraded on load (:mod:`~metaliverpool.edits.upgrade`)."""

MPS_PER_MPH = 0.44704
"""Metres per second in one mile per hour (exact: 1 mile = 1609.344 m)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolygonArea(_Strict):
    """A drawn area: a GeoJSON ``Polygon`` in lon/lat (EPSG:4326), outer ring first, then holes.

    Each ring is closed (first position equals last), has at least four positions and the polygon must be
    valid (no self-intersection) with a non-zero area.
    """

    type: Literal["Polygon"]
    coordinates: list[list[tuple[float, float]]] = Field(min_length=1)

    @field_validator("coordinates")
    @classmethod
    def _check_rings(cls, rings: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
        for number, ring in enumerate(rings):
            name = "outer ring" if number == 0 else f"hole {number}"
            if len(ring) < 4:
                raise ValueError(f"{name} has {len(ring)} positions; a closed ring needs at least 4")
            if tuple(ring[0]) != tuple(ring[-1]):
                raise ValueError(f"{name} is not closed: its first position must equal its last")
            for lon, lat in ring:
                if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
                    raise ValueError(f"{name} has position ({lon}, {lat}) outside lon/lat range")
        polygon = shapely.Polygon(rings[0], rings[1:])
        if not polygon.is_valid:
            raise ValueError(f"polygon is invalid: {explain_validity(polygon)}")
        if polygon.area <= 0:
            raise ValueError("polygon has zero area")
        return rings

    def to_shapely(self) -> shapely.Polygon:
        """The polygon as a shapely geometry in lon/lat."""
        polygon = shape({"type": "Polygon", "coordinates": self.coordinates})
        assert isinstance(polygon, shapely.Polygon)
        return polygon


class _EditBase(_Strict):
    id: str | None = Field(default=None, description="Optional stable label (the web editor's item id).")
    note: str = Field(default="", description="Free text shown in reports.")


class CloseRoad(_EditBase):
    """Close the links of OSM ways: to all traffic, or to general traffic only (buses and cycles keep it)."""

    kind: Literal["close_road"]
    osm_way_ids: list[int] = Field(min_length=1)
    vehicles: Literal["all", "general"] = "all"


class ChangeLanes(_EditBase):
    """Set the number of lanes per direction on OSM ways; capacity scales with the lane count."""

    kind: Literal["change_lanes"]
    osm_way_ids: list[int] = Field(min_length=1)
    lanes: int = Field(ge=1, le=8)


class BusLane(_EditBase):
    """Turn one general traffic lane per direction into a bus lane (the way needs two lanes or more)."""

    kind: Literal["bus_lane"]
    osm_way_ids: list[int] = Field(min_length=1)


class SpeedLimit(_EditBase):
    """Change the speed limit on OSM ways or on every link whose midpoint lies inside a polygon.

    Free-flow speed scales by new limit / old limit (roads that ran below their limit stay below it).
    ``exclude_highways`` keeps classes such as ``trunk`` out of a zone (as councils exempt main roads).
    """

    kind: Literal["speed_limit"]
    speed_limit_mph: float = Field(gt=0, le=70)
    osm_way_ids: list[int] | None = Field(default=None, min_length=1)
    area: PolygonArea | None = None
    exclude_highways: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_target(self) -> SpeedLimit:
        if (self.osm_way_ids is None) == (self.area is None):
            raise ValueError("give exactly one of 'osm_way_ids' or 'area'")
        return self


class ModalFilter(_EditBase):
    """Modal filters (bollards, planters, bus gates) on OSM ways: motor traffic cannot pass.

    With ``bus_gate`` buses may still pass (the links become bus-only instead of closed).
    """

    kind: Literal["modal_filter"]
    osm_way_ids: list[int] = Field(min_length=1)
    bus_gate: bool = False


class LowTrafficNeighbourhood(_EditBase):
    """A low-traffic neighbourhood: no through motor traffic across the cell drawn as ``area``.

    Filters are placed on the cell's minor streets (``minor_highways``) so that each part of the cell is
    reached from one entry only; every address stays reachable by car.
    """

    kind: Literal["low_traffic_neighbourhood"]
    area: PolygonArea
    minor_highways: list[str] = Field(
        default_factory=lambda: ["residential", "unclassified", "living_street", "service"]
    )


class TurnBan(_EditBase):
    """Ban the turn from one OSM way into another at the OSM node where they meet."""

    kind: Literal["turn_ban"]
    from_osm_way_id: int
    via_osm_node_id: int
    to_osm_way_id: int


class SignalPlan(_EditBase):
    """Retime the signals of the junction that contains ``osm_node_id``, or let the engine optimise it.

    ``green_splits`` are the shares of the effective green time given to each phase, in phase order;
    they must sum to 1. With ``optimise`` the engine computes the plan (Webster) and no timings are given.
    """

    kind: Literal["signal_plan"]
    osm_node_id: int
    cycle_s: float | None = Field(default=None, ge=30, le=240)
    green_splits: list[float] | None = Field(default=None, min_length=2)
    offset_s: float | None = Field(default=None, ge=0)
    optimise: bool = False

    @model_validator(mode="after")
    def _plan_or_optimise(self) -> SignalPlan:
        timings = (self.cycle_s, self.green_splits, self.offset_s)
        if self.optimise:
            if any(value is not None for value in timings):
                raise ValueError("with 'optimise' give no 'cycle_s', 'green_splits' or 'offset_s'")
            return self
        if self.cycle_s is None:
            raise ValueError("give 'cycle_s' (or set 'optimise: true')")
        if self.green_splits is not None:
            if any(share <= 0 for share in self.green_splits):
                raise ValueError("every green split must be positive")
            if abs(sum(self.green_splits) - 1.0) > 1e-6:
                raise ValueError(f"green splits sum to {sum(self.green_splits):g}, expected 1")
        if self.offset_s is not None and self.offset_s >= self.cycle_s:
            raise ValueError(f"offset_s {self.offset_s:g} must be less than cycle_s {self.cycle_s:g}")
        return self


class AiSignalControl(_EditBase):
    """Put signalised junctions under the AI loop (dynamic engine): every ``sample_interval_s`` of the run
    the blocking risk of each junction is forecast ``horizon_min`` ahead; a junction whose forecast reaches
    ``risk_threshold`` is handed from its fixed plan to the adaptive look-ahead controller
    (:mod:`metaliverpool.control.closed_loop`). ``osm_node_ids``: the junctions the loop may take over
    (the signalised junctions containing those nodes); all signalised junctions when omitted.

    ``forecast``: ``trend`` (Holt's linear trend of the risk, the default), ``history`` (each junction's
    mean risk at that time on earlier simulated mornings, from ``metaliverpool signals train-risk``) or
    ``reactive`` (no forecast: a junction is taken over when its current risk reaches the threshold), the
    baseline a forecast has to beat.

    Like every edit it is compared with the base twin as it is. With ``run.decompose`` the run also
    reports the package without the loop (the scenario without its ``ai_signal_control`` edits) against
    the base twin, and what the loop adds to it.
    """

    kind: Literal["ai_signal_control"]
    enabled: bool = True
    osm_node_ids: list[int] | None = Field(default=None, min_length=1)
    horizon_min: float = Field(default=30.0, gt=0, le=120)
    risk_threshold: float = Field(default=0.5, gt=0, le=1)
    sample_interval_s: float = Field(default=300.0, ge=60, le=1800)
    forecast: Literal["trend", "history", "reactive"] = "trend"


class CordonCharge(_EditBase):
    """A road-user charge on every link that crosses the boundary of ``area`` (inbound by default).

    Route choice weighs the charge against time with the run's ``value_of_time_gbp_per_h``.
    """

    kind: Literal["cordon_charge"]
    area: PolygonArea
    charge_gbp: float = Field(gt=0, le=100)
    direction: Literal["inbound", "outbound", "both"] = "inbound"


class NewDevelopment(_EditBase):
    """New homes and/or jobs in an LSOA, adding car trips in the modelled morning peak.

    Trip rates are car-driver trips per home leaving and per job arriving in the modelled period
    (defaults documented in ``docs/scenarios.md``); destinations and origins follow the zone's existing
    trip pattern, departure times follow the period's profile.
    """

    kind: Literal["new_development"]
    lsoa_code: str = Field(min_length=1)
    homes: int = Field(default=0, ge=0)
    jobs: int = Field(default=0, ge=0)
    car_trips_per_home: float = Field(default=0.5, ge=0, le=5)
    car_trips_per_job: float = Field(default=0.35, ge=0, le=5)

    @model_validator(mode="after")
    def _something(self) -> NewDevelopment:
        if self.homes == 0 and self.jobs == 0:
            raise ValueError("give 'homes' or 'jobs' (or both) greater than 0")
        return self


class DemandChange(_EditBase):
    """Change car demand by a percentage: all trips, or those starting or ending in the given LSOAs."""

    kind: Literal["demand_change"]
    percent: float = Field(gt=-100, le=200)
    lsoa_codes: list[str] | None = Field(default=None, min_length=1)


Edit = Annotated[
    CloseRoad
    | ChangeLanes
    | BusLane
    | SpeedLimit
    | ModalFilter
    | LowTrafficNeighbourhood
    | TurnBan
    | SignalPlan
    | AiSignalControl
    | CordonCharge
    | NewDevelopment
    | DemandChange,
    Field(discriminator="kind"),
]
"""One policy edit; the ``kind`` field says which."""

EDIT_KINDS: tuple[str, ...] = (
    "close_road",
    "change_lanes",
    "bus_lane",
    "speed_limit",
    "modal_filter",
    "low_traffic_neighbourhood",
    "turn_ban",
    "signal_plan",
    "ai_signal_control",
    "cordon_charge",
    "new_development",
    "demand_change",
)


class DemandSettings(_Strict):
    """Which demand the runs use: the twin's own trip table (``base``), grown by a percentage."""

    variant: Literal["base"] = "base"
    growth_percent: float = Field(default=0.0, gt=-100, le=200)


class RunSettings(_Strict):
    """How baseline and scenario are run (both with the same settings and seeds).

    ``engine``: ``dynamic`` (the mesoscopic simulator) or ``static`` (user-equilibrium assignment, for
    strategic questions). ``value_of_time_gbp_per_h`` converts charges into minutes in route choice.
    ``gridlock_timeout_s``: the simulator's gridlock rule (0 = never intervene); every use is counted in
    the run summary (``gridlock_interventions``). ``decompose``: with an ``ai_signal_control`` edit, also
    run the package without the loop, and report its effect against the base twin and what the loop adds
    (the pair always compares the whole scenario with the base twin as it is).
    """

    engine: Literal["dynamic", "static"] = "dynamic"
    seeds: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1, max_length=50)
    value_of_time_gbp_per_h: float = Field(default=10.0, gt=0)
    dta_iterations: int = Field(default=3, ge=1, le=50)
    signals: Literal["fixed", "webster"] = "webster"
    relative_gap: float = Field(default=1e-4, gt=0)
    gridlock_timeout_s: float = Field(default=300.0, ge=0)
    decompose: bool = False

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds):
            raise ValueError("seeds must be distinct")
        return seeds


class Scenario(_Strict):
    """A policy scenario: ``base_twin`` (a twin bundle folder, relative to the scenario file) and edits."""

    schema_version: Literal[2] = 2
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    base_twin: str | None = None
    edits: list[Edit] = Field(default_factory=list)
    demand: DemandSettings = Field(default_factory=DemandSettings)
    run: RunSettings = Field(default_factory=RunSettings)

    _source: str = PrivateAttr(default="scenario")

    @property
    def source(self) -> str:
        """The file this scenario was loaded from (for error messages), or ``"scenario"``."""
        return self._source

    def __eq__(self, other: object) -> bool:
        """Equal content (the remembered source file does not count)."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.to_document() == other.to_document()

    __hash__ = None  # type: ignore[assignment]

    def with_source(self, source: str) -> Scenario:
        """A copy that names ``source`` in its error messages."""
        copy = self.model_copy()
        copy._source = source
        return copy

    def to_document(self) -> dict[str, Any]:
        """The scenario as JSON-ready data (what :func:`~metaliverpool.edits.io.save_scenario` writes)."""
        document = self.model_dump(mode="json", exclude_none=True)
        document["edits"] = [_tidy_edit(edit) for edit in document["edits"]]
        return document


def _tidy_edit(edit: dict[str, Any]) -> dict[str, Any]:
    """``kind`` first, empty notes and empty lists of exclusions left out (they are the defaults)."""
    tidy = {"kind": edit["kind"]}
    tidy.update({key: value for key, value in edit.items() if key != "kind" and value not in ("", [])})
    return tidy

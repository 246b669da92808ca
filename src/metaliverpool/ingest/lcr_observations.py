"""The Liverpool City Region's published traffic figures as morning-peak observations.

:func:`lcr_observations` reads ``observed/lcr_observed_facts.csv`` (and the Census 2021 commuting flows
for the direction of the morning peak) and turns the headline figures into observations of the twin's
morning peak (07:00-10:00, :data:`~metaliverpool.observed.model.MORNING_PEAK`):

- the Mersey road tunnels' annual vehicles as mean vehicles per hour per tunnel and direction
  (:class:`LinkCount`, located by point and bearing in each bore under the river, so that they match
  any build of the network) and per direction over both tunnels (:class:`Screenline`); ``calibration``;
- TomTom's all-hours city-centre speed turned into a morning-peak speed (:class:`AreaSpeed`);
  ``validation`` (held out of calibration);
- the same speed turned into TomTom's free-flow speed (:class:`AreaSpeed` with ``free_flow``; all-hours
  time over free-flow time from the all-hours congestion level only); ``calibration`` of the network's
  free-flow speeds (:mod:`metaliverpool.scenario.free_flow`). The morning congestion level stays held out.

Every factor is a :class:`Factor` below with its source; ``docs/validation.md`` ("Liverpool targets")
shows the arithmetic and says which factors are judgement.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from metaliverpool.demand.profile import AM_PEAK_SHARE_OF_WEEKDAY as TRA0307_AM_PEAK_SHARE
from metaliverpool.errors import InputError
from metaliverpool.observed.model import (
    MORNING_PEAK,
    AreaSpeed,
    LinkCount,
    LinkRef,
    ObservationSet,
    Screenline,
    Use,
)

FACTS_FILE = Path("observed") / "lcr_observed_facts.csv"
COMMUTING_FILE = Path("census2021") / "lcr_ltla_commute_flows_census2021_odwp01ew.csv"
FACT_COLUMNS = ("fact_id", "value", "unit", "source")

LIVERPOOL_LAD = "E08000012"
WIRRAL_LAD = "E08000015"
MPH_TO_MPS = 0.44704
MILE_M = 1609.344


@dataclass(frozen=True)
class Factor:
    """One factor of a derivation: its value, where it comes from, and whether it is judgement."""

    name: str
    value: float
    source: str
    judgement: bool = False


DAYS_PER_YEAR = Factor("days per year", 365.0, "calendar")

MERSEYFLOW_QUARTER_VEHICLES = 6_180_000.0
"""Vehicles over the Mersey Gateway and Silver Jubilee bridges in Jul-Sep 2022 (merseyflow press release
13 Oct 2022, quoted in the notes of ``mersey_gateway_sjb_weekday_vehicles``)."""
MERSEYFLOW_QUARTER_DAYS = 92.0
"""Days in July-September."""

AM_PEAK_SHARE_OF_WEEKDAY = Factor(
    "share of a weekday's traffic in 07:00-10:00",
    TRA0307_AM_PEAK_SHARE,
    "DfT TRA0307 (traffic distribution by time of day, weekday): about 6.5 + 7 + 6 % in 07-08, 08-09, "
    "09-10; the figure the build's DfT vehicle-km target uses (docs/demand.md, table 6)",
)

KINGSWAY_SHARE_OF_TUNNELS = Factor(
    "Kingsway's share of the two tunnels' vehicles",
    16.4 / 25.0,
    "Big Issue North, 'Tunnel takes its toll', Dec 2021: 'around 16.4 million vehicles pass through the "
    "Wallasey [Kingsway] each year', over Merseytravel's 25 million for both tunnels (c. 2015); the two "
    "figures are of different years",
)

COMMUTING_SHARE_OF_PEAK = Factor(
    "share of morning-peak tunnel traffic that is commuting (takes the Census direction split)",
    0.5,
    "judgement: the rest (business, education, escort, freight) is taken as balanced, 50/50",
    judgement=True,
)

TOMTOM_CENTRE = (-2.9917, 53.4072)
"""Liverpool Town Hall (lon, lat): taken as the centre of TomTom's city-centre circle (judgement)."""
TOMTOM_RADIUS_M = 3.0 * MILE_M
"""TomTom's city centre: a circle of about 3 miles radius (``lcr_observed_facts.csv``)."""

TOMTOM_CONGESTION_ALL_HOURS = 0.29
"""TomTom Traffic Index 2015, Liverpool: congestion level over all hours (extra travel time over free
flow; as quoted on a 'Liverpool road accident map 2015-2016' page)."""
TOMTOM_CONGESTION_MORNING = 0.46
"""The same index's congestion level in the morning rush hour."""

TOMTOM_MORNING_OVER_ALL_HOURS_TIME = Factor(
    "morning-peak travel time / all-hours travel time, Liverpool",
    (1.0 + TOMTOM_CONGESTION_MORNING) / (1.0 + TOMTOM_CONGESTION_ALL_HOURS),
    "TomTom Traffic Index 2015, Liverpool: congestion level 29 % (all hours) and 46 % in the morning rush "
    "hour, both extra travel time over free flow, so the ratio of times is 1.46 / 1.29 (as quoted on a "
    "'Liverpool road accident map 2015-2016' page); the 2015 ratio is applied to 2024 (judgement)",
    judgement=True,
)

TOMTOM_ALL_HOURS_OVER_FREE_FLOW_TIME = Factor(
    "all-hours travel time / free-flow travel time, Liverpool",
    1.0 + TOMTOM_CONGESTION_ALL_HOURS,
    "TomTom Traffic Index 2015, Liverpool: congestion level 29 % over all hours, extra travel time over "
    "free flow (same page as the morning ratio); the 2015 level is applied to 2024 (judgement). The "
    "morning rush hour's 46 % is not used: it stays held out in the morning-peak speed",
    judgement=True,
)

QUEENSWAY = "queensway"
KINGSWAY = "kingsway"


@dataclass(frozen=True)
class TunnelBore:
    """Where one direction of a tunnel is counted: a point under the river and the travel bearing."""

    tunnel: str
    name: str
    to_liverpool: bool
    lon: float
    lat: float
    bearing_deg: float


TUNNEL_BORES = (
    # Queensway (Birkenhead Tunnel, A41): one bore, two lanes each way; OSM way 754952812 mid-river.
    TunnelBore(QUEENSWAY, "Queensway tunnel towards Birkenhead", False, -3.00476, 53.40015, 229.7),
    TunnelBore(QUEENSWAY, "Queensway tunnel towards Liverpool", True, -3.00476, 53.40015, 49.7),
    # Kingsway (Wallasey Tunnel, A59): two bores of two lanes; OSM ways 4227015 (westbound) and
    # 192794541 (eastbound) mid-river.
    TunnelBore(KINGSWAY, "Kingsway tunnel towards Wallasey", False, -3.00634, 53.41383, 246.6),
    TunnelBore(KINGSWAY, "Kingsway tunnel towards Liverpool", True, -3.00640, 53.41409, 66.6),
)


def read_facts(path: Path) -> dict[str, tuple[float, str, str, int]]:
    """``fact_id -> (value, unit, source, line)`` from a facts CSV (``InputError`` naming line and field)."""
    if not path.is_file():
        raise InputError(path, "file not found (the published traffic figures, observed/README.md)")
    facts: dict[str, tuple[float, str, str, int]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in FACT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(path, f"missing column(s) {', '.join(missing)}", where="line 1")
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row["value"])
            except (TypeError, ValueError):
                problem = f"value {row['value']!r} is not a number"
                raise InputError(path, problem, f"line {line}, field 'value'") from None
            facts[row["fact_id"]] = (value, row["unit"], row["source"], line)
    return facts


def _fact(facts: dict[str, tuple[float, str, str, int]], path: Path, fact_id: str, unit: str) -> float:
    if fact_id not in facts:
        raise InputError(path, f"no row with fact_id {fact_id!r}", where="field 'fact_id'")
    value, found_unit, _, line = facts[fact_id]
    if found_unit != unit:
        raise InputError(path, f"unit {found_unit!r}, expected {unit!r}", f"line {line}, field 'unit'")
    if value <= 0:
        raise InputError(path, f"value {value} must be positive", f"line {line}, field 'value'")
    return value


def weekday_over_average_day(facts: dict[str, tuple[float, str, str, int]], path: Path) -> Factor:
    """Average weekday / average day of the Mersey's tolled bridges (merseyflow, Jul-Sep 2022)."""
    weekday = _fact(facts, path, "mersey_gateway_sjb_weekday_vehicles", "vehicles per weekday")
    return Factor(
        "average weekday / average day",
        weekday / (MERSEYFLOW_QUARTER_VEHICLES / MERSEYFLOW_QUARTER_DAYS),
        f"merseyflow, Mersey Gateway + Silver Jubilee bridges, Jul-Sep 2022: {weekday:,.0f} per weekday "
        f"over {MERSEYFLOW_QUARTER_VEHICLES:,.0f} in the quarter's {MERSEYFLOW_QUARTER_DAYS:.0f} days "
        "(the other tolled Mersey crossing, taken as like the tunnels: judgement)",
        judgement=True,
    )


def towards_liverpool_share(data_dir: Path) -> Factor:
    """Share of the morning-peak tunnel traffic travelling towards Liverpool.

    Commuting (Census 2021, Wirral -> Liverpool against Liverpool -> Wirral workers) takes its own split;
    the rest is balanced (:data:`COMMUTING_SHARE_OF_PEAK`, judgement).
    """
    path = data_dir / COMMUTING_FILE
    if not path.is_file():
        raise InputError(path, "file not found (Census 2021 commuting flows between local authorities)")
    flows: dict[tuple[str, str], float] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                flows[(row["origin_code"], row["dest_code"])] = float(row["count"])
            except (KeyError, TypeError, ValueError):
                problem = "expected origin_code, dest_code and a numeric count"
                raise InputError(path, problem, f"line {line}") from None
    inbound = flows.get((WIRRAL_LAD, LIVERPOOL_LAD), 0.0)
    outbound = flows.get((LIVERPOOL_LAD, WIRRAL_LAD), 0.0)
    if inbound + outbound <= 0:
        raise InputError(path, "no commuting flows between Wirral and Liverpool")
    commuting = inbound / (inbound + outbound)
    c = COMMUTING_SHARE_OF_PEAK.value
    return Factor(
        "share of morning-peak tunnel traffic towards Liverpool",
        c * commuting + (1.0 - c) * 0.5,
        f"Census 2021 ODWP01EW: {inbound:,.0f} Wirral residents work in Liverpool, {outbound:,.0f} the "
        f"other way ({commuting:.3f} towards Liverpool), weighted {c:.2f} with a balanced rest (judgement)",
        judgement=True,
    )


def tunnel_flows_vph(data_dir: Path) -> tuple[dict[tuple[str, bool], float], tuple[Factor, ...]]:
    """Morning-peak mean flows (veh/h) per (tunnel, towards Liverpool) and the factors used."""
    path = data_dir / FACTS_FILE
    facts = read_facts(path)
    annual = _fact(facts, path, "mersey_tunnels_annual_vehicles", "vehicles per year")
    weekday = weekday_over_average_day(facts, path)
    direction = towards_liverpool_share(data_dir)
    both_tunnels_vph = (
        annual
        / DAYS_PER_YEAR.value
        * weekday.value
        * AM_PEAK_SHARE_OF_WEEKDAY.value
        / (MORNING_PEAK.duration_s / 3600.0)
    )
    share = {KINGSWAY: KINGSWAY_SHARE_OF_TUNNELS.value, QUEENSWAY: 1.0 - KINGSWAY_SHARE_OF_TUNNELS.value}
    flows = {
        (tunnel, to_liverpool): both_tunnels_vph
        * share[tunnel]
        * (direction.value if to_liverpool else 1.0 - direction.value)
        for tunnel in (QUEENSWAY, KINGSWAY)
        for to_liverpool in (False, True)
    }
    factors = (DAYS_PER_YEAR, weekday, AM_PEAK_SHARE_OF_WEEKDAY, KINGSWAY_SHARE_OF_TUNNELS, direction)
    return flows, factors


def tomtom_morning_speed_mps(data_dir: Path) -> tuple[float, tuple[Factor, ...]]:
    """TomTom's 2024 all-hours Liverpool centre speed turned into a morning-peak speed (m/s)."""
    path = data_dir / FACTS_FILE
    all_hours_mph = _fact(read_facts(path), path, "tomtom_liverpool_centre_speed_2024", "mph")
    ratio = TOMTOM_MORNING_OVER_ALL_HOURS_TIME
    return all_hours_mph * MPH_TO_MPS / ratio.value, (ratio,)


def tomtom_free_flow_speed_mps(data_dir: Path) -> tuple[float, tuple[Factor, ...]]:
    """TomTom's 2024 all-hours Liverpool centre speed turned into its free-flow speed (m/s): all-hours
    travel time is free-flow time x (1 + the all-hours congestion level)."""
    path = data_dir / FACTS_FILE
    all_hours_mph = _fact(read_facts(path), path, "tomtom_liverpool_centre_speed_2024", "mph")
    ratio = TOMTOM_ALL_HOURS_OVER_FREE_FLOW_TIME
    return all_hours_mph * MPH_TO_MPS * ratio.value, (ratio,)


def _tomtom_centre(
    area_id: str, name: str, speed_mps: float, use: Use, source: str, *, free_flow: bool = False
) -> AreaSpeed:
    """An area speed over TomTom's centre circle (``TOMTOM_CENTRE``, ``TOMTOM_RADIUS_M``) in the morning
    peak; ``speed_mps`` in m/s."""
    return AreaSpeed(
        area_id=area_id,
        name=name,
        centre_lon=TOMTOM_CENTRE[0],
        centre_lat=TOMTOM_CENTRE[1],
        radius_m=TOMTOM_RADIUS_M,
        speed_mps=speed_mps,
        period=MORNING_PEAK,
        use=use,
        source=source,
        free_flow=free_flow,
    )


def lcr_observations(data_dir: Path) -> ObservationSet:
    """The Liverpool observations for the morning peak (module docstring; ``docs/validation.md``)."""
    facts_source = str(FACTS_FILE.name)
    flows, _ = tunnel_flows_vph(data_dir)
    counts = tuple(
        LinkCount(
            site_id=f"{bore.tunnel}_to_{'liverpool' if bore.to_liverpool else 'wirral'}",
            where=LinkRef(lon=bore.lon, lat=bore.lat, bearing_deg=bore.bearing_deg),
            flow_vph=flows[(bore.tunnel, bore.to_liverpool)],
            period=MORNING_PEAK,
            use="calibration",
            source=f"{facts_source}:mersey_tunnels_annual_vehicles",
            name=bore.name,
        )
        for bore in TUNNEL_BORES
    )
    screenlines = tuple(
        Screenline(
            screenline_id=f"mersey_tunnels_to_{'liverpool' if to_liverpool else 'wirral'}",
            name=f"Mersey road tunnels towards {'Liverpool' if to_liverpool else 'the Wirral'}",
            crossings=tuple(
                LinkRef(lon=b.lon, lat=b.lat, bearing_deg=b.bearing_deg)
                for b in TUNNEL_BORES
                if b.to_liverpool == to_liverpool
            ),
            flow_vph=flows[(QUEENSWAY, to_liverpool)] + flows[(KINGSWAY, to_liverpool)],
            period=MORNING_PEAK,
            use="calibration",
            source=f"{facts_source}:mersey_tunnels_annual_vehicles",
        )
        for to_liverpool in (True, False)
    )
    source = f"{facts_source}:tomtom_liverpool_centre_speed_2024"
    area = _tomtom_centre(
        "tomtom_liverpool_centre_am",
        "Liverpool city centre, morning peak (TomTom 2024, all hours, scaled to the morning)",
        tomtom_morning_speed_mps(data_dir)[0],
        "validation",
        source,
    )
    free_flow = _tomtom_centre(
        "tomtom_liverpool_centre_free_flow",
        "Liverpool city centre, free flow (TomTom 2024, all hours, over 2015's 29% congestion level)",
        tomtom_free_flow_speed_mps(data_dir)[0],
        "calibration",
        source,
        free_flow=True,
    )
    return ObservationSet(
        counts=counts,
        screenlines=screenlines,
        area_speeds=(area, free_flow),
        sources=(str(data_dir / FACTS_FILE), str(data_dir / COMMUTING_FILE)),
    )

"""Observation files into an :class:`ObservationSet`, and matching it to a twin.

``read_observations(paths)`` tells each file's kind from its header (or ``.geojson`` suffix) and reads it
(formats: :mod:`.dft_counts`, :mod:`.observation_files`, ``docs/observations.md``):

=================================================  ======================================
header holds                                       kind
=================================================  ======================================
``count_point_id`` and ``hour``                    DfT raw counts
``count_point_id``                                 DfT AADF by direction
``site_id``                                        link counts (by way or by point)
``screenline_id``                                  screenlines and cordons
``area_id``                                        area mean speeds
(a ``.geojson`` / ``.json`` file)                  journey-time routes
=================================================  ======================================

``match_observations(obs, twin)`` (:mod:`.observation_match`) fills the ``link_ids``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from metaliverpool.errors import InputError
from metaliverpool.ingest.catalogue import SOURCES
from metaliverpool.ingest.dft_counts import read_dft_aadf, read_dft_rawcounts
from metaliverpool.ingest.observation_files import (
    read_area_speeds,
    read_counts,
    read_routes,
    read_screenlines,
)
from metaliverpool.ingest.observation_match import match_observations
from metaliverpool.ingest.observation_rows import read_header
from metaliverpool.observed.model import (
    AreaSpeed,
    JourneyTimeRoute,
    LinkCount,
    ObservationSet,
    Screenline,
    Use,
)

__all__ = ["file_kind", "match_observations", "observed_files", "read_observations"]

KINDS = {
    "dft_rawcount": "DfT raw counts (count point, direction, date, hour)",
    "dft_aadf": "DfT AADF by count point and direction",
    "counts": "link counts",
    "screenlines": "screenlines and cordons",
    "area_speeds": "area mean speeds",
    "routes": "journey-time routes (GeoJSON)",
}
"""The kinds of observation file, with what each holds."""


def file_kind(path: Path) -> str:
    """The kind of observation file ``path`` is (a key of :data:`KINDS`)."""
    if path.suffix.lower() in (".geojson", ".json"):
        if not path.is_file():
            raise InputError(path, "file not found")
        return "routes"
    header = read_header(path)
    if "count_point_id" in header:
        return "dft_rawcount" if "hour" in header else "dft_aadf"
    for column, kind in (("site_id", "counts"), ("screenline_id", "screenlines"), ("area_id", "area_speeds")):
        if column in header:
            return kind
    raise InputError(
        path,
        "unknown observation file: expected a header with count_point_id (DfT), site_id (counts), "
        "screenline_id or area_id, or a .geojson of routes (docs/observations.md)",
        where="line 1",
    )


def read_observations(
    paths: Sequence[Path], *, year: int | None = None, dft_use: Use = "calibration"
) -> ObservationSet:
    """Every observation in ``paths`` (unmatched). ``year`` picks the DfT year (default: the latest in
    each file); DfT counts, which carry no ``use``, get ``dft_use``."""
    counts: list[LinkCount] = []
    screenlines: list[Screenline] = []
    routes: list[JourneyTimeRoute] = []
    areas: list[AreaSpeed] = []
    for path in map(Path, paths):
        kind = file_kind(path)
        if kind in ("dft_rawcount", "dft_aadf"):
            reader = read_dft_rawcounts if kind == "dft_rawcount" else read_dft_aadf
            for item in reader(path, year=year, use=dft_use):
                (counts if isinstance(item, LinkCount) else screenlines).append(item)  # type: ignore[arg-type]
        elif kind == "counts":
            counts += read_counts(path, read_header(path))
        elif kind == "screenlines":
            screenlines += read_screenlines(path)
        elif kind == "area_speeds":
            areas += read_area_speeds(path)
        else:
            routes += read_routes(path)
    observations = ObservationSet(
        counts=tuple(counts),
        screenlines=tuple(screenlines),
        routes=tuple(routes),
        area_speeds=tuple(areas),
        sources=tuple(str(p) for p in paths),
    )
    repeated = sorted(i for i, n in Counter(observations.ids()).items() if n > 1)
    if repeated:
        raise InputError(
            ", ".join(str(p) for p in paths), f"observation id {repeated[0]!r} used more than once"
        )
    return observations


def observed_files(data_dir: Path) -> list[dict[str, str]]:
    """Every file in ``<data_dir>/observed`` with what it is: its catalogue entry, else the observation
    kind its header shows, else that ``validate`` cannot read it."""
    folder = data_dir / "observed"
    catalogued = {source.path: source.what for source in SOURCES}
    out = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        relative = f"observed/{path.name}"
        if relative in catalogued:
            what = catalogued[relative]
        elif path.suffix.lower() == ".md":
            what = "notes"
        else:
            try:
                what = KINDS[file_kind(path)]
            except InputError as error:
                what = f"not an observation file validate reads ({error.problem})"
        out.append({"path": relative, "what": what})
    return out

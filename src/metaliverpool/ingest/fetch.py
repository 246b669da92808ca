"""Download data sources from their public addresses (``metaliverpool data fetch``).

Downloads go to ``<data folder>/fetched/<file name of the URL>`` through a temporary file renamed into
place when complete (never a half file). ``--lidar-bbox`` fetches the Environment Agency's 1 m LiDAR
composite DSM and DTM over a bounding box from the Defra WCS into ``<data folder>/fetched/lidar/``.
Without network access the fetch fails with :class:`~metaliverpool.errors.DataUnavailableError`
naming the source and the address.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlparse

import numpy as np
from pyproj import Transformer

from metaliverpool.errors import DataUnavailableError, InputError
from metaliverpool.ingest.catalogue import EA_LIDAR_COMPOSITE, SOURCES, CoverageSource, Source, get_source

FETCH_TIMEOUT_S = 30.0


def fetch_target(source: Source, data_dir: Path) -> Path:
    """Where ``source`` is downloaded to."""
    name = Path(urlparse(source.url).path).name or source.name
    return data_dir / "fetched" / name


def fetch_url(url: str, target: Path, timeout_s: float = FETCH_TIMEOUT_S) -> Path:
    """Download ``url`` to ``target`` atomically; :class:`DataUnavailableError` when unreachable."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as response:
            shutil.copyfileobj(response, out, length=1 << 20)
        os.replace(tmp_name, target)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        reason = getattr(error, "reason", error)
        raise DataUnavailableError(
            f"{url}: cannot download ({reason}); no network? Download it by hand into {target.parent}"
        ) from None
    return target


def fetch_sources(names: list[str], data_dir: Path, timeout_s: float = FETCH_TIMEOUT_S) -> list[Path]:
    """Download the named sources (all with a direct file URL when ``names`` is empty)."""
    if names:
        try:
            sources = [get_source(n, SOURCES) for n in names]
        except KeyError as error:
            known = ", ".join(s.name for s in SOURCES)
            raise InputError(str(error.args[0]), f"unknown source (known: {known})") from None
    else:
        sources = [s for s in SOURCES if s.url.endswith((".pbf", ".csv"))]
    unique = {s.url: s for s in reversed(sources)}  # one download per address
    return [fetch_url(s.url, fetch_target(s, data_dir), timeout_s) for s in reversed(unique.values())]


LIDAR_MAX_SIDE_M = 5_000.0
"""Largest side of a ``--lidar-bbox`` request (one 5 km x 5 km Ordnance Survey tile: 25 M cells at 1 m)."""


def lidar_bbox_bng(bbox_wgs84: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """The whole-metre British National Grid box (min E, min N, max E, max N) covering a lon/lat box;
    :class:`InputError` when it is empty, reversed or larger than :data:`LIDAR_MAX_SIDE_M` a side."""
    west, south, east, north = bbox_wgs84
    if not (west < east and south < north and abs(west) <= 180 and abs(east) <= 180 and abs(north) <= 90):
        raise InputError("--lidar-bbox", f"expected west,south,east,north in degrees, found {bbox_wgs84}")
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    lons, lats = np.meshgrid(np.linspace(west, east, 5), np.linspace(south, north, 5))
    xs, ys = to_bng.transform(lons.ravel(), lats.ravel())
    box = (math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys)))
    if max(box[2] - box[0], box[3] - box[1]) > LIDAR_MAX_SIDE_M:
        raise InputError("--lidar-bbox", f"covers more than {LIDAR_MAX_SIDE_M:.0f} m a side; split it")
    return box


def lidar_coverage_url(source: CoverageSource, box_bng: tuple[int, int, int, int]) -> str:
    """The WCS 2.0.1 GetCoverage address of ``source`` over a British National Grid box (GeoTIFF)."""
    query = urlencode(
        [
            ("service", "WCS"),
            ("version", "2.0.1"),
            ("request", "GetCoverage"),
            ("CoverageId", source.coverage_id),
            ("format", "image/tiff"),
            ("subset", f"E({box_bng[0]},{box_bng[2]})"),
            ("subset", f"N({box_bng[1]},{box_bng[3]})"),
        ]
    )
    return f"{source.wcs_url}?{query}"


def fetch_lidar_composite(
    bbox_wgs84: tuple[float, float, float, float], data_dir: Path, timeout_s: float = FETCH_TIMEOUT_S
) -> list[Path]:
    """Download the EA LiDAR composite DSM and DTM (1 m) over a lon/lat box into
    ``<data>/fetched/lidar/ea_<dsm|dtm>_<minE>_<minN>_<maxE>_<maxN>.tif``; returns the two paths."""
    box = lidar_bbox_bng(bbox_wgs84)
    name = "_".join(str(v) for v in box)
    return [
        fetch_url(
            lidar_coverage_url(source, box),
            data_dir / "fetched" / "lidar" / f"ea_{source.name}_{name}.tif",
            timeout_s,
        )
        for source in EA_LIDAR_COMPOSITE
    ]

"""Benchmark the streamed point-cloud reader (``ingest.survey_points.PointSurvey``) on a synthetic cloud.

The step measured: a classified LAS cloud to per-cell grids at 1 m (surface = mean of non-noise points,
terrain = mean of ground points, building cells = class-6 majority), the input of building extraction.
The cloud (default 100 million points, 10 points/m^2 over 4 km x 2.5 km, terraces of 30 m x 25 m
buildings on sloping ground, 0.1 % high noise) is generated to ``/tmp`` in chunks and kept for reruns.

Engines, each in its own subprocess so that its peak memory (max RSS) is its own:
* ``ours``: ``PointSurvey`` (``laspy.open(...).chunk_iterator``, 2 M points a chunk, the numba kernel
  ``kernels.point_grid.accumulate_points`` per chunk), then building extraction over the grid (timed
  separately);
* ``laspy_numpy``: the plain baseline: ``laspy.read`` of the whole file, then the same ``np.bincount``
  sums at once (the grids it makes are checked equal to ours);
* ``pdal``: PDAL's ``readers.las -> filters.range -> writers.gdal`` (mean, 1 m) when a ``pdal``
  executable is installed. Debian bookworm (this machine) has no ``pdal`` package candidate, and the
  ``pdal`` wheel on PyPI needs the C++ library, so this engine reports "unavailable" here.

Usage: ``python bench/survey.py [--points 100000000] [--engines ours,laspy_numpy,pdal] [--file F]``;
prints one JSON line per engine, then the ratio against the baseline.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import laspy
import numpy as np
from pyproj import CRS

DENSITY_PER_M2 = 10.0
ASPECT = 1.6
CHUNK_POINTS = 2_000_000
X0, Y0 = 330_000.0, 385_000.0


def extent_m(points: int) -> tuple[float, float]:
    """Width and height (m) of the synthetic survey holding ``points`` at the density."""
    area = points / DENSITY_PER_M2
    height = (area / ASPECT) ** 0.5
    return height * ASPECT, height


def generate(path: Path, points: int, seed: int = 5) -> Path:
    """Write the synthetic classified cloud to ``path`` in chunks (LAS 1.4, point format 6)."""
    width, height = extent_m(points)
    rng = np.random.default_rng(seed)
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.offsets = [X0, Y0, 0.0]
    header.scales = [0.001, 0.001, 0.001]
    header.add_crs(CRS.from_epsg(27700))
    with laspy.open(path, mode="w", header=header) as writer:
        for start in range(0, points, CHUNK_POINTS):
            n = min(CHUNK_POINTS, points - start)
            x = rng.uniform(0, width, n)
            y = rng.uniform(0, height, n)
            z = 20.0 + 0.01 * x + 0.005 * y + rng.normal(0, 0.05, n)
            building = (np.mod(x, 50.0) < 30.0) & (np.mod(y, 40.0) < 25.0)
            z = np.where(building, z + 10.0, z)
            cls = np.where(building, 6, 2).astype(np.uint8)
            noise = rng.random(n) < 0.001
            z[noise] += 40.0
            cls[noise] = 18
            record = laspy.ScaleAwarePointRecord.zeros(n, header=header)
            record.x, record.y, record.z = x + X0, y + Y0, z
            record.classification = cls
            writer.write_points(record)
    return path


def run_ours(path: Path) -> dict[str, object]:
    from metaliverpool.ingest.survey import extract_footprints
    from metaliverpool.ingest.survey_points import PointSurvey
    from metaliverpool.survey.config import SurveyConfig

    started = time.perf_counter()
    source = PointSurvey([path], cell_m=1.0)
    grid_s = time.perf_counter() - started
    started = time.perf_counter()
    footprints = extract_footprints(source, SurveyConfig())
    return {
        "points": source.points_read,
        "grid_s": grid_s,
        "footprints": len(footprints),
        "footprints_s": round(time.perf_counter() - started, 2),
        "dsm_checksum": float(np.nansum(source.dsm_m)),
    }


def run_laspy_numpy(path: Path) -> dict[str, object]:
    started = time.perf_counter()
    cloud = laspy.read(path)
    x, y = np.asarray(cloud.x), np.asarray(cloud.y)
    z = np.asarray(cloud.z, dtype=np.float64)
    cls = np.asarray(cloud.classification)
    left = np.floor(cloud.header.mins[0])
    top = np.ceil(cloud.header.maxs[1])
    cols = int(np.ceil(cloud.header.maxs[0] - left)) + 1
    rows = int(np.ceil(top - cloud.header.mins[1])) + 1
    index = ((top - y).astype(np.int64)) * cols + (x - left).astype(np.int64)
    keep = ~np.isin(cls, (7, 18))
    sums = np.bincount(index[keep], weights=z[keep], minlength=rows * cols)
    counts = np.bincount(index[keep], minlength=rows * cols)
    ground = keep & (cls == 2)
    ground_sums = np.bincount(index[ground], weights=z[ground], minlength=rows * cols)
    ground_counts = np.bincount(index[ground], minlength=rows * cols)
    buildings = np.bincount(index[keep & (cls == 6)], minlength=rows * cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        dsm = sums / counts
        _ = (ground_sums / ground_counts, buildings > 0.5 * (counts - ground_counts))
    return {"points": len(z), "grid_s": time.perf_counter() - started, "dsm_checksum": float(np.nansum(dsm))}


def run_pdal(path: Path) -> dict[str, object]:
    executable = shutil.which("pdal")
    if executable is None:
        return {
            "unavailable": "no pdal executable (Debian has no pdal candidate; the PyPI wheel needs libpdal)"
        }
    out = Path(tempfile.mkdtemp()) / "dsm.tif"
    pipeline = [
        str(path),
        {"type": "filters.range", "limits": "Classification![7:7],Classification![18:18]"},
        {"type": "writers.gdal", "filename": str(out), "resolution": 1.0, "output_type": "mean"},
    ]
    started = time.perf_counter()
    subprocess.run([executable, "pipeline", "--stdin"], input=json.dumps(pipeline), text=True, check=True)
    return {"grid_s": time.perf_counter() - started}


ENGINES = {"ours": run_ours, "laspy_numpy": run_laspy_numpy, "pdal": run_pdal}


def child(engine: str, path: Path) -> None:
    """Run one engine in this process and print its JSON line with max RSS."""
    result = ENGINES[engine](path)
    if "grid_s" in result and "points" in result:
        result["points_per_s"] = round(float(result["points"]) / float(result["grid_s"]))
        result["grid_s"] = round(float(result["grid_s"]), 2)
    result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({"engine": engine, **result}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000_000)
    parser.add_argument("--engines", default="ours,laspy_numpy,pdal")
    parser.add_argument(
        "--file", type=Path, default=None, help="Cloud to use (default /tmp/survey-bench-N.las)."
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    path = args.file or Path(tempfile.gettempdir()) / f"survey-bench-{args.points}.las"
    if args.child:
        child(args.child, path)
        return
    if not path.is_file():
        started = time.perf_counter()
        generate(path, args.points)
        print(
            json.dumps(
                {
                    "generated": str(path),
                    "bytes": path.stat().st_size,
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        )
    results = {}
    for engine in args.engines.split(","):
        line = subprocess.run(
            [sys.executable, __file__, "--file", str(path), "--child", engine],
            capture_output=True,
            text=True,
            check=False,
        )
        if line.returncode != 0:
            results[engine] = {"engine": engine, "failed": line.stderr.strip().splitlines()[-1:]}
        else:
            results[engine] = json.loads(line.stdout.strip().splitlines()[-1])
        print(json.dumps(results[engine]))
    ours, base = results.get("ours", {}), results.get("laspy_numpy", {})
    if "grid_s" in ours and "grid_s" in base:
        print(
            json.dumps(
                {
                    "ratio_time_baseline_over_ours": round(base["grid_s"] / ours["grid_s"], 2),
                    "ratio_memory_baseline_over_ours": round(base["max_rss_mb"] / ours["max_rss_mb"], 2),
                    "same_dsm": abs(base["dsm_checksum"] - ours["dsm_checksum"])
                    <= 1e-6 * abs(base["dsm_checksum"]),
                }
            )
        )


if __name__ == "__main__":
    main()

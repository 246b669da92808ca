"""Benchmark of the twin build: wall time and peak memory, on the real extract and a synthetic 20x one.

Usage: ``.venv/bin/python bench/build.py [--tiles 20] [--out bench/results/build.json]``

Each build runs in its own Python process (``metaliverpool build``) so its peak resident memory
(``ru_maxrss``) is its own. ``cli_startup_s`` is the time to import the command line with every command
group (other helpers' modules included); ``build_s`` the build and the bundle write after that. Cases:
1. ``centre-json``: the staged central-Liverpool Overpass JSON, ``--region liverpool-centre`` (the target
   of issue 2: under 20 s and 1.5 GB).
2. ``centre-pbf``: the same extract written as PBF by pyosmium, built as ``--region liverpool-city-region``.
3. ``tiles-<n>``: ``n`` copies of the extract on a grid inside the LCR box (ids offset per copy), joined by
   two-way primary roads between neighbouring copies, as one PBF: about ``n`` times the data.
Cases 2 and 3 use the same code path, so their ratio shows how the cost grows with size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import osmium

from metaliverpool.config import data_dir
from metaliverpool.ingest.osm_read import read_overpass_json

CENTRE = "osm/liverpool_centre_highway_features_overpass_2025-09-17.json"
ID_STRIDE = 20_000_000_000
"""Offset between the OSM ids of two copies (larger than any OSM id today)."""
TILE_DX_DEG = 0.09
TILE_DY_DEG = 0.07
HUB_WAY = 4085159
"""Catharine Street: the copies are joined at the first node of this way."""


def write_tiles(target: Path, tiles: int) -> Path:
    """Write ``tiles`` shifted copies of the central extract as one PBF (columns x rows grid)."""
    osm = read_overpass_json(data_dir() / CENTRE)
    columns = 5 if tiles >= 5 else tiles
    rows = -(-tiles // columns)
    hub = next(w for w in osm.ways if w.osm_way_id == HUB_WAY).node_ids[0]
    positions = [(i % columns, i // columns) for i in range(tiles)]
    with osmium.SimpleWriter(str(target)) as writer:
        for tile, (col, row) in enumerate(positions):
            offset = tile * ID_STRIDE
            dx = (col - (columns - 1) / 2) * TILE_DX_DEG
            dy = (row - (rows - 1) / 2) * TILE_DY_DEG + (0.09 if tiles > 1 else 0.0)
            for node_id in sorted(osm.node_lonlat):
                lon, lat = osm.node_lonlat[node_id]
                tags = osm.node_tags.get(node_id, {})
                writer.add_node(
                    osmium.osm.mutable.Node(id=node_id + offset, location=(lon + dx, lat + dy), tags=tags)
                )
        for tile in range(tiles):
            offset = tile * ID_STRIDE
            for way in osm.ways:
                writer.add_way(
                    osmium.osm.mutable.Way(
                        id=way.osm_way_id + offset, nodes=[n + offset for n in way.node_ids], tags=way.tags
                    )
                )
        link_id = 10 * ID_STRIDE * max(tiles, 1)
        for tile, (col, row) in enumerate(positions):
            for other, (col2, row2) in enumerate(positions):
                if (col2, row2) in ((col + 1, row), (col, row + 1)):
                    link_id += 1
                    writer.add_way(
                        osmium.osm.mutable.Way(
                            id=link_id,
                            nodes=[hub + tile * ID_STRIDE, hub + other * ID_STRIDE],
                            tags={"highway": "primary", "name": f"Tile link {tile}-{other}"},
                        )
                    )
    return target


def run_build(args: list[str], out: Path) -> dict[str, object]:
    """Run one build in a child process; wall time, child's peak RSS and the bundle's counts."""
    code = (
        "import resource, sys, time\n"
        "start = time.perf_counter()\n"
        "from metaliverpool.cli.main import main, make_app\n"
        "make_app()\n"
        "ready = time.perf_counter()\n"
        "try:\n    main(sys.argv[1:])\n"
        "finally:\n"
        "    print('STARTUP_S', ready - start, file=sys.stderr)\n"
        "    print('BUILD_S', time.perf_counter() - ready, file=sys.stderr)\n"
        "    print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code, "build", "--out", str(out), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    wall_s = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"build failed: {result.stderr.strip()}")
    reported = {
        line.split()[0]: float(line.split()[1])
        for line in result.stderr.splitlines()
        if line.startswith(("PEAK_KB", "STARTUP_S", "BUILD_S"))
    }
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    return {
        "wall_s": round(wall_s, 2),
        "cli_startup_s": round(reported["STARTUP_S"], 2),
        "build_s": round(reported["BUILD_S"], 2),
        "peak_rss_mb": round(reported["PEAK_KB"] / 1024, 1),
        "counts": counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="Also write the results as JSON here.")
    options = parser.parse_args()
    results: dict[str, object] = {"cpu_count": os.cpu_count(), "python": sys.version.split()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        folder = Path(tmp)
        results["centre-json"] = run_build(["--region", "liverpool-centre"], folder / "centre-json")
        one = write_tiles(folder / "tiles-1.osm.pbf", 1)
        results["centre-pbf"] = run_build(
            ["--region", "liverpool-city-region", "--osm", str(one)], folder / "c1"
        )
        many = write_tiles(folder / f"tiles-{options.tiles}.osm.pbf", options.tiles)
        results[f"tiles-{options.tiles}"] = run_build(
            ["--region", "liverpool-city-region", "--osm", str(many)], folder / "cn"
        )
        base = results["centre-pbf"]
        big = results[f"tiles-{options.tiles}"]
        assert isinstance(base, dict) and isinstance(big, dict)
        results["build_time_ratio"] = round(float(big["build_s"]) / float(base["build_s"]), 2)
        results["link_ratio"] = round(big["counts"]["links"] / base["counts"]["links"], 2)
    text = json.dumps(results, indent=2)
    print(text)
    if options.out is not None:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

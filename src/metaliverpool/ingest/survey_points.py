"""Read classified point clouds (LAS/LAZ through laspy; LAZ through the ``lazrs`` backend) into grids.

The files are streamed in chunks (``laspy.open(...).chunk_iterator(n)``), so a cloud larger than memory
is read in bounded memory; what is held is the grid being filled (sums and counts over the survey's
extent at ``cell_m``, 40 bytes a cell while filling: 10 km x 10 km at 1 m is 100 M cells, 4 GB; split
bigger surveys). Each chunk is added in one pass by :func:`metaliverpool.kernels.point_grid.
accumulate_points`. Per cell:

- surface (DSM): the mean height of every point except noise (LAS classes 7 low noise, 18 high noise);
  means over a cell are area averages, like a gridded LiDAR product;
- terrain (DTM): the mean height of ground points (class 2); cells without ground (under buildings) are
  filled by inverse-distance interpolation (:func:`rasterio.fill.fillnodata`);
- building cells: cells where building points (class 6) are most of the points above ground.

Points in another CRS (read from the header's WKT or GeoTIFF keys) are projected to the target with
pyproj per chunk. A file that is not LAS/LAZ, a truncated one, one without a CRS or without ground
points raises :class:`~metaliverpool.errors.InputError` naming the file.
"""

from __future__ import annotations

import math
from pathlib import Path

import laspy
import numpy as np
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.fill import fillnodata

from metaliverpool.errors import InputError
from metaliverpool.ingest.survey_raster import BRITISH_NATIONAL_GRID
from metaliverpool.ingest.survey_source import GridSource
from metaliverpool.kernels.point_grid import (
    BUILDING_COUNT,
    GROUND_COUNT,
    GROUND_SUM,
    SURFACE_COUNT,
    SURFACE_SUM,
    accumulate_points,
)
from metaliverpool.survey.grid import SurveyWindow

NOISE_CLASSES = (7, 18)
CHUNK_POINTS = 2_000_000
"""Points read per chunk."""
FILL_SEARCH_CELLS = 200.0
"""Farthest distance (cells) the DTM is interpolated into cells without ground points."""


def _crs_of(path: Path, header: laspy.LasHeader) -> CRS:
    """The CRS of a LAS header, or :class:`InputError` when it has none."""
    try:
        parsed = header.parse_crs()
    except Exception as error:  # laspy raises several kinds for malformed CRS records
        raise InputError(path, f"unreadable coordinate reference system ({error})") from None
    if parsed is None:
        raise InputError(
            path, "has no coordinate reference system (expected WKT or GeoTIFF keys in the header)"
        )
    return CRS.from_wkt(parsed.to_wkt())


def _read_headers(paths: list[Path]) -> list[tuple[Path, laspy.LasHeader]]:
    """Headers of every file (an :class:`InputError` for a missing or non-LAS file)."""
    headers = []
    for path in paths:
        if not path.is_file():
            raise InputError(path, "file not found (expected LAS or LAZ)")
        try:
            with laspy.open(path) as reader:
                headers.append((path, reader.header))
        except (laspy.errors.LaspyException, ValueError, OSError) as error:
            raise InputError(path, f"not a readable LAS/LAZ file ({error})") from None
    return headers


class PointSurvey(GridSource):
    """Grids of surface, terrain and building cells from LAS/LAZ files, in the target projection."""

    kind = "survey_points"

    def __init__(
        self,
        paths: list[Path],
        cell_m: float = 1.0,
        crs: str = BRITISH_NATIONAL_GRID,
        chunk_points: int = CHUNK_POINTS,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self.crs = CRS.from_user_input(crs)
        self.cell_m = float(cell_m)
        headers = _read_headers(self.paths)
        self._transformers: dict[Path, Transformer | None] = {}
        boxes = []
        for path, header in headers:
            source = _crs_of(path, header)
            transformer = (
                None if source == self.crs else Transformer.from_crs(source, self.crs, always_xy=True)
            )
            self._transformers[path] = transformer
            xs = np.array([header.mins[0], header.maxs[0]])
            ys = np.array([header.mins[1], header.maxs[1]])
            if transformer is not None:
                grid_x, grid_y = np.meshgrid(np.linspace(xs[0], xs[1], 11), np.linspace(ys[0], ys[1], 11))
                xs, ys = transformer.transform(grid_x.ravel(), grid_y.ravel())
            boxes.append((np.min(xs), np.min(ys), np.max(xs), np.max(ys)))
        min_x = min(b[0] for b in boxes)
        min_y = min(b[1] for b in boxes)
        self.left_m = math.floor(min_x / self.cell_m) * self.cell_m
        self.top_m = math.ceil(max(b[3] for b in boxes) / self.cell_m) * self.cell_m
        self.cols = math.ceil((max(b[2] for b in boxes) - self.left_m) / self.cell_m) + 1
        self.rows = math.ceil((self.top_m - min_y) / self.cell_m) + 1
        self.points_read = 0
        self._fill(chunk_points)

    def _fill(self, chunk_points: int) -> None:
        """Stream every file into the per-cell sums and counts, then finish the grids."""
        cells = self.rows * self.cols
        sums = np.zeros((cells, 5))
        for path in self.paths:
            try:
                with laspy.open(path) as reader:
                    for chunk in reader.chunk_iterator(chunk_points):
                        x, y = np.asarray(chunk.x), np.asarray(chunk.y)
                        z = np.asarray(chunk.z, dtype=np.float64)
                        classes = np.asarray(chunk.classification)
                        transformer = self._transformers[path]
                        if transformer is not None:
                            x, y = transformer.transform(x, y)
                        col = ((x - self.left_m) / self.cell_m).astype(np.int64)
                        row = ((self.top_m - y) / self.cell_m).astype(np.int64)
                        keep = ~np.isin(classes, NOISE_CLASSES) & (col >= 0) & (col < self.cols)
                        keep &= (row >= 0) & (row < self.rows)
                        index = row[keep] * self.cols + col[keep]
                        kept_z, kept_class = z[keep], classes[keep]
                        accumulate_points(index, kept_z, kept_class, sums)
                        self.points_read += len(z)
            except (laspy.errors.LaspyException, ValueError, OSError) as error:
                raise InputError(path, f"corrupt or truncated LAS/LAZ data ({error})") from None
        surface_sum, surface_count = sums[:, SURFACE_SUM], sums[:, SURFACE_COUNT]
        ground_sum, ground_count = sums[:, GROUND_SUM], sums[:, GROUND_COUNT]
        building_count = sums[:, BUILDING_COUNT]
        if not ground_count.any():
            raise InputError(self.paths[0], "no ground points (LAS class 2): a terrain model cannot be made")
        shape = (self.rows, self.cols)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.dsm_m = (surface_sum / surface_count).reshape(shape)
            dtm = (ground_sum / ground_count).reshape(shape)
            above = (surface_count - ground_count).reshape(shape)
            self.building_cells = building_count.reshape(shape) > 0.5 * above
        self.dtm_m = fillnodata(
            np.nan_to_num(dtm, nan=0.0).astype(np.float32),
            mask=np.isfinite(dtm).astype(np.uint8),
            max_search_distance=FILL_SEARCH_CELLS,
        ).astype(np.float64)
        self.dtm_m[~np.isfinite(self.dsm_m) & ~np.isfinite(dtm)] = np.nan

    def read_window(self, row0: int, row1: int, col0: int, col1: int) -> SurveyWindow:
        """Rows ``row0:row1`` and columns ``col0:col1`` of the grids (clipped to them)."""
        row0, col0 = max(row0, 0), max(col0, 0)
        row1, col1 = min(row1, self.rows), min(col1, self.cols)
        return SurveyWindow(
            dsm_m=self.dsm_m[row0:row1, col0:col1],
            dtm_m=self.dtm_m[row0:row1, col0:col1],
            left_m=self.left_m + col0 * self.cell_m,
            top_m=self.top_m - row0 * self.cell_m,
            cell_m=self.cell_m,
            building_cells=self.building_cells[row0:row1, col0:col1],
        )

    def provenance(self) -> list[dict[str, object]]:
        """What was read: path, size, point count, point format and CRS of each file."""
        return [
            {
                "path": str(path),
                "role": "points",
                "size_bytes": path.stat().st_size,
                "point_count": int(header.point_count),
                "point_format": int(header.point_format.id),
                "crs": str(_crs_of(path, header).to_string()),
            }
            for path, header in _read_headers(self.paths)
        ]

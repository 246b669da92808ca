"""What every survey source offers the derivations: a grid in the target projection, read by windows.

:class:`GridSource` is the shared part of :class:`~metaliverpool.ingest.survey_raster.RasterSurvey`
(DSM/DTM GeoTIFFs) and :class:`~metaliverpool.ingest.survey_points.PointSurvey` (LAS/LAZ clouds): a
north-up grid of ``rows`` x ``cols`` square cells of ``cell_m`` whose top-left corner is
(``left_m``, ``top_m``) in ``crs``; subclasses implement :meth:`read_window`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

from rasterio.crs import CRS

from metaliverpool.survey.grid import SurveyWindow


class GridSource:
    """A survey grid read by windows (subclasses set the attributes and :meth:`read_window`)."""

    crs: CRS
    rows: int
    cols: int
    left_m: float
    top_m: float
    cell_m: float
    kind: str

    def read_window(self, row0: int, row1: int, col0: int, col1: int) -> SurveyWindow:
        """Rows ``row0:row1`` and columns ``col0:col1`` of the grid (clipped to it)."""
        raise NotImplementedError

    def tiles(self, tile_cells: int, overlap_cells: int) -> Iterator[SurveyWindow]:
        """Tiles of ``tile_cells`` square (the core each tile owns) read with ``overlap_cells`` more on
        every side, row by row from the north-west; ``core`` marks the owned part."""
        for row in range(0, self.rows, tile_cells):
            for col in range(0, self.cols, tile_cells):
                row0, col0 = max(row - overlap_cells, 0), max(col - overlap_cells, 0)
                window = self.read_window(
                    row0, row + tile_cells + overlap_cells, col0, col + tile_cells + overlap_cells
                )
                core_rows = min(tile_cells, self.rows - row)
                core_cols = min(tile_cells, self.cols - col)
                core = (row - row0, row - row0 + core_rows, col - col0, col - col0 + core_cols)
                yield dataclasses.replace(window, core=core)

    def window_around(self, bounds_m: tuple[float, float, float, float], margin_m: float) -> SurveyWindow:
        """The cells covering ``bounds_m`` (min x, min y, max x, max y, target metres) plus ``margin_m``."""
        min_x, min_y, max_x, max_y = bounds_m
        col0 = math.floor((min_x - margin_m - self.left_m) / self.cell_m)
        col1 = math.ceil((max_x + margin_m - self.left_m) / self.cell_m)
        row0 = math.floor((self.top_m - max_y - margin_m) / self.cell_m)
        row1 = math.ceil((self.top_m - min_y + margin_m) / self.cell_m)
        return self.read_window(row0, row1, col0, col1)

    def provenance(self) -> list[dict[str, object]]:
        """What was read (one record per file)."""
        raise NotImplementedError

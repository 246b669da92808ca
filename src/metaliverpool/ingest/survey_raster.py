"""Read surface and terrain models (DSM/DTM GeoTIFF) through rasterio, window by window.

:class:`RasterSurvey` opens a DSM and a DTM on the same grid, in any coordinate reference system; when
that is not the target projection (British National Grid, EPSG:27700, by default) both are warped on the
fly (:class:`rasterio.vrt.WarpedVRT`, bilinear) to a north-up grid of square cells, so only the window
being read is ever resampled. :meth:`RasterSurvey.tiles` streams the grid in square tiles with an
overlap on every side; :meth:`RasterSurvey.window_around` reads the cells around a bounding box. An
optional orthophoto (GeoTIFF, red, green and blue as bands 1-3, any CRS and resolution) is averaged
onto the same grid and marks green cells as vegetation.

Bad input raises :class:`~metaliverpool.errors.InputError` naming the file: not a raster, no coordinate
reference system, or a DTM whose grid (CRS, transform, size) differs from the DSM's.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform
from rasterio.windows import Window

from metaliverpool.errors import InputError
from metaliverpool.ingest.survey_source import GridSource
from metaliverpool.survey.footprints import green_cells
from metaliverpool.survey.grid import SurveyWindow

BRITISH_NATIONAL_GRID = "EPSG:27700"
"""The default target projection: OSGB36 / British National Grid, metres."""


def open_raster(path: Path) -> rasterio.DatasetReader:
    """Open a GeoTIFF (or any GDAL raster) that has a coordinate reference system."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found (expected a GeoTIFF)")
    try:
        dataset = rasterio.open(path)
    except rasterio.errors.RasterioIOError as error:
        raise InputError(path, f"not a readable raster ({str(error).splitlines()[0]})") from None
    if dataset.crs is None:
        dataset.close()
        raise InputError(path, "has no coordinate reference system (expected a georeferenced GeoTIFF)")
    return dataset


def check_same_grid(dsm: rasterio.DatasetReader, dtm: rasterio.DatasetReader, dtm_path: Path) -> None:
    """Raise :class:`InputError` naming ``dtm_path`` unless the DTM's grid is the DSM's."""
    if dsm.crs != dtm.crs:
        raise InputError(dtm_path, f"CRS {dtm.crs} does not match the DSM's {dsm.crs}")
    if (dsm.width, dsm.height) != (dtm.width, dtm.height):
        raise InputError(
            dtm_path,
            f"grid of {dtm.width} x {dtm.height} cells does not match the DSM's {dsm.width} x {dsm.height}",
        )
    if not dsm.transform.almost_equals(dtm.transform, precision=1e-6):
        raise InputError(dtm_path, f"grid transform {tuple(dtm.transform)[:6]} does not match the DSM's")


class RasterSurvey(GridSource):
    """A DSM and a DTM on one grid, read in the target projection (``with`` closes the files)."""

    kind = "survey_dsm"

    def __init__(
        self,
        dsm_path: Path,
        dtm_path: Path,
        crs: str = BRITISH_NATIONAL_GRID,
        ortho_path: Path | None = None,
        green_index: float = 0.08,
    ) -> None:
        self.dsm_path, self.dtm_path = Path(dsm_path), Path(dtm_path)
        self.ortho_path = Path(ortho_path) if ortho_path is not None else None
        self.green_index = green_index
        self._ortho_file: rasterio.DatasetReader | None = None
        self._ortho: rasterio.io.DatasetReaderBase | None = None
        self.crs = CRS.from_user_input(crs)
        self._dsm_file = open_raster(self.dsm_path)
        try:
            self._dtm_file = open_raster(self.dtm_path)
        except InputError:
            self._dsm_file.close()
            raise
        try:
            check_same_grid(self._dsm_file, self._dtm_file, self.dtm_path)
        except InputError:
            self.close()
            raise
        self._dsm, self._dtm = self._target_views()
        transform = self._dsm.transform
        self.cell_m = float(transform.a)
        self.left_m, self.top_m = float(transform.c), float(transform.f)
        self.rows, self.cols = int(self._dsm.height), int(self._dsm.width)
        if self.ortho_path is not None:
            try:
                self._ortho_file = open_raster(self.ortho_path)
                if self._ortho_file.count < 3:
                    raise InputError(
                        self.ortho_path, f"has {self._ortho_file.count} band(s); expected red, green, blue"
                    )
            except InputError:
                self.close()
                raise
            self._ortho = WarpedVRT(
                self._ortho_file,
                crs=self.crs,
                transform=self._dsm.transform,
                width=self.cols,
                height=self.rows,
                resampling=Resampling.average,
            )

    def _target_views(self) -> tuple[rasterio.io.DatasetReaderBase, rasterio.io.DatasetReaderBase]:
        """The two datasets as north-up square-cell grids in the target CRS (warped when needed)."""
        source = self._dsm_file
        t = source.transform
        if source.crs == self.crs and t.b == 0 and t.d == 0 and t.a == -t.e:
            return self._dsm_file, self._dtm_file
        transform, width, height = calculate_default_transform(
            source.crs, self.crs, source.width, source.height, *source.bounds
        )
        cell = max(abs(transform.a), abs(transform.e))
        transform, width, height = calculate_default_transform(
            source.crs, self.crs, source.width, source.height, *source.bounds, resolution=cell
        )
        views = [
            WarpedVRT(
                file,
                crs=self.crs,
                transform=transform,
                width=width,
                height=height,
                resampling=Resampling.bilinear,
                src_nodata=file.nodata,
                nodata=np.nan,
                dtype="float32",
            )
            for file in (self._dsm_file, self._dtm_file)
        ]
        return views[0], views[1]

    def close(self) -> None:
        """Close the files (and their warped views)."""
        for dataset in (
            getattr(self, "_dsm", None),
            getattr(self, "_dtm", None),
            self._dsm_file,
            self._dtm_file,
        ):
            if dataset is not None and not dataset.closed:
                dataset.close()

    def __enter__(self) -> RasterSurvey:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _read(self, dataset: rasterio.io.DatasetReaderBase, window: Window) -> np.ndarray:
        """Band 1 of ``window`` as float64 metres with NaN for no data."""
        values = dataset.read(1, window=window, masked=True).astype(np.float64)
        return np.ma.filled(values, np.nan)

    def read_window(self, row0: int, row1: int, col0: int, col1: int) -> SurveyWindow:
        """Rows ``row0:row1`` and columns ``col0:col1`` of the grid (clipped to it)."""
        row0, col0 = max(row0, 0), max(col0, 0)
        row1, col1 = min(row1, self.rows), min(col1, self.cols)
        window = Window(col0, row0, max(col1 - col0, 0), max(row1 - row0, 0))
        vegetation = None
        if self._ortho is not None:
            red, green, blue = self._ortho.read((1, 2, 3), window=window).astype(np.float64)
            vegetation = green_cells(red, green, blue, self.green_index)
        return SurveyWindow(
            vegetation_cells=vegetation,
            dsm_m=self._read(self._dsm, window),
            dtm_m=self._read(self._dtm, window),
            left_m=self.left_m + col0 * self.cell_m,
            top_m=self.top_m - row0 * self.cell_m,
            cell_m=self.cell_m,
        )

    def provenance(self) -> list[dict[str, object]]:
        """What was read: path, size, CRS and grid of each file."""
        return [
            {
                "path": str(path),
                "role": role,
                "size_bytes": path.stat().st_size,
                "crs": str(file.crs),
                "width": file.width,
                "height": file.height,
                "transform": list(file.transform)[:6],
            }
            for path, role, file in (
                (self.dsm_path, "dsm", self._dsm_file),
                (self.dtm_path, "dtm", self._dtm_file),
                (self.ortho_path, "orthophoto", self._ortho_file),
            )
            if path is not None and file is not None
        ]

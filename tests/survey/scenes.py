"""A survey scene with known answers: buildings on sloping ground, a tree against a wall, roads with
kerbs, noise and outliers; written as DSM/DTM GeoTIFFs or as a classified LAS/LAZ cloud.

Coordinates are British National Grid metres (EPSG:27700) near Liverpool; the scene is ``WIDTH_M`` x
``HEIGHT_M`` with its south-west corner at (``X0``, ``Y0``). Ground rises 4 % eastwards and 2 %
northwards. The DSM is an area average over 4 x 4 sub-samples per cell, as a gridded LiDAR product is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer

from metaliverpool.network.twin import Twin
from small_twins import LinkSpec, make_twin

X0, Y0 = 334_000.0, 390_000.0
WIDTH_M, HEIGHT_M = 200, 160
KERB_M = 0.125


def ground_m(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Terrain height (m above datum) at scene-local (x, y)."""
    return 20.0 + 0.04 * x + 0.02 * y


@dataclass(frozen=True)
class Building:
    """A building: footprint (local metres), eaves and ridge height above the ground at its centroid,
    ridge along x when ``pitched``."""

    footprint: shapely.Polygon
    eaves_above_m: float
    ridge_above_m: float

    @property
    def pitched(self) -> bool:
        return self.ridge_above_m > self.eaves_above_m

    def roof_m(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Absolute roof height at (x, y) (valid inside the footprint)."""
        c = self.footprint.centroid
        base = float(ground_m(np.array(c.x), np.array(c.y)))
        if not self.pitched:
            return np.full(np.shape(x), base + self.ridge_above_m)
        _, min_y, _, max_y = self.footprint.bounds
        half = (max_y - min_y) / 2
        share = 1 - np.abs(y - (min_y + half)) / half
        return base + self.eaves_above_m + share * (self.ridge_above_m - self.eaves_above_m)

    def expected(self) -> dict[str, float]:
        """OS heights: RelHMax and RelH2 above the lowest ground point under the footprint."""
        coords = np.asarray(self.footprint.exterior.coords)
        lowest = float(ground_m(coords[:, 0], coords[:, 1]).min())
        c = self.footprint.centroid
        base = float(ground_m(np.array(c.x), np.array(c.y)))
        return {
            "rel_h_max_m": base + self.ridge_above_m - lowest,
            "rel_h2_m": base + self.eaves_above_m - lowest,
        }


@dataclass(frozen=True)
class Road:
    """A straight road: centre line (local metres), carriageway width, 3 m pavements with kerbs."""

    centre: shapely.LineString
    width_m: float


BUILDINGS = (
    Building(shapely.box(20, 100, 50, 125), 12.0, 12.0),
    Building(shapely.affinity.rotate(shapely.box(98, 113, 122, 127), 30), 9.0, 9.0),
    Building(shapely.box(150, 95, 180, 115), 6.0, 9.0),
    Building(shapely.box(55, 85, 80, 110), 15.0, 15.0),
)
"""Flat 30 x 25 m; flat rotated 30 degrees; pitched (eaves 6 m, ridge 9 m); one across a tile corner
at (64, 96) when tiles are 64 cells."""

TREES = ((56.0, 115.0, 5.5), (130.0, 60.0, 4.0))
"""(x, y, radius m): the first touches the east wall of the first building."""

ROADS = (
    Road(shapely.LineString([(0, 23.65), (200, 23.65)]), 7.3),
    Road(shapely.LineString([(140, 40), (185, 75)]), 6.0),
)


def canopy_structure_m(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Tree-crown structure: heights varying by 1.5 m (s.d.) from one square metre to the next (fixed
    field, so rasters and clouds of the scene see the same trees)."""
    field = np.random.default_rng(3).normal(0, 1.5, (HEIGHT_M + 1, WIDTH_M + 1))
    return field[np.clip(y.astype(int), 0, HEIGHT_M), np.clip(x.astype(int), 0, WIDTH_M)]


def surface_and_class(
    x: np.ndarray, y: np.ndarray, rough_trees: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Surface height and LAS class (2 ground, 5 high vegetation, 6 building) at points (x, y); with
    ``rough_trees`` false the crowns are smooth domes (only an orthophoto tells them from roofs)."""
    ground = ground_m(x, y)
    points = shapely.points(x, y)
    surface = ground + KERB_M
    cls = np.full(x.shape, 2, dtype=np.uint8)
    for road in ROADS:
        on_road = shapely.contains(road.centre.buffer(road.width_m / 2, cap_style="flat"), points)
        surface = np.where(on_road, ground, surface)
    for cx, cy, radius in TREES:
        r = np.hypot(x - cx, y - cy)
        canopy = ground + 9.0 - 3.0 * (r / radius) ** 2 + (canopy_structure_m(x, y) if rough_trees else 0.0)
        inside = r < radius
        surface = np.where(inside, np.maximum(surface, canopy), surface)
        cls = np.where(inside, 5, cls)
    for building in BUILDINGS:
        inside = shapely.contains(building.footprint, points)
        surface = np.where(inside, building.roof_m(x, y), surface)
        cls = np.where(inside, 6, cls)
    return surface, cls


def grids(
    cell_m: float = 1.0, seed: int = 7, outliers: bool = True, rough_trees: bool = True
) -> tuple[np.ndarray, np.ndarray, Affine]:
    """DSM and DTM (rows from the north) of the scene with noise and (by default) 30 spikes of +25 m and
    10 pits of -8 m in single DSM cells, and their transform."""
    rng = np.random.default_rng(seed)
    rows, cols = int(HEIGHT_M / cell_m), int(WIDTH_M / cell_m)
    sub = 4
    yy, xx = np.meshgrid(
        HEIGHT_M - (np.arange(rows * sub) + 0.5) * cell_m / sub,
        (np.arange(cols * sub) + 0.5) * cell_m / sub,
        indexing="ij",
    )
    surface, _ = surface_and_class(xx.ravel(), yy.ravel(), rough_trees)
    dsm = surface.reshape(rows, sub, cols, sub).mean(axis=(1, 3))
    cy, cx = np.meshgrid(
        HEIGHT_M - (np.arange(rows) + 0.5) * cell_m, (np.arange(cols) + 0.5) * cell_m, indexing="ij"
    )
    dtm = ground_m(cx, cy) + rng.normal(0, 0.03, (rows, cols))
    dsm = dsm + rng.normal(0, 0.05, (rows, cols))
    spikes = rng.integers(0, rows * cols, 40)
    if outliers:
        dsm.flat[spikes[:30]] += 25.0
        dsm.flat[spikes[30:]] -= 8.0
    transform = Affine(cell_m, 0, X0, 0, -cell_m, Y0 + HEIGHT_M)
    return dsm, dtm, transform


def write_geotiff(path: Path, values: np.ndarray, transform: Affine, crs: str | None = "EPSG:27700") -> Path:
    """Write one float32 band with nodata -9999 (as the Environment Agency's LiDAR tiles)."""
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=transform,
        nodata=-9999.0,
    ) as out:
        out.write(values.astype(np.float32), 1)
    return path


def write_rasters(
    folder: Path, cell_m: float = 1.0, outliers: bool = True, rough_trees: bool = True
) -> tuple[Path, Path]:
    """The scene's DSM and DTM as GeoTIFFs in ``folder``."""
    dsm, dtm, transform = grids(cell_m, outliers=outliers, rough_trees=rough_trees)
    return write_geotiff(folder / "dsm.tif", dsm, transform), write_geotiff(
        folder / "dtm.tif", dtm, transform
    )


COLOURS = {2: (128, 128, 120), 5: (62, 112, 48), 6: (150, 82, 64)}
"""Orthophoto colours (8-bit RGB) by class: grey paving, foliage, red-brown roofs."""


def write_orthophoto(path: Path, cell_m: float = 0.5, crs: str = "EPSG:27700") -> Path:
    """The scene seen from above as an 8-bit RGB GeoTIFF at ``cell_m`` (finer than the DSM), roads
    darker than paving, with 6 units of colour noise."""
    rng = np.random.default_rng(13)
    rows, cols = int(HEIGHT_M / cell_m), int(WIDTH_M / cell_m)
    cy, cx = np.meshgrid(
        HEIGHT_M - (np.arange(rows) + 0.5) * cell_m, (np.arange(cols) + 0.5) * cell_m, indexing="ij"
    )
    _, cls = surface_and_class(cx.ravel(), cy.ravel())
    rgb = np.zeros((3, rows * cols))
    for value, colour in COLOURS.items():
        rgb[:, cls == value] = np.array(colour, dtype=float)[:, None]
    points = shapely.points(cx.ravel(), cy.ravel())
    for road in ROADS:
        on_road = shapely.contains(road.centre.buffer(road.width_m / 2, cap_style="flat"), points)
        rgb[:, on_road & (cls == 2)] = 70.0
    rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8).reshape(3, rows, cols)
    transform = Affine(cell_m, 0, X0, 0, -cell_m, Y0 + HEIGHT_M)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=3,
        dtype="uint8",
        crs=crs,
        transform=transform,
    ) as out:
        out.write(rgb)
    return path


def write_points(path: Path, density_per_m2: float = 8.0, seed: int = 11, crs: int | None = 27700) -> Path:
    """The scene as a classified LAS/LAZ cloud (format 6, LAS 1.4): noise 5 cm, 0.1 % high-noise points
    (class 18) 30 m up; coordinates in EPSG ``crs`` (projected from British National Grid), or British
    National Grid with no CRS in the header when ``crs`` is None."""
    rng = np.random.default_rng(seed)
    count = int(WIDTH_M * HEIGHT_M * density_per_m2)
    x = rng.uniform(0, WIDTH_M, count)
    y = rng.uniform(0, HEIGHT_M, count)
    z, cls = surface_and_class(x, y)
    z = z + rng.normal(0, 0.05, count)
    noise = rng.random(count) < 0.001
    z[noise] += 30.0
    cls[noise] = 18
    world_x, world_y = x + X0, y + Y0
    if crs not in (None, 27700):
        world_x, world_y = Transformer.from_crs(27700, crs, always_xy=True).transform(world_x, world_y)
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.offsets = [float(np.floor(world_x.min())), float(np.floor(world_y.min())), 0.0]
    header.scales = [0.001, 0.001, 0.001]
    if crs is not None:
        header.add_crs(CRS.from_epsg(crs))
    cloud = laspy.LasData(header)
    cloud.x, cloud.y, cloud.z = world_x, world_y, z
    cloud.classification = cls
    cloud.write(path)
    return path


def to_world(geometry: shapely.Geometry) -> shapely.Geometry:
    """A scene-local geometry in British National Grid metres."""
    return shapely.affinity.translate(geometry, X0, Y0)


def scene_twin(region: str = "test") -> Twin:
    """Two links on the scene's roads: a two-way road of 1 lane each way (7.3 m: ok), and a one-way
    road of 3 lanes (6 m: narrow)."""
    to_wgs84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    ends = []
    for road in ROADS:
        ends.extend(shapely.get_coordinates(to_world(road.centre)))
    lonlat = [to_wgs84.transform(x, y) for x, y in ends]
    links = [
        LinkSpec(0, 1, 100, lanes=1),
        LinkSpec(1, 0, 100, lanes=1),
        LinkSpec(2, 3, 200, highway="primary", lanes=3),
    ]
    return make_twin(lonlat, links, region=region)

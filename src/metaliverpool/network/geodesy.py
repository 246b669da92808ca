"""Distances on the WGS84 ellipsoid and a local metric projection for neighbour searches.

``geodesic_distance_m`` uses pyproj's ``Geod`` (Karney's algorithm), so lengths are true ellipsoidal
distances in metres. ``local_xy_m`` is an equirectangular projection around a reference latitude: good
to well under 0.1 % over a city, used only for nearest-neighbour searches and clustering radii.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_EARTH_RADIUS_M = 6_371_008.8


def geodesic_distance_m(
    lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike
) -> NDArray[np.float64]:
    """Ellipsoidal (WGS84) distance in metres between point pairs given in degrees."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    _, _, distance = geod.inv(
        np.asarray(lon1, dtype=np.float64),
        np.asarray(lat1, dtype=np.float64),
        np.asarray(lon2, dtype=np.float64),
        np.asarray(lat2, dtype=np.float64),
    )
    return np.asarray(distance, dtype=np.float64)


def local_xy_m(lon: ArrayLike, lat: ArrayLike, ref_lat_deg: float) -> NDArray[np.float64]:
    """Equirectangular x/y in metres (shape ``(n, 2)``) around latitude ``ref_lat_deg``."""
    lon_rad = np.radians(np.asarray(lon, dtype=np.float64))
    lat_rad = np.radians(np.asarray(lat, dtype=np.float64))
    x = _EARTH_RADIUS_M * lon_rad * np.cos(np.radians(ref_lat_deg))
    y = _EARTH_RADIUS_M * lat_rad
    return np.column_stack([x, y])

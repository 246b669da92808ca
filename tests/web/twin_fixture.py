"""A small hand-made twin (a 3 x 3 grid of streets near Liverpool Town Hall) written with ``write_twin``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import shapely

from metaliverpool.network.twin import Twin
from metaliverpool.store.bundle import write_twin
from small_twins import LinkSpec, make_twin

WEST_DEG = -2.995
SOUTH_DEG = 53.405
STEP_DEG = 0.002
GRID = 3
OSM_WAY_BASE = 1000


def grid_twin() -> Twin:
    """Nodes on a 3 x 3 grid; two-way links between neighbours (one OSM way per street segment)."""
    points = [
        (WEST_DEG + col * STEP_DEG, SOUTH_DEG + row * STEP_DEG) for row in range(GRID) for col in range(GRID)
    ]
    links = []
    way = OSM_WAY_BASE
    for row in range(GRID):
        for col in range(GRID):
            here = row * GRID + col
            for other in ([here + 1] if col + 1 < GRID else []) + ([here + GRID] if row + 1 < GRID else []):
                for a, b in ((here, other), (other, here)):
                    links.append(
                        LinkSpec(
                            a,
                            b,
                            way,
                            highway="primary" if row == 1 else "residential",
                            length_m=140.0,
                            speed_limit_mps=13.4,
                            free_speed_mps=11.0,
                            name=f"Street {way}",
                        )
                    )
                way += 1
    twin = make_twin(points, links, signal_nodes=[4], osm_node_id_base=500, region="test-grid")
    east = WEST_DEG + (GRID - 1) * STEP_DEG
    north = SOUTH_DEG + (GRID - 1) * STEP_DEG
    middle = WEST_DEG + STEP_DEG
    zones = pd.DataFrame(
        [
            {
                "zone_id": 0,
                "zone_code": "E01006512",
                "kind": "lsoa",
                "msoa_code": "E02001347",
                "lad_code": "E08000012",
                "population": 1500,
                "imd_decile": 1,
                "node_id": 0,
                "geometry": shapely.box(WEST_DEG, SOUTH_DEG, middle, north),
            },
            {
                "zone_id": 1,
                "zone_code": "E01006513",
                "kind": "lsoa",
                "msoa_code": "E02001347",
                "lad_code": "E08000012",
                "population": 1800,
                "imd_decile": 7,
                "node_id": 8,
                "geometry": shapely.MultiPolygon(
                    [
                        shapely.box(middle, SOUTH_DEG, east, (SOUTH_DEG + north) / 2),
                        shapely.box(middle, (SOUTH_DEG + north) / 2, east, north),
                    ]
                ),
            },
        ]
    )
    services = pd.DataFrame(
        [
            {
                "service_id": 0,
                "kind": "hospital",
                "name": "Royal",
                "source": "test",
                "lon": middle,
                "lat": SOUTH_DEG,
                "zone_code": "E01006512",
                "node_id": 1,
                "geometry": shapely.Point(middle, SOUTH_DEG),
            }
        ]
    )
    trips = pd.DataFrame(
        [
            {
                "trip_id": number,
                "origin_zone_id": number % 2,
                "destination_zone_id": 1 - number % 2,
                "origin_node_id": 0 if number % 2 == 0 else 8,
                "destination_node_id": 8 if number % 2 == 0 else 0,
                "departure_time_s": float(number * 30),
                "mode": "car",
            }
            for number in range(40)
        ]
    )
    twin.zones, twin.services, twin.trips = zones, services, trips
    return twin


def write_grid_twin(folder: Path) -> Path:
    """Write :func:`grid_twin` to ``folder`` and return it."""
    return write_twin(grid_twin(), folder)


FORECAST_MODEL = "speed-lgbm"
"""Name of the forecasting model :func:`train_grid_forecast` saves in the grid twin."""


def train_grid_forecast(twin_dir: Path, work: Path) -> Path:
    """Simulate 10 days of the grid twin at 1-minute rows and train LightGBM (5 and 10 minutes ahead)
    into ``twin_dir/forecasts/speed-lgbm`` with the real commands; returns the model folder."""
    from metaliverpool.cli.main import main

    history = work / "history.npz"
    model = twin_dir / "forecasts" / FORECAST_MODEL
    main(["forecast", "history", "--twin", str(twin_dir), "--out", str(history), "--days", "10",
          "--sensors", "8", "--demand-scale", "1.0", "--interval-min", "1"])  # fmt: skip
    main(["forecast", "train", "--series", str(history), "--adjacency", str(history),
          "--interval-min", "1", "--horizons", "5,10", "--lookback", "3", "--model", "lgbm",
          "--out", str(model)])  # fmt: skip
    return model

"""The point-to-cell kernel against a plain numpy reference (``np.bincount``) on hypothesis inputs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metaliverpool.kernels.point_grid import accumulate_points


def reference(cell: np.ndarray, z_m: np.ndarray, point_class: np.ndarray, cells: int) -> np.ndarray:
    ground = point_class == 2
    return np.column_stack(
        [
            np.bincount(cell, weights=z_m, minlength=cells),
            np.bincount(cell, minlength=cells),
            np.bincount(cell[ground], weights=z_m[ground], minlength=cells),
            np.bincount(cell[ground], minlength=cells),
            np.bincount(cell[point_class == 6], minlength=cells),
        ]
    ).astype(np.float64)


@settings(max_examples=60, deadline=None)
@given(
    cells=st.integers(min_value=1, max_value=50),
    points=st.lists(
        st.tuples(st.integers(0, 10_000), st.floats(-50, 500), st.sampled_from([0, 1, 2, 5, 6, 9])),
        max_size=300,
    ),
    chunks=st.integers(min_value=1, max_value=4),
)
def test_accumulate_points_matches_bincount(
    cells: int, points: list[tuple[int, float, int]], chunks: int
) -> None:
    cell = np.array([p[0] % cells for p in points], dtype=np.int64)
    z_m = np.array([p[1] for p in points], dtype=np.float64)
    point_class = np.array([p[2] for p in points], dtype=np.uint8)
    out = np.zeros((cells, 5))
    for part in np.array_split(np.arange(len(points)), chunks):
        accumulate_points(cell[part], z_m[part], point_class[part], out)
    np.testing.assert_allclose(out, reference(cell, z_m, point_class, cells), rtol=1e-12, atol=1e-9)

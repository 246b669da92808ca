"""The public benchmark layouts, written by the tests in their real form: METR-LA/PEMS-BAY CSV exports
(timestamps in the first column), DCRNN's HDF5 (pandas HDFStore fixed layout, written here with h5py),
PEMS04/08 ``.npz`` (T, N, 3) and N x N adjacency-matrix CSVs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import h5py
import numpy as np
import pytest

from metaliverpool.errors import InputError
from metaliverpool.predict.series import load_adjacency, load_series

IDS = ("773869", "767541", "767542")
FIRST = np.datetime64("2012-03-01T00:00:00", "ns")  # a Thursday, as METR-LA's first row
THURSDAY_S = 3 * 86_400.0


def _values(n_steps: int = 6) -> np.ndarray:
    return np.arange(n_steps * len(IDS), dtype=np.float64).reshape(n_steps, len(IDS)) + 0.5


def write_hdfstore_fixed(
    path: Path, values: np.ndarray, ids: tuple[str, ...], stamps: np.ndarray, kind: str = "datetime64"
) -> None:
    """A DataFrame as ``pandas.HDFStore.put(key='df', format='fixed')`` lays it out (PyTables attributes
    included, so pandas can read it back)."""
    with h5py.File(path, "w") as handle:
        handle.attrs["CLASS"] = np.bytes_("GROUP")
        group = handle.create_group("df")
        for key, value in {
            "CLASS": np.bytes_("GROUP"),
            "TITLE": np.bytes_(""),
            "VERSION": np.bytes_("1.0"),
            "pandas_type": np.bytes_("frame"),
            "pandas_version": np.bytes_("0.15.2"),
            "encoding": np.bytes_("UTF-8"),
            "errors": np.bytes_("strict"),
            "ndim": np.int64(2),
            "axis0_variety": np.bytes_("regular"),
            "axis1_variety": np.bytes_("regular"),
            "nblocks": np.int64(1),
            "block0_items_variety": np.bytes_("regular"),
        }.items():
            group.attrs[key] = value
        labels = np.array([s.encode() for s in ids])

        def array(key: str, data: np.ndarray, attrs: dict[str, object]) -> None:
            dataset = group.create_dataset(key, data=data)
            dataset.attrs["CLASS"] = np.bytes_("ARRAY")
            dataset.attrs["VERSION"] = np.bytes_("2.4")
            dataset.attrs["TITLE"] = np.bytes_("")
            dataset.attrs["FLAVOR"] = np.bytes_("numpy")
            for name, value in attrs.items():
                dataset.attrs[name] = value

        string = {"kind": np.bytes_("string"), "name": np.bytes_("N.")}
        array("axis0", labels, string)
        array("axis1", stamps.astype(np.int64), {"kind": np.bytes_(kind), "name": np.bytes_("N.")})
        array("block0_items", labels, string)
        array("block0_values", values, {"transposed": np.bool_(True)})


def test_csv_export_with_timestamp_column(tmp_path: Path) -> None:
    values = _values()
    lines = ["," + ",".join(IDS)]
    for i, row in enumerate(values):
        stamp = str(FIRST + np.timedelta64(5 * i, "m")).replace("T", " ")[:19]
        lines.append(stamp + "," + ",".join(f"{v:g}" for v in row))
    path = tmp_path / "metr-la.csv"
    path.write_text("\n".join(lines) + "\n")
    series = load_series(path, 5.0)
    assert series.sensor_ids == IDS
    np.testing.assert_array_equal(series.values, values)
    assert series.start_time_s == THURSDAY_S and series.day_of_week_index()[0] == 3
    lines[3] = lines[3].replace("00:10:00", "00:12:00")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"metr-la.csv.*5 min apart"):
        load_series(path, 5.0)


@pytest.mark.parametrize("kind", ["datetime64", "datetime64[us]"])  # older pandas (ns) and pandas 3
def test_dcrnn_hdf5_fixed_layout(tmp_path: Path, kind: str) -> None:
    values = _values(8)
    values[2, 1] = np.nan
    unit = "us" if "[us]" in kind else "ns"
    stamps = (FIRST + np.arange(8) * np.timedelta64(5, "m")).astype(f"datetime64[{unit}]")
    path = tmp_path / "metr-la.h5"
    write_hdfstore_fixed(path, values, IDS, stamps.astype(np.int64), kind)
    series = load_series(path, 5.0)
    assert series.sensor_ids == IDS and series.start_time_s == THURSDAY_S
    np.testing.assert_array_equal(series.values, values)
    if importlib.util.find_spec("tables") is not None:  # PyTables is not in the lock; checked when present
        import pandas as pd

        frame = pd.read_hdf(path, "df")
        np.testing.assert_array_equal(frame.to_numpy(), values)
        assert tuple(str(c) for c in frame.columns) == IDS and frame.index[0] == pd.Timestamp(FIRST)
    with pytest.raises(InputError, match=r"metr-la.h5.*10 min apart"):
        load_series(path, 10.0)


def test_hdf5_without_a_dataframe_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("speed", data=_values())
    with pytest.raises(InputError, match=r"other.h5.*one pandas DataFrame") as caught:
        load_series(path, 5.0)
    assert "\n" not in str(caught.value)


def test_pems_npz_uses_flow_the_first_feature(tmp_path: Path) -> None:
    flow = _values(10)
    data = np.stack([flow, flow * 0.01, flow + 60.0], axis=2)  # flow, occupancy, speed
    path = tmp_path / "PEMS08.npz"
    np.savez(path, data=data)
    series = load_series(path, 5.0)
    np.testing.assert_array_equal(series.values, flow)
    assert series.sensor_ids == ("0", "1", "2")
    np.savez(path, flow=data)
    with pytest.raises(InputError, match=r"PEMS08.npz.*'data'"):
        load_series(path, 5.0)


def test_adjacency_matrix_csv_with_and_without_header(tmp_path: Path) -> None:
    matrix = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.25], [0.75, 0.0, 1.0]])
    plain = tmp_path / "adj.csv"
    plain.write_text("\n".join(",".join(f"{v:g}" for v in row) for row in matrix) + "\n")
    np.testing.assert_array_equal(load_adjacency(plain, IDS), matrix)
    order = [2, 0, 1]  # the file lists the sensors in another order than the series
    shuffled = matrix[np.ix_(order, order)]
    header = tmp_path / "adj_header.csv"
    rows = [",".join(IDS[i] for i in order)] + [",".join(f"{v:g}" for v in row) for row in shuffled]
    header.write_text("\n".join(rows) + "\n")
    np.testing.assert_array_equal(load_adjacency(header, IDS), matrix)
    labelled = tmp_path / "adj_labelled.csv"
    rows = ["," + ",".join(IDS[i] for i in order)] + [
        IDS[order[k]] + "," + ",".join(f"{v:g}" for v in row) for k, row in enumerate(shuffled)
    ]
    labelled.write_text("\n".join(rows) + "\n")
    np.testing.assert_array_equal(load_adjacency(labelled, IDS), matrix)
    with pytest.raises(InputError, match=r"adj.csv.*expected 1 matrix rows"):
        load_adjacency(plain, IDS[:1])
    with pytest.raises(InputError, match=r"adj.csv.*line 1.*sensor ids"):
        load_adjacency(plain, IDS[:2])  # three rows for two sensors: read as a header of unknown ids

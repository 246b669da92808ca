"""Foundation: the data locator, atomic writes and the CLI's handling of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaliverpool import atomic, config
from metaliverpool.errors import InputError


def test_data_dir_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path))
    assert config.data_dir() == tmp_path.resolve()
    monkeypatch.delenv(config.BENCHMARKS_ENV, raising=False)
    assert config.benchmarks_dir() == tmp_path.resolve().parent / "benchmarks"


def test_input_error_names_source_and_place() -> None:
    error = InputError("net.tntp", "expected 10 columns, found 3", where="line 12")
    assert str(error) == "net.tntp: line 12: expected 10 columns, found 3"


def test_atomic_directory_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    with pytest.raises(RuntimeError), atomic.atomic_directory(target) as staging:
        (staging / "half.parquet").write_bytes(b"x")
        raise RuntimeError("build failed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_directory_replaces_existing(tmp_path: Path) -> None:
    target = tmp_path / "bundle"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with atomic.atomic_directory(target) as staging:
        (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]


def test_write_text_atomic_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b.json"
    atomic.write_text_atomic(path, "{}")
    assert path.read_text() == "{}"
    assert [p.name for p in path.parent.iterdir()] == ["b.json"]

"""Shared test fixtures: where the real data lives. Tests that need it skip with a visible reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaliverpool import config


@pytest.fixture(scope="session")
def liverpool_data() -> Path:
    """The real Liverpool data folder (``METALIVERPOOL_DATA``, default ``../shared/data/liverpool``)."""
    path = config.data_dir()
    if not path.is_dir():
        pytest.skip(f"Liverpool data folder not found at {path}; set METALIVERPOOL_DATA")
    return path


@pytest.fixture(scope="session")
def benchmarks_data() -> Path:
    """The benchmark networks folder (``METALIVERPOOL_BENCHMARKS``, default beside the data folder)."""
    path = config.benchmarks_dir()
    if not path.is_dir():
        pytest.skip(f"benchmark networks not found at {path}; set METALIVERPOOL_BENCHMARKS")
    return path

"""Shared test fixtures: where the real data lives, and the central Liverpool twin built from it. Tests
that need the data skip with a visible reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaliverpool import config
from metaliverpool.cli.main import main


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


@pytest.fixture(scope="session")
def liverpool_centre_bundle(tmp_path_factory: pytest.TempPathFactory, liverpool_data: Path) -> Path:
    """The ``liverpool-centre`` twin bundle built from the real data by ``metaliverpool build
    --no-calibrate`` (the prior demand, whose facts the tests check), once per session (it takes a while);
    tests read it and never write into it."""
    out = tmp_path_factory.mktemp("liverpool") / "liverpool-centre"
    main(["build", "--region", "liverpool-centre", "--out", str(out), "--no-calibrate"])
    return out


@pytest.fixture(scope="session")
def liverpool_centre_calibrated_bundle(
    tmp_path_factory: pytest.TempPathFactory, liverpool_data: Path
) -> Path:
    """The ``liverpool-centre`` twin as ``metaliverpool build`` makes it by default: demand calibrated to
    the published Liverpool figures and validated against the held-out ones (docs/validation.md), once
    per session; tests read it and never write into it."""
    out = tmp_path_factory.mktemp("liverpool-calibrated") / "liverpool-centre"
    main(["build", "--region", "liverpool-centre", "--out", str(out)])
    return out

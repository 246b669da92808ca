"""Where the data lives.

The data folder comes from the ``METALIVERPOOL_DATA`` environment variable; without it, the first of
``../shared/data/liverpool`` relative to the working directory and relative to the repository root is
used. The benchmark networks come from ``METALIVERPOOL_BENCHMARKS`` and default to the ``benchmarks``
folder beside the Liverpool data folder. Nothing here caches: every call reads the environment, so a
test or a server can point two contexts at two folders.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "METALIVERPOOL_DATA"
BENCHMARKS_ENV = "METALIVERPOOL_BENCHMARKS"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_DEFAULT_RELATIVE = Path("..") / "shared" / "data" / "liverpool"


def data_dir() -> Path:
    """The Liverpool data folder (it may not exist: callers report what is missing)."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    for base in (Path.cwd(), _REPO_ROOT):
        candidate = (base / _DEFAULT_RELATIVE).resolve()
        if candidate.is_dir():
            return candidate
    return (_REPO_ROOT / _DEFAULT_RELATIVE).resolve()


def benchmarks_dir() -> Path:
    """The folder of reference benchmark networks (``tntp/``, ``cityflow/``)."""
    configured = os.environ.get(BENCHMARKS_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return data_dir().parent / "benchmarks"

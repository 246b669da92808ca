"""Download data sources from their public addresses (``metaliverpool data fetch``).

Downloads go to ``<data folder>/fetched/<file name of the URL>`` through a temporary file renamed into
place when complete (never a half file). Without network access the fetch fails with
:class:`~metaliverpool.errors.DataUnavailableError` naming the source and the address.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from metaliverpool.errors import DataUnavailableError, InputError
from metaliverpool.ingest.catalogue import SOURCES, Source, get_source

FETCH_TIMEOUT_S = 30.0


def fetch_target(source: Source, data_dir: Path) -> Path:
    """Where ``source`` is downloaded to."""
    name = Path(urlparse(source.url).path).name or source.name
    return data_dir / "fetched" / name


def fetch_url(url: str, target: Path, timeout_s: float = FETCH_TIMEOUT_S) -> Path:
    """Download ``url`` to ``target`` atomically; :class:`DataUnavailableError` when unreachable."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout_s) as response:
            shutil.copyfileobj(response, out, length=1 << 20)
        os.replace(tmp_name, target)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        reason = getattr(error, "reason", error)
        raise DataUnavailableError(
            f"{url}: cannot download ({reason}); no network? Download it by hand into {target.parent}"
        ) from None
    return target


def fetch_sources(names: list[str], data_dir: Path, timeout_s: float = FETCH_TIMEOUT_S) -> list[Path]:
    """Download the named sources (all with a direct file URL when ``names`` is empty)."""
    if names:
        try:
            sources = [get_source(n, SOURCES) for n in names]
        except KeyError as error:
            known = ", ".join(s.name for s in SOURCES)
            raise InputError(str(error.args[0]), f"unknown source (known: {known})") from None
    else:
        sources = [s for s in SOURCES if s.url.endswith((".pbf", ".csv"))]
    unique = {s.url: s for s in reversed(sources)}  # one download per address
    return [fetch_url(s.url, fetch_target(s, data_dir), timeout_s) for s in reversed(unique.values())]

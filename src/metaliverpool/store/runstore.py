"""A content-addressed store for run outputs (Parquet tables, JSON, HTML reports).

Every blob is stored once under the SHA-256 of its bytes, at ``<root>/<first two hex>/<rest of hex>``,
written atomically (:mod:`metaliverpool.atomic`), so identical outputs of repeated runs share one file and
a reader never sees half a blob. Database rows keep only the digests.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pandas as pd

from metaliverpool.atomic import write_bytes_atomic
from metaliverpool.errors import InputError

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class RunStore:
    """Blobs addressed by the SHA-256 of their content, under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_of(self, digest: str) -> Path:
        """Where the blob ``digest`` lives (raises :class:`InputError` for a malformed digest)."""
        if not _DIGEST.match(digest):
            raise InputError("run store", f"{digest!r} is not a SHA-256 hex digest")
        return self.root / digest[:2] / digest[2:]

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` (once) and return its SHA-256 hex digest."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_of(digest)
        if not path.exists():
            write_bytes_atomic(path, data)
        return digest

    def get_bytes(self, digest: str) -> bytes:
        """The bytes of blob ``digest``; raises :class:`InputError` if it is not stored."""
        path = self.path_of(digest)
        if not path.is_file():
            raise InputError("run store", f"no blob {digest}")
        return path.read_bytes()

    def has(self, digest: str) -> bool:
        """Whether blob ``digest`` is stored."""
        return self.path_of(digest).is_file()

    def put_frame(self, frame: pd.DataFrame) -> str:
        """Store ``frame`` as Parquet (deterministic bytes for equal frames) and return its digest."""
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False, compression="zstd")
        return self.put_bytes(buffer.getvalue())

    def get_frame(self, digest: str) -> pd.DataFrame:
        """The DataFrame stored as Parquet under ``digest``."""
        return pd.read_parquet(io.BytesIO(self.get_bytes(digest)))

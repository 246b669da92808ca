"""The twins a server offers: their bundles, summaries and encoded map layers (cached per catalog)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metaliverpool.edits.schema import DemandSettings
from metaliverpool.network.twin import Twin
from metaliverpool.observed.summary import calibration_line
from metaliverpool.service.access import NotFound
from metaliverpool.service.layers import LAYER_NAMES, encode_buildings, encode_layer
from metaliverpool.store.bundle import read_manifest, read_optional_table, read_twin

MAP_TABLES = ("nodes", "links", "junctions", "zones", "services", "bus_stops")
"""The tables the map needs (``read_twin`` always reads nodes and links)."""
BUILDINGS_LAYER = "buildings"
"""The layer of a twin's optional ``buildings`` table (``survey ingest``), offered when the twin has one."""


def twin_id_for(path: Path, manifest: dict[str, Any]) -> str:
    """A URL-safe id: the manifest's region name, else the folder name."""
    raw = str(manifest.get("region") or Path(path).name)
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-") or "twin"


@dataclass
class TwinEntry:
    """One twin bundle: where it is, its manifest, and (once read) its map tables (``twin``), all its
    tables (``full``) and its encoded layers."""

    twin_id: str
    path: Path
    manifest: dict[str, Any]
    twin: Twin | None = None
    full: Twin | None = None
    layers: dict[str, bytes] = field(default_factory=dict)
    run_digests: dict[str, str] = field(default_factory=dict)
    """Content digests of the full twin by demand variant (JSON of the demand settings)."""


class TwinCatalog:
    """Twin bundles by id; each twin is read once, on first use, and its layers encoded once."""

    def __init__(self, paths: list[Path]) -> None:
        self.entries: dict[str, TwinEntry] = {}
        self._lock = threading.Lock()
        for path in paths:
            manifest = read_manifest(Path(path))
            twin_id = twin_id_for(Path(path), manifest)
            self.entries[twin_id] = TwinEntry(twin_id, Path(path).resolve(), manifest)

    def get(self, twin_id: str) -> TwinEntry:
        """The entry of ``twin_id``; raises :class:`NotFound`."""
        entry = self.entries.get(twin_id)
        if entry is None:
            raise NotFound(f"twin {twin_id!r} not found")
        return entry

    def twin(self, twin_id: str) -> Twin:
        """The twin's map tables (read on first use; trips and the active-travel layer are not needed)."""
        entry = self.get(twin_id)
        with self._lock:
            if entry.twin is None:
                entry.twin = read_twin(entry.path, tables=MAP_TABLES)
            return entry.twin

    def full_twin(self, twin_id: str) -> Twin:
        """Every table of the twin (trips included), as a run reads it: what edits are checked against
        (read on first use, then kept)."""
        entry = self.get(twin_id)
        with self._lock:
            if entry.full is None:
                entry.full = read_twin(entry.path)
            return entry.full

    def run_digest(self, twin_id: str, demand: DemandSettings) -> str:
        """The content digest (:func:`metaliverpool.scenario.cache.twin_digest`) of the twin's base side of
        a run with the ``demand`` variant: computed once per variant, then kept."""
        from metaliverpool.edits.apply import apply_demand_settings
        from metaliverpool.scenario.cache import twin_digest

        entry = self.get(twin_id)
        twin = self.full_twin(twin_id)
        variant = demand.model_dump_json()
        with self._lock:
            if variant not in entry.run_digests:
                entry.run_digests[variant] = twin_digest(apply_demand_settings(twin, demand))
            return entry.run_digests[variant]

    def layer_names(self, twin_id: str) -> list[str]:
        """The layers twin ``twin_id`` offers: :data:`LAYER_NAMES`, and ``buildings`` when it has them."""
        tables = self.get(twin_id).manifest.get("tables", {})
        return [*LAYER_NAMES, *([BUILDINGS_LAYER] if BUILDINGS_LAYER in tables else [])]

    def layer(self, twin_id: str, name: str) -> bytes:
        """The ``MLL1`` encoding of layer ``name`` of twin ``twin_id`` (encoded on first use)."""
        names = self.layer_names(twin_id)
        if name not in names:
            raise NotFound(f"layer {name!r} not found (layers: {', '.join(names)})")
        entry = self.get(twin_id)
        if name == BUILDINGS_LAYER:
            with self._lock:
                if name not in entry.layers:
                    buildings = read_optional_table(entry.path, BUILDINGS_LAYER)
                    if buildings is None:
                        raise NotFound(f"twin {twin_id!r} lists a buildings table but has no file for it")
                    entry.layers[name] = encode_buildings(buildings)
                return entry.layers[name]
        twin = self.twin(twin_id)
        with self._lock:
            if name not in entry.layers:
                entry.layers[name] = encode_layer(twin, name)
            return entry.layers[name]

    def summary(self, twin_id: str) -> dict[str, Any]:
        """Id, region, counts and the lon/lat bounds ``[west, south, east, north]`` of a twin."""
        entry = self.get(twin_id)
        twin = self.twin(twin_id)
        nodes = twin.nodes
        bounds = [
            float(nodes["lon"].min()),
            float(nodes["lat"].min()),
            float(nodes["lon"].max()),
            float(nodes["lat"].max()),
        ]
        return {
            "twin_id": twin_id,
            "region": entry.manifest.get("region"),
            "counts": entry.manifest.get("counts", {}),
            "bounds": bounds,
            "layers": self.layer_names(twin_id),
            "calibration": calibration_line(entry.manifest),
        }

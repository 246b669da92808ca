"""``metaliverpool access``: access to services per LSOA as DfT's Journey Time Statistics (JTS) define it.

Writes ``--out`` (CSV, atomically): one row per LSOA zone of the twin, ``LSOA_code``, then the minutes
``<S>Cart``, ``<S>Cyct`` and ``<S>Walkt`` for each JTS service the twin has (``PS``, ``SS``, ``GP``,
``Hosp``; JTS's column names), and ``edge_services`` (services for which a destination outside the study
area may be nearer). Car times use the morning-peak congested link times of the static assignment of the
twin's trips. ``--origins oa`` starts from every Output Area of each LSOA and averages, as JTS does; the
default starts from the LSOA's own point. With ``--compare FILE...`` (also ``--jts``; JTS LSOA tables
saved as CSV) it also compares, per service and mode, the median minutes, the median and mean difference
and the median absolute difference over the LSOAs in both, and writes the comparison (``--report DIR``:
``comparison.json``, ``comparison.html`` with a plot per service and mode, ``differences.csv``). The last
line of standard output is one JSON object: ``lsoas``, ``services``, ``services_left_out``,
``medians_min``, ``edge_lsoas``, ``comparison`` and ``seconds``. ``--map FILE.html`` also writes the
table as LSOA maps (:mod:`metaliverpool.scenario.access_map`). Method and sources: ``docs/access.md``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from metaliverpool.atomic import atomic_directory, write_text_atomic
from metaliverpool.cli.progress import progress_bar
from metaliverpool.config import data_dir
from metaliverpool.edits.schema import RunSettings
from metaliverpool.errors import InputError
from metaliverpool.ingest.jts import read_jts_tables
from metaliverpool.ingest.services import SCHOOLS_FILE, school_phases
from metaliverpool.ingest.zones import read_oa_points
from metaliverpool.metrics.jts import (
    JTS_SERVICES,
    car_network,
    compare_with_jts,
    cycle_network,
    jts_access_table,
    jts_destinations,
    jts_differences,
    lsoa_origins,
    walk_network,
)
from metaliverpool.network.twin import Twin
from metaliverpool.scenario.access_map import render_access_map
from metaliverpool.scenario.engines import run_static
from metaliverpool.scenario.jts_report import comparison_document, render_jts_comparison
from metaliverpool.store.bundle import read_twin

ORIGINS = ("lsoa", "oa")
"""``--origins``: one point per LSOA, or one per Output Area averaged per LSOA (``docs/access.md``)."""


def register(app: typer.Typer) -> None:
    """Add the ``access`` command to ``app``."""
    app.command(name="access", help="Minutes to the nearest services per LSOA, as DfT's JTS define them.")(
        access_command
    )


def access_command(
    twin: Path = typer.Option(..., "--twin", help="Twin bundle folder."),
    out: Path = typer.Option(..., "--out", help="CSV to write (one row per LSOA)."),
    jts: list[Path] = typer.Option(
        [],
        "--compare",
        "--jts",
        help="Published JTS LSOA tables (JTS0502-0508 sheets saved as CSV) to compare with (repeat).",
    ),
    report: Path | None = typer.Option(
        None,
        "--report",
        help="Folder for the comparison with --compare (comparison.json, comparison.html, differences.csv; "
        "default: beside --out, named after it with -vs-jts).",
    ),
    data: Path | None = typer.Option(
        None, "--data", help="Data folder with the DfE schools file (default: METALIVERPOOL_DATA)."
    ),
    map_html: Path | None = typer.Option(None, "--map", help="Also write the LSOA maps as one HTML page."),
    origins: str = typer.Option(
        "lsoa", "--origins", help="lsoa: one point per LSOA; oa: each Output Area's point, averaged per LSOA."
    ),
) -> None:
    """Compute the JTS access table of ``twin``, write it, print the summary JSON line."""
    started = time.perf_counter()
    published = read_jts_tables(jts) if jts else None
    if origins not in ORIGINS:
        raise InputError("--origins", f"expected one of {', '.join(ORIGINS)}, found {origins!r}")
    bundle = read_twin(twin)
    folder = data or data_dir()
    phases = _school_phases(folder)
    output_areas = read_oa_points(folder) if origins == "oa" else None
    with progress_bar() as progress:
        task = progress.add_task("static assignment (morning peak)", total=4)
        table = access_table(
            bundle,
            phases,
            output_areas,
            lambda step, done: progress.update(task, description=step, completed=done),
        )
    _write(out, table.to_csv(index=False, float_format="%.2f", lineterminator="\n"))
    if map_html is not None:
        title = f"Access to services: {bundle.manifest.get('region', twin.name)}"
        _write(map_html, render_access_map(bundle.zones, table, title))
    comparison = None
    if published is not None:
        comparison = compare_with_jts(table, published)
        folder_out = report if report is not None else out.with_name(f"{out.stem}-vs-jts")
        _write_comparison(folder_out, table, published, comparison, twin.name, [str(p) for p in jts])
    services = [code for code in JTS_SERVICES if f"{code}Cart" in table.columns]
    summary = {
        "lsoas": len(table),
        "out": str(out),
        "services": services,
        "services_left_out": [code for code in JTS_SERVICES if code not in services],
        "medians_min": {
            column: _finite(table[column].median()) for column in table.columns if column[-1] == "t"
        },
        "edge_lsoas": _edge_counts(table, services),
        "comparison": None
        if comparison is None
        else [
            {key: _finite(value) if isinstance(value, float) else value for key, value in row.items()}
            for row in comparison.to_dict(orient="records")
        ],
        "seconds": round(time.perf_counter() - started, 2),
    }
    print(json.dumps(summary))


def access_table(
    twin: Twin,
    school_phase: dict[str, str] | None,
    output_areas: pd.DataFrame | None = None,
    on_step: Callable[[str, int], None] | None = None,
) -> pd.DataFrame:
    """The JTS access table of ``twin`` (:func:`metaliverpool.metrics.jts.jts_access_table`), with car times
    from the static assignment of its trips, from its LSOAs' points or their ``output_areas``
    (:func:`metaliverpool.metrics.jts.lsoa_origins`); ``on_step(name, steps_done)`` reports progress."""

    def step(name: str, done: int) -> None:
        if on_step is not None:
            on_step(name, done)

    if twin.zones.empty:
        raise InputError("twin zones", "the twin has no zones")
    loads = run_static(twin, RunSettings(engine="static"), seed=0).link_loads
    link_time_s = (
        loads.set_index("link_id")["time_s"]
        .reindex(twin.links["link_id"].to_numpy())
        .to_numpy(dtype=np.float64)
    )
    step("car, cycle and walk networks", 1)
    networks = {
        "car": car_network(twin.nodes, twin.links, link_time_s),
        "cycle": cycle_network(twin.nodes, twin.links, twin.active_nodes, twin.active_links),
        "walk": walk_network(twin.nodes, twin.links, twin.active_nodes, twin.active_links),
    }
    step("nearest destinations", 2)
    bbox = twin.manifest.get("study_area", {}).get("bbox")
    origins = lsoa_origins(twin.zones, output_areas)
    table = jts_access_table(origins, jts_destinations(twin.services, school_phase), networks, bbox)
    step("done", 4)
    return table


def _write(path: Path, text: str) -> None:
    """Write ``text`` atomically; an unwritable path is an :class:`InputError`."""
    try:
        write_text_atomic(path, text)
    except OSError as error:
        reason = f"{error.strerror}: {error.filename}" if error.strerror and error.filename else str(error)
        raise InputError(path, f"cannot write ({reason})") from None


def _write_comparison(
    folder: Path,
    table: pd.DataFrame,
    published: pd.DataFrame,
    comparison: pd.DataFrame,
    twin_name: str,
    files: list[str],
) -> None:
    """The comparison with JTS into ``folder`` at once: ``comparison.json``, ``comparison.html`` and
    ``differences.csv`` (one row per LSOA and column)."""
    differences = jts_differences(table, published)
    document = comparison_document(comparison, differences, twin_name, files)
    try:
        with atomic_directory(folder) as staging:
            (staging / "comparison.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
            (staging / "comparison.html").write_text(render_jts_comparison(document), encoding="utf-8")
            differences.to_csv(
                staging / "differences.csv", index=False, float_format="%.2f", lineterminator="\n"
            )
    except OSError as error:
        raise InputError(folder, f"cannot write ({error.strerror or error})") from None


def _school_phases(data: Path) -> dict[str, str] | None:
    """School phases from the data folder, or None (with a note on stderr) when its schools file is absent."""
    if not (data / SCHOOLS_FILE).is_file():
        print(
            f"note: {data / SCHOOLS_FILE} not found: primary and secondary schools left out", file=sys.stderr
        )
        return None
    return school_phases(data)


def _edge_counts(table: pd.DataFrame, services: list[str]) -> dict[str, int]:
    """How many LSOAs have each service in ``edge_services``."""
    if "edge_services" not in table.columns:
        return {}
    listed = table["edge_services"].fillna("").str.split(";")
    return {code: int(sum(code in codes for codes in listed)) for code in services}


def _finite(value: object) -> float | None:
    """A float rounded to 2 decimals, or None for NaN (JSON has no NaN)."""
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else round(number, 2)

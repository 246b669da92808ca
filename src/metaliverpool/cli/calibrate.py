"""``metaliverpool calibrate``: a twin's demand estimated from observed counts, written as a new twin.

``calibrate --twin DIR --observations FILE... --out DIR`` reads the observation files
(:func:`metaliverpool.ingest.observations.read_observations`), matches them to the twin, estimates the
matrix from the ``calibration`` counts and screenlines, checks it in the dynamic engine and writes the
calibrated twin (``docs/calibration.md``). Options: ``--max-cell-change B`` (cells within
``[prior/(1+B), prior (1+B)]``; ``B1,B2,...``: candidate bounds, estimated in turn or as Ray tasks, the
smallest that meets every count kept), ``--trip-end-tolerance``, ``--total-tolerance``, ``--iterations``,
``--no-dynamic`` (static only), ``--dynamic-corrections N``, ``--seeds N``, ``--ray ADDRESS|local``
(dynamic runs as Ray tasks). The last line printed is a JSON summary: ``{"out", "summary", "geh_below_5",
"car_trips_prior", "car_trips_calibrated", "unmatched", "seconds"}`` (``unmatched``: observations that
found no twin link, and targets none of whose links is a car link).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated

import typer

from metaliverpool.cli.progress import progress_bar
from metaliverpool.errors import InputError
from metaliverpool.scenario.calibration import CalibrationConfig, calibrate_twin, write_calibrated_twin
from metaliverpool.scenario.ray_cluster import RayCluster, RaySettings


def cell_changes(text: str) -> tuple[float, ...]:
    """``--max-cell-change`` values: one number or several separated by commas, each >= 0, sorted."""
    try:
        values = sorted(float(part) for part in text.split(","))
    except ValueError:
        raise InputError(text, "expected numbers separated by commas", where="--max-cell-change") from None
    if not values or not all(math.isfinite(v) and v >= 0 for v in values):
        raise InputError(text, "every cell bound must be a finite number >= 0", where="--max-cell-change")
    return tuple(values)


def register(app: typer.Typer) -> None:
    """Add ``calibrate``."""

    @app.command("calibrate")
    def calibrate(
        twin_dir: Annotated[Path, typer.Option("--twin", help="Twin bundle folder (the prior).")],
        observations: Annotated[
            list[Path], typer.Option("--observations", help="Observation file (repeat for several).")
        ],
        out: Annotated[Path, typer.Option("--out", help="Calibrated twin bundle to write (atomically).")],
        max_cell_change: Annotated[
            str,
            typer.Option(
                "--max-cell-change",
                help="B: cells between prior/(1+B) and prior*(1+B); B1,B2,...: smallest meeting counts.",
            ),
        ] = "1",
        trip_end_tolerance: Annotated[
            float,
            typer.Option("--trip-end-tolerance", min=0.0, max=0.99, help="Trip-end band."),
        ] = 0.1,
        total_tolerance: Annotated[
            float, typer.Option("--total-tolerance", min=0.0, max=0.99, help="Matrix total band.")
        ] = 0.05,
        iterations: Annotated[
            int, typer.Option("--iterations", min=1, max=200, help="Most equilibrium assignments.")
        ] = 15,
        no_dynamic: Annotated[bool, typer.Option("--no-dynamic", help="Skip the dynamic check.")] = False,
        dynamic_corrections: Annotated[
            int, typer.Option("--dynamic-corrections", min=0, max=5, help="Corrections from simulated flows.")
        ] = 1,
        seeds: Annotated[int, typer.Option("--seeds", min=1, max=10, help="Dynamic runs averaged.")] = 1,
        ray: Annotated[
            str | None,
            typer.Option("--ray", help="Ray cluster address for the dynamic runs ('local': start one here)."),
        ] = None,
    ) -> None:
        """Estimate the twin's demand from observed counts and write the calibrated twin."""
        from metaliverpool.assign.odme import OdmeConfig
        from metaliverpool.ingest.observations import match_observations, read_observations
        from metaliverpool.store.bundle import read_twin

        started = time.perf_counter()
        cluster = None
        if ray is not None:
            cluster = RayCluster(RaySettings(address=None if ray == "local" else ray))
        bounds = cell_changes(max_cell_change)
        config = CalibrationConfig(
            candidate_cell_changes=bounds,
            odme=OdmeConfig(
                max_cell_change=bounds[0],
                trip_end_tolerance=trip_end_tolerance,
                total_tolerance=total_tolerance,
                outer_iterations=iterations,
            ),
            dynamic_check=not no_dynamic,
            dynamic_corrections=dynamic_corrections,
            seeds=tuple(range(1, seeds + 1)),
            ray=cluster,
        )
        try:
            with progress_bar() as progress:
                task = progress.add_task("reading", total=None)

                def say(message: str) -> None:
                    progress.update(task, description=message)

                twin = read_twin(twin_dir)
                say("matching observations")
                matched = match_observations(read_observations(observations), twin)
                calibrated, record = calibrate_twin(twin, matched, config, progress=say)
                say("writing the calibrated twin")
                write_calibrated_twin(twin, calibrated, out)
        finally:
            if cluster is not None:
                cluster.close()
        results = record["results"]
        typer.echo(f"wrote {out}: {record['summary']}")
        typer.echo(
            json.dumps(
                {
                    "out": str(out),
                    "summary": record["summary"],
                    "geh_below_5": results["geh_below_5"],
                    "car_trips_prior": results["car_trips_prior"],
                    "car_trips_calibrated": results["car_trips_calibrated"],
                    "unmatched": [*matched.unmatched, *results["skipped_targets"]],
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        )

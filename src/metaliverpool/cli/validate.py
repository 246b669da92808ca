"""``metaliverpool validate``: a twin's baseline against observations, in the TAG M3.1 form.

Writes ``validation.json`` and the self-contained ``validation.html`` into ``--out`` (atomically: a bad
observation file or a failed run leaves nothing behind) and prints one JSON line of the verdicts last.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer

from metaliverpool.atomic import atomic_directory
from metaliverpool.cli.progress import progress_bar
from metaliverpool.config import data_dir
from metaliverpool.errors import InputError
from metaliverpool.ingest.lcr_observations import lcr_observations
from metaliverpool.ingest.observations import read_observations
from metaliverpool.scenario.validation import SEED, Engine, validate_twin
from metaliverpool.scenario.validation_report import render_validation_report
from metaliverpool.store.bundle import OD_PRIOR_TABLE, read_optional_table, read_twin, table_path


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by ``None`` (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _od_prior(twin_dir: Path) -> pd.DataFrame | None:
    """The twin's prior matrix (:data:`OD_PRIOR_TABLE`), or None if it was not calibrated."""
    table = read_optional_table(twin_dir, OD_PRIOR_TABLE)
    if table is None:
        return None
    missing = {"origin_zone_id", "destination_zone_id", "trips"} - set(table.columns)
    if missing:
        where = table_path(twin_dir, OD_PRIOR_TABLE)
        raise InputError(where, f"missing column(s) {', '.join(sorted(missing))}")
    return table


def register(app: typer.Typer) -> None:
    """Add the ``validate`` command."""

    @app.command("validate")
    def validate(
        twin_dir: Annotated[Path, typer.Option("--twin", help="Twin bundle folder.")],
        observations: Annotated[
            list[Path] | None, typer.Option("--observations", help="Observation file (repeat for several).")
        ] = None,
        published: Annotated[
            bool,
            typer.Option(
                "--published",
                help="Add the region's published figures from the data folder (Mersey tunnel counts, "
                "TomTom centre speed; docs/validation.md), each with its calibration or validation use.",
            ),
        ] = False,
        engine: Annotated[str, typer.Option("--engine", help="static or dynamic.")] = "static",
        out: Annotated[Path, typer.Option("--out", help="Folder for validation.json and .html.")] = Path(
            "validation"
        ),
        seed: Annotated[int, typer.Option("--seed", help="Seed of the dynamic engine's run.")] = SEED,
        year: Annotated[
            int | None, typer.Option("--year", help="Year of DfT count files (default: latest in each).")
        ] = None,
    ) -> None:
        """Run the twin's baseline and judge it against observed counts, screenlines, journey times and
        area speeds (DfT TAG M3.1 criteria); calibration and validation observations reported apart."""
        if engine not in ("static", "dynamic"):
            raise InputError("--engine", f"expected static or dynamic, found {engine!r}")
        chosen: Engine = "static" if engine == "static" else "dynamic"
        if not observations and not published:
            raise InputError("validate", "give observation files (--observations FILE) or --published")
        obs = read_observations(observations or [], year=year)
        if published:
            try:
                obs = obs.combined(lcr_observations(data_dir()))
            except ValueError as error:
                raise InputError("--published", str(error)) from error
        twin = read_twin(twin_dir)
        prior = _od_prior(twin_dir)
        with progress_bar() as progress:
            progress.add_task(f"validating on the {engine} engine", total=None)
            document = validate_twin(twin, obs, chosen, od_prior=prior, twin_name=twin_dir.name, seed=seed)
            document = _finite(document)
        page = render_validation_report(document, twin)
        with atomic_directory(out) as staging:
            (staging / "validation.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
            (staging / "validation.html").write_text(page, encoding="utf-8")
        verdicts = {
            use: {c["name"]: c["pass"] for c in group["criteria"]}
            for use, group in document["groups"].items()
        }
        summary = {
            "out": str(out),
            "convergence": document["convergence"]["pass"],
            "criteria": verdicts,
            "unmatched": len(document["unmatched"]),
        }
        typer.echo(json.dumps(summary))

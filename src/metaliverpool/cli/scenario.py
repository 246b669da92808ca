"""``metaliverpool scenario run FILE`` and ``metaliverpool scenario diff A B``.

``run`` applies the scenario's edits to its base twin (or ``--twin``), runs baseline and scenario with the
same seeds (``--seeds N`` uses seeds 1..N), caches each run by content hash (``--cache``, default
``$METALIVERPOOL_CACHE`` or ``~/.cache/metaliverpool/runs``; ``--no-cache`` to bypass) and writes
``kpis.json``, ``report.html``, ``links.parquet``, ``zones.parquet`` and ``scenario.yaml`` to ``--out``.
The scenario is compared with the base twin as it is (do nothing); ``--decompose`` also reports the package
without its AI loop and what the loop adds. Edits the checks refuse fail the run before it starts (exit 2,
naming each by number and label) unless ``--skip-refused``. A junction-risk history the AI loop's
``history`` forecast needs is trained first (with progress) when the twin has none.
``--jobs N`` computes the uncached engine runs in N local processes; ``--ray ADDRESS`` spreads them as one Ray
task each over a Ray cluster (``local``: a local instance with ``--jobs`` logical CPUs; see ``docs/web.md``,
"Run queue and Ray", for addresses).
It prints one JSON line last: ``{"out", "seconds", "runs", "cached_runs", "vehicle_hours_change", ...}``.

``diff A B`` compares two scenario files (edits added, removed, changed; settings) or two run folders
(their ``kpis.json``), printing one JSON document.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from metaliverpool.cli.progress import progress_bar
from metaliverpool.edits.io import load_scenario
from metaliverpool.errors import InputError
from metaliverpool.scenario.diff import diff_kpis, diff_scenarios
from metaliverpool.scenario.pipeline import run_scenario_file
from metaliverpool.scenario.ray_cluster import RayCluster, RaySettings

CACHE_ENV = "METALIVERPOOL_CACHE"


def default_cache_dir() -> Path:
    """``$METALIVERPOOL_CACHE`` or ``~/.cache/metaliverpool/runs``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "metaliverpool" / "runs"


def _read_kpis(folder: Path) -> dict[str, Any]:
    path = folder / "kpis.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "not found: give two scenario files or two run folders") from None
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(path, f"cannot read: {error}") from None
    if not isinstance(document, dict):
        raise InputError(path, "expected a JSON object")
    return document


def register(app: typer.Typer) -> None:
    """Add the ``scenario`` command group."""
    group = typer.Typer(help="Policy scenarios: run against the baseline, compare.", no_args_is_help=True)
    app.add_typer(group, name="scenario")

    @group.command("run")
    def run(
        file: Annotated[Path, typer.Argument(help="Scenario file (YAML or JSON).")],
        out: Annotated[Path, typer.Option("--out", help="Folder for kpis.json, report.html and tables.")],
        twin: Annotated[
            Path | None, typer.Option("--twin", help="Twin bundle (overrides base_twin).")
        ] = None,
        seeds: Annotated[int | None, typer.Option("--seeds", min=1, max=50, help="Run seeds 1..N.")] = None,
        cache: Annotated[Path | None, typer.Option("--cache", help="Run cache folder.")] = None,
        no_cache: Annotated[
            bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
        ] = False,
        jobs: Annotated[
            int, typer.Option("--jobs", min=1, max=64, help="Engine runs in parallel local processes.")
        ] = 1,
        ray: Annotated[
            str | None,
            typer.Option("--ray", help="Ray cluster address for the engine runs ('local': start one here)."),
        ] = None,
        decompose: Annotated[
            bool,
            typer.Option(
                "--decompose", help="Also report the package without the AI loop and what the loop adds."
            ),
        ] = False,
        skip_refused: Annotated[
            bool,
            typer.Option(
                "--skip-refused",
                help="Run without the edits the checks refuse (the report names them first); else fail.",
            ),
        ] = False,
    ) -> None:
        """Run FILE's scenario against the base twin as it is, with the same seeds; write the KPIs and the
        report. A junction-risk history the scenario needs and the twin lacks is trained first."""
        cache_dir = None if no_cache else (cache or default_cache_dir())
        seed_list = list(range(1, seeds + 1)) if seeds is not None else None
        cluster = None
        if ray is not None:
            cluster = RayCluster(RaySettings(address=None if ray == "local" else ray, local_cpus=jobs))
        try:
            with progress_bar() as bar:
                task = bar.add_task("training the junction-risk history", total=None, visible=False)

                def trained(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total, visible=True)

                document = run_scenario_file(
                    file,
                    out,
                    twin_dir=twin,
                    seeds=seed_list,
                    cache_dir=cache_dir,
                    workers=jobs,
                    ray=cluster,
                    decompose=decompose,
                    skip_refused=skip_refused,
                    on_training=trained,
                )
        finally:
            if cluster is not None:
                cluster.close()
        runs = document.get("runs", [])
        change = document.get("network", {}).get("vehicle_hours", {}).get("change", {})
        summary = {
            "out": str(out),
            "seconds": round(float(document.get("seconds_total", 0.0)), 3),
            "runs": len(runs),
            "cached_runs": sum(1 for r in runs if r.get("cached")),
            "vehicle_hours_change": change.get("mean"),
            "vehicle_hours_change_interval": [change.get("lower"), change.get("upper")],
            "rat_running_flags": document.get("diversion", {}).get("rat_running", {}).get("flagged"),
        }
        typer.echo(json.dumps(summary))

    @group.command("diff")
    def diff(
        a: Annotated[Path, typer.Argument(help="Scenario file or run folder A.")],
        b: Annotated[Path, typer.Argument(help="Scenario file or run folder B.")],
    ) -> None:
        """Compare two scenarios (files: edits and settings; run folders: KPIs)."""
        if a.is_dir() and b.is_dir():
            result = diff_kpis(_read_kpis(a), _read_kpis(b))
        elif a.is_dir() or b.is_dir():
            raise InputError(
                b if a.is_dir() else a, "compare two scenario files or two run folders, not one of each"
            )
        else:
            result = diff_scenarios(load_scenario(a), load_scenario(b))
        typer.echo(json.dumps(result, indent=2, default=str))

"""``metaliverpool build``, ``metaliverpool twin info`` and ``metaliverpool twin export``.

``build`` calibrates the demand to the region's observed counts
(:func:`metaliverpool.ingest.lcr_observations.lcr_observations`, matched to the new twin) with
:func:`metaliverpool.scenario.calibration.calibrate_twin` unless ``--no-calibrate`` (or ``--osm``, where
the default is the prior); the bundle then holds the prior matrix (``od_prior``) and the manifest's
``calibration`` record (``docs/calibration.md``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from metaliverpool.cli.progress import progress_bar
from metaliverpool.config import data_dir
from metaliverpool.errors import InputError
from metaliverpool.ingest.build import BUILD_STEPS, BuildConfig, build_twin
from metaliverpool.network.twin import Twin
from metaliverpool.observed.summary import calibration_line
from metaliverpool.store.bundle import read_manifest, read_twin, write_twin
from metaliverpool.store.geojson import twin_to_geojson

if TYPE_CHECKING:
    from metaliverpool.scenario.engines import RunOutputs


def twin_summary(twin: Twin) -> dict[str, object]:
    """The facts ``twin info`` prints."""
    links = twin.links
    manifest = twin.manifest
    return {
        "region": manifest.get("region"),
        "calibration": calibration_line(manifest),
        "counts": twin.counts(),
        "road_length_km": round(float(links["length_m"].sum()) / 1000.0, 1),
        "links_by_highway": links["highway"].value_counts().sort_index().to_dict(),
        "junctions_by_control": twin.junctions["control"].value_counts().sort_index().to_dict(),
        "signalised_junctions": int((twin.junctions["control"] == "signals").sum()),
        "tolled_links": int((links["toll_gbp"] > 0).sum()),
        "zones": {
            "lsoa": int((twin.zones["kind"] == "lsoa").sum()),
            "external": int((twin.zones["kind"] == "external").sum()),
            "population": float(twin.zones["population"].sum()),
        },
        "trips": len(twin.trips),
        "dropped": manifest.get("dropped"),
        "osm_timestamp": manifest.get("osm_timestamp"),
        "code_version": manifest.get("code_version"),
    }


def register(app: typer.Typer) -> None:
    """Add ``build`` and the ``twin`` command group."""

    @app.command("build")
    def build(
        out: Annotated[Path, typer.Option("--out", help="Bundle folder to write (replaced atomically).")],
        region: Annotated[
            str, typer.Option("--region", help="liverpool-centre or liverpool-city-region.")
        ] = ("liverpool-centre"),
        osm: Annotated[
            Path | None, typer.Option("--osm", help="Another OSM extract (.json, .osm, .osm.pbf).")
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the departure-time draw.")] = 20250917,
        calibrate: Annotated[
            bool | None,
            typer.Option(
                "--calibrate/--no-calibrate",
                help="Calibrate the demand to the region's observed counts (docs/calibration.md); default: "
                "yes for the region's own extract, no with --osm. --no-calibrate keeps the prior demand.",
            ),
        ] = None,
    ) -> None:
        """Build a twin bundle from the sources (OSM network, zones, services, demand)."""
        from metaliverpool.demand.model import DemandConfig
        from metaliverpool.scenario.calibration import (  # numba kernels: not loaded for `twin` commands
            BUILD_CELL_CHANGES,
            CalibrationConfig,
            calibrate_twin,
            dynamic_settings,
            not_calibrated,
            with_validation,
            write_calibrated_twin,
        )

        config = BuildConfig(region=region, osm_path=osm, demand=DemandConfig(seed=seed))
        calibrated = osm is None if calibrate is None else calibrate
        with progress_bar() as progress:
            task = progress.add_task("building", total=len(BUILD_STEPS) + 2)

            def on_step(name: str) -> None:
                progress.update(task, description=name, completed=BUILD_STEPS.index(name))

            twin = build_twin(config, data_dir(), on_step)
            progress.update(task, description="calibrate", completed=len(BUILD_STEPS))
            if calibrated:
                from metaliverpool.ingest.lcr_observations import lcr_observations
                from metaliverpool.ingest.observations import match_observations
                from metaliverpool.scenario.validation import held_out_validation

                matched = match_observations(lcr_observations(data_dir()), twin)  # links, not trips
                calibration = CalibrationConfig(candidate_cell_changes=BUILD_CELL_CHANGES)
                runs: dict[int, RunOutputs] = {}  # the dynamic check's seed, reused by the validation
                result, _ = calibrate_twin(
                    twin,
                    matched,
                    calibration,
                    progress=lambda message: progress.update(task, description=message),
                    dynamic_runs=runs,
                )
                progress.update(task, description="validate against held-out observations")
                validation = held_out_validation(
                    result, matched, runs=runs, runs_settings=dynamic_settings(calibration)
                )
                result = with_validation(result, validation)
                progress.update(task, description="write bundle", completed=len(BUILD_STEPS) + 1)
                write_calibrated_twin(twin, result, out)
                twin = result
            else:
                twin = not_calibrated(twin)
                progress.update(task, description="write bundle", completed=len(BUILD_STEPS) + 1)
                write_twin(twin, out)
            progress.update(task, completed=len(BUILD_STEPS) + 2)
        counts = twin.counts()
        typer.echo(
            f"wrote {out}: {counts['nodes']} nodes, {counts['links']} links, "
            f"{counts['junctions']} junctions, {counts['zones']} zones, {counts['services']} services, "
            f"{counts['trips']} trips"
        )
        typer.echo(calibration_line(twin.manifest))

    twin_app = typer.Typer(help="Inspect and export twin bundles.", no_args_is_help=True)

    @twin_app.command("info")
    def info(
        bundle: Annotated[Path, typer.Argument(help="Twin bundle folder.")],
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Print a summary of a twin bundle."""
        read_manifest(bundle)
        summary = twin_summary(read_twin(bundle))
        if as_json:
            typer.echo(json.dumps(summary, indent=2, default=str))
            return
        for key, value in summary.items():
            typer.echo(f"{key}: {json.dumps(value, default=str)}")

    @twin_app.command("export")
    def export(
        bundle: Annotated[Path, typer.Argument(help="Twin bundle folder.")],
        fmt: Annotated[str, typer.Option("--format", help="Export format (geojson).")] = "geojson",
        out: Annotated[
            Path | None, typer.Option("--out", help="Output folder (default: <bundle>-geojson beside it).")
        ] = None,
    ) -> None:
        """Export the geometry layers (GeoJSON, EPSG:4326) for QGIS or a web map."""
        if fmt != "geojson":
            raise InputError(fmt, "unsupported export format (expected 'geojson')", where="--format")
        twin = read_twin(bundle)
        for path in twin_to_geojson(twin, out if out is not None else Path(f"{Path(bundle)}-geojson")):
            typer.echo(f"wrote {path}")

    app.add_typer(twin_app, name="twin")

"""``metaliverpool data status`` and ``metaliverpool data fetch``: the sources the twin uses."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from metaliverpool.config import data_dir
from metaliverpool.errors import InputError
from metaliverpool.ingest.catalogue import source_status
from metaliverpool.ingest.fetch import FETCH_TIMEOUT_S, fetch_lidar_composite, fetch_sources
from metaliverpool.ingest.observations import observed_files


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``west,south,east,north`` in degrees, or :class:`InputError`."""
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise InputError(
            "--lidar-bbox", f"expected four numbers west,south,east,north, found {text!r}"
        ) from None
    return west, south, east, north


def register(app: typer.Typer) -> None:
    """Add the ``data`` command group."""
    group = typer.Typer(
        help="Data sources: what is found, where it comes from, its licence.", no_args_is_help=True
    )

    @group.command("status")
    def status(
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    ) -> None:
        """List every source (found or missing, path, size, checksum, date, licence, attribution) and the
        files in observed/ with what each is."""
        folder = data_dir()
        records = source_status(folder)
        observed = observed_files(folder)
        if as_json:
            document = {"data_dir": str(folder), "sources": records, "observed": observed}
            typer.echo(json.dumps(document, indent=2))
            return
        console = Console(width=200)
        console.print(f"data folder: {folder} ({'found' if folder.is_dir() else 'MISSING'})")
        table = Table(show_lines=False)
        for column in ("source", "status", "path", "size", "sha256", "date", "licence", "attribution"):
            table.add_column(column, overflow="fold")
        for r in records:
            found = r["found"]
            table.add_row(
                r["name"],
                "found" if found else ("MISSING" if r["required"] else "missing (optional)"),
                r["path"],
                f"{r['size_bytes']:,}" if found else "",
                r["sha256"][:12] if found else "",
                r["data_date"],
                r["licence"],
                r["attribution"],
            )
        console.print(table)
        listing = Table(title="observed/ (observations for validate and calibrate)")
        listing.add_column("file")
        listing.add_column("what", overflow="fold")
        for entry in observed:
            listing.add_row(entry["path"], entry["what"])
        console.print(listing)

    @group.command("fetch")
    def fetch(
        names: Annotated[
            list[str] | None, typer.Argument(help="Source names (default: all direct downloads).")
        ] = None,
        timeout_s: Annotated[float, typer.Option("--timeout-s")] = FETCH_TIMEOUT_S,
        lidar_bbox: Annotated[
            str | None,
            typer.Option(
                "--lidar-bbox",
                help="west,south,east,north (degrees): fetch the EA LiDAR composite DSM and DTM (1 m) there.",
            ),
        ] = None,
    ) -> None:
        """Download sources from their public addresses into <data folder>/fetched/ (needs network)."""
        if lidar_bbox is not None:
            for path in fetch_lidar_composite(parse_bbox(lidar_bbox), data_dir(), timeout_s):
                typer.echo(f"fetched {path}")
            if not names:
                return
        for path in fetch_sources(list(names or []), data_dir(), timeout_s):
            typer.echo(f"fetched {path}")

    app.add_typer(group, name="data")

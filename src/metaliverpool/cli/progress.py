"""The progress bar of long commands: on stderr (stdout ends with the JSON line), gone when done."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


def progress_bar() -> Progress:
    """A rich progress bar (description, bar, elapsed time) on stderr, removed when it finishes."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )

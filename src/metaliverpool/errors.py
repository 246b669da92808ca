"""Errors that reach users.

Every error a user can cause by giving bad input is an :class:`InputError`: it names the file, the place
in it (line, field, element id) and what was expected. Entry points print ``str(error)`` on one line and
exit with :data:`EXIT_INPUT_ERROR`.
"""

from __future__ import annotations

from pathlib import Path

EXIT_INPUT_ERROR = 2
"""Exit code of every command for bad input (missing file, malformed content, unknown name)."""


class MetaLiverpoolError(Exception):
    """Base class of the errors this package raises on purpose."""


class InputError(MetaLiverpoolError):
    """Bad input: a one-line message naming the source, the place in it and what was expected.

    Parameters
    ----------
    source:
        The file (or other named input, such as a region name or a URL) that is wrong.
    problem:
        What is wrong and, where it helps, what was expected instead.
    where:
        The line, field or element inside the source, e.g. ``"line 12"`` or ``"edit 3, field 'lanes'"``.
    """

    def __init__(self, source: str | Path, problem: str, where: str | None = None) -> None:
        self.source = str(source)
        self.problem = problem
        self.where = where
        location = f"{self.source}: {where}" if where else self.source
        super().__init__(f"{location}: {problem}")


class DataUnavailableError(MetaLiverpoolError):
    """A data source is missing and cannot be fetched (for example, no network)."""

"""Run the ``metaliverpool`` command in this process and capture what it prints and its exit code."""

from __future__ import annotations

import pytest

from metaliverpool.cli.main import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code (0 when ``main`` returns), standard output and standard error of ``metaliverpool argv``."""
    try:
        main(argv)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err

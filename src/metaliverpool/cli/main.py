"""The ``metaliverpool`` command.

Each command group lives in its own module under ``metaliverpool.cli`` and exposes ``register(app)``;
the modules are listed in :data:`COMMAND_MODULES`. Every :class:`~metaliverpool.errors.InputError` is
printed on one line to standard error and exits with code 2.
"""

from __future__ import annotations

import importlib
import sys

import typer

from metaliverpool.errors import EXIT_INPUT_ERROR, MetaLiverpoolError

COMMAND_MODULES: tuple[str, ...] = (
    "serve",
    "data",
    "build",
    "assign",
    "scenario",
    "simulate",
    "forecast",
    "signals",
)
"""Modules under ``metaliverpool.cli`` that each define ``register(app: typer.Typer) -> None``."""


def make_app() -> typer.Typer:
    """Build the Typer application with every command group registered."""
    app = typer.Typer(
        name="metaliverpool",
        help="Meta Liverpool: build the Liverpool City Region twin, run policies on it, serve the map.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"metaliverpool.cli.{name}")
        module.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Run the command line; bad input exits with code 2 and a one-line message."""
    app = make_app()
    try:
        app(args=argv, standalone_mode=False)
    except MetaLiverpoolError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_INPUT_ERROR) from None
    except typer.Abort:
        raise SystemExit(130) from None
    except Exception as error:  # click usage errors carry their own exit code
        exit_code = getattr(error, "exit_code", None)
        if exit_code is None:
            raise
        show = getattr(error, "show", None)
        if callable(show):
            show()
        raise SystemExit(exit_code) from None


if __name__ == "__main__":
    main()

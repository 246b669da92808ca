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

COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "serve": ("serve",),
    "data": ("data",),
    "build": ("build", "twin"),
    "assign": ("assign",),
    "scenario": ("scenario",),
    "simulate": ("simulate",),
    "forecast": ("forecast",),
    "signals": ("signals",),
    "calibrate": ("calibrate",),
    "validate": ("validate",),
    "access": ("access",),
    "survey": ("survey",),
    "live": ("live",),
}
"""Modules under ``metaliverpool.cli`` (each defines ``register(app: typer.Typer) -> None``) and the
top-level commands each registers. Only the module of the command being run is imported, so a command
does not pay for the imports of the others (torch, SQLAlchemy, pydantic schemas)."""


def make_app(command: str | None = None) -> typer.Typer:
    """Build the Typer application; with ``command``, register only the module that provides it."""
    app = typer.Typer(
        name="metaliverpool",
        help="Meta Liverpool: build the Liverpool City Region twin, run policies on it, serve the map.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )
    # A callback keeps the app a group even when one module registers one command, so that
    # ``metaliverpool assign ...`` stays a subcommand instead of Typer's single-command form.
    app.callback()(_top_level)
    modules = [name for name, commands in COMMAND_MODULES.items() if command in commands]
    for name in modules or COMMAND_MODULES:
        module = importlib.import_module(f"metaliverpool.cli.{name}")
        module.register(app)
    return app


def _top_level() -> None:
    """Meta Liverpool: build the Liverpool City Region twin, run policies on it, serve the map."""


def _command_name(argv: list[str]) -> str | None:
    """The first argument that is not an option: the top-level command, if any."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; bad input exits with code 2 and a one-line message."""
    args = sys.argv[1:] if argv is None else argv
    app = make_app(_command_name(args))
    try:
        app(args=args, standalone_mode=False)
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

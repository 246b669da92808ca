"""Command-line entry points (Typer). Thin: parse, call the application layer, print, set the exit code."""

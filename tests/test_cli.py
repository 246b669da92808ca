"""The command line: each command loads only its own module, and the module map is complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from metaliverpool.cli.main import COMMAND_MODULES, make_app


def _top_level_names(command: str | None) -> set[str]:
    app = make_app(command)
    names = {info.name for info in app.registered_commands}
    names |= {info.name for info in app.registered_groups}
    return {name for name in names if name}


@pytest.mark.parametrize("module", sorted(COMMAND_MODULES))
def test_each_command_registers_exactly_what_the_map_says(module: str) -> None:
    commands = COMMAND_MODULES[module]
    assert _top_level_names(commands[0]) == set(commands)


def test_help_lists_every_command() -> None:
    expected = {name for commands in COMMAND_MODULES.values() for name in commands}
    assert _top_level_names(None) == expected


def test_a_command_does_not_import_the_others_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from metaliverpool.cli.main import main\n"
        "try:\n"
        "    main(['data', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('torch', 'sqlalchemy', 'metaliverpool.predict') if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("module", sorted(COMMAND_MODULES))
def test_every_command_is_reached_by_its_name(module: str) -> None:
    for command in COMMAND_MODULES[module]:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("metaliverpool")), command, "--help"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert f"metaliverpool {command}" in result.stdout

"""Read, validate and write scenario files (YAML or JSON).

- :func:`load_scenario` reads a file, upgrades old schema versions and validates it.
- :func:`parse_scenario` does the same for an in-memory document (``source`` names it in errors).
- :func:`validate_edit` checks one edit (the web editor calls it on every live edit).
- :func:`save_scenario` writes a scenario atomically; ``load(save(s)) == s``.

Every problem raises one :class:`~metaliverpool.errors.InputError` whose message names the file, the edit
(1-based number, its ``id`` and ``kind`` when known) and the field, e.g.
``streets.yaml: edit 2 'strand' (bus_lane), field 'osm_way_ids': Field required``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from metaliverpool.atomic import write_text_atomic
from metaliverpool.edits.schema import EDIT_KINDS, Edit, Scenario
from metaliverpool.edits.upgrade import upgrade_document
from metaliverpool.errors import InputError

_EDIT_ADAPTER: TypeAdapter[Edit] = TypeAdapter(Edit)


def _describe_edit(number: int, edit: Any) -> str:
    label = f"edit {number}"
    if isinstance(edit, Mapping):
        if isinstance(edit.get("id"), str):
            label += f" '{edit['id']}'"
        if isinstance(edit.get("kind"), str):
            label += f" ({edit['kind']})"
    return label


def _field_path(parts: Sequence[Any]) -> str:
    return ".".join(str(part) for part in parts)


def _first_error(error: ValidationError) -> tuple[tuple[Any, ...], str, str]:
    details = error.errors(include_url=False)[0]
    loc = tuple(details["loc"])
    kind = details["type"]
    message = details["msg"]
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "union_tag_invalid":
        given = details.get("input", {}).get("kind")
        message = f"unknown edit kind {given!r}; expected one of {', '.join(EDIT_KINDS)}"
    elif kind == "union_tag_not_found":
        message = f"missing 'kind'; expected one of {', '.join(EDIT_KINDS)}"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return loc, kind, message


def _edit_error(
    source: str, number: int, edit: Any, loc: tuple[Any, ...], kind: str, message: str
) -> InputError:
    """An error inside one edit; ``loc`` is relative to the edit (the union tag already removed)."""
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        return InputError(source, message, where=f"{_describe_edit(number, edit)}, field 'kind'")
    field = _field_path(loc)
    where = _describe_edit(number, edit) + (f", field '{field}'" if field else "")
    return InputError(source, message, where=where)


def _strip_tag(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the discriminator value pydantic puts first in a tagged union's error location."""
    if loc and loc[0] in EDIT_KINDS:
        return loc[1:]
    return loc


def edit_json_schema() -> dict[str, Any]:
    """JSON Schema of one edit (for clients that want to check forms before sending)."""
    return _EDIT_ADAPTER.json_schema()


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario document of the current version."""
    return Scenario.model_json_schema()


def validate_edit(data: Mapping[str, Any], *, source: str = "edit", number: int = 1) -> Edit:
    """Validate one edit given as plain data; return the typed edit or raise :class:`InputError`."""
    if not isinstance(data, Mapping):
        raise InputError(source, f"an edit is a mapping, got {type(data).__name__}", where=f"edit {number}")
    try:
        return _EDIT_ADAPTER.validate_python(dict(data))
    except ValidationError as error:
        loc, kind, message = _first_error(error)
        raise _edit_error(source, number, data, _strip_tag(loc), kind, message) from None


def parse_scenario(document: Any, source: str = "scenario") -> Scenario:
    """Validate an in-memory scenario document (any supported schema version)."""
    if not isinstance(document, Mapping):
        raise InputError(source, f"a scenario is a mapping, got {type(document).__name__}")
    upgraded = upgrade_document(document, source)
    try:
        scenario = Scenario.model_validate(upgraded)
    except ValidationError as error:
        loc, kind, message = _first_error(error)
        if len(loc) >= 2 and loc[0] == "edits" and isinstance(loc[1], int):
            edits = upgraded.get("edits") or []
            edit = edits[loc[1]] if loc[1] < len(edits) else None
            raise _edit_error(source, loc[1] + 1, edit, _strip_tag(loc[2:]), kind, message) from None
        raise InputError(source, message, where=f"field '{_field_path(loc)}'") from None
    return scenario.with_source(source)


def read_document(path: Path) -> Any:
    """Read a YAML (``.yaml``/``.yml``) or JSON file into plain data."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read: {error}") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except json.JSONDecodeError as error:
        raise InputError(path, f"invalid JSON: {error.msg}", where=f"line {error.lineno}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(path, f"invalid YAML: {problem}", where=where) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; the result remembers ``path`` for later error messages."""
    path = Path(path)
    return parse_scenario(read_document(path), source=str(path))


class _ScenarioDumper(yaml.SafeDumper):
    """YAML dumper that writes short lists of numbers (coordinates, seeds, ids) on one line."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(isinstance(item, int | float | bool) for item in data) or all(
        isinstance(item, list) and all(isinstance(v, int | float) for v in item) for item in data
    )
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow and bool(data))


_ScenarioDumper.add_representer(list, _represent_list)


def dump_scenario(scenario: Scenario, fmt: str = "yaml") -> str:
    """The scenario as YAML or JSON text (current schema version)."""
    document = scenario.to_document()
    if fmt == "json":
        return json.dumps(document, indent=2, sort_keys=False) + "\n"
    return yaml.dump(document, Dumper=_ScenarioDumper, sort_keys=False, allow_unicode=True, width=100)


def save_scenario(scenario: Scenario, path: str | Path) -> None:
    """Write ``scenario`` atomically as JSON (``.json``) or YAML (anything else)."""
    path = Path(path)
    write_text_atomic(path, dump_scenario(scenario, "json" if path.suffix.lower() == ".json" else "yaml"))


def resolve_base_twin(scenario: Scenario, override: str | Path | None = None) -> Path:
    """The twin folder: ``override`` if given, else ``base_twin`` relative to the scenario file."""
    if override is not None:
        return Path(override)
    if scenario.base_twin is None:
        raise InputError(
            scenario.source, "no base twin: give 'base_twin' or --twin", where="field 'base_twin'"
        )
    base = Path(scenario.base_twin)
    if base.is_absolute():
        return base
    source = Path(scenario.source)
    return (source.parent / base) if source.exists() else base

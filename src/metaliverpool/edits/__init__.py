"""Domain: scenarios and policy edits keyed by stable external ids.

Public interface (the web helper validates live edits with it):

- :class:`~metaliverpool.edits.schema.Scenario`, :data:`~metaliverpool.edits.schema.Edit` (the pydantic
  schema, version :data:`~metaliverpool.edits.schema.SCHEMA_VERSION`),
- :func:`~metaliverpool.edits.io.load_scenario`, :func:`~metaliverpool.edits.io.save_scenario` (atomic),
  :func:`~metaliverpool.edits.io.parse_scenario`, :func:`~metaliverpool.edits.io.validate_edit`,
- :func:`~metaliverpool.edits.apply.apply_edits` ``(twin, scenario_or_edits) -> Twin``.
"""

from metaliverpool.edits.apply import apply_demand_settings, apply_edits
from metaliverpool.edits.io import load_scenario, parse_scenario, save_scenario, validate_edit
from metaliverpool.edits.schema import EDIT_KINDS, SCHEMA_VERSION, Edit, Scenario

__all__ = [
    "EDIT_KINDS",
    "SCHEMA_VERSION",
    "Edit",
    "Scenario",
    "apply_demand_settings",
    "apply_edits",
    "load_scenario",
    "parse_scenario",
    "save_scenario",
    "validate_edit",
]

"""Application: the scenario pipeline (apply edits, run baseline and scenario, compare, report)."""

"""Engines: impacts of runs (network, journeys, emissions, access, equity)."""

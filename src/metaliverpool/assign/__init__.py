"""Engines: static traffic assignment (user equilibrium)."""

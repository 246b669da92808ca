"""Engines: congestion forecasting."""

"""Engines: traffic signal controllers behind the simulator's controller interface."""

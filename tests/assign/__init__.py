"""Tests of the static assignment engine, the TNTP reader and the compiled road graph."""

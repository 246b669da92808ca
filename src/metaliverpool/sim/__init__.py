"""Engines: dynamic mesoscopic traffic simulation."""

"""Edges: readers of external formats (OSM, census, services, TNTP, CityFlow) into domain objects."""

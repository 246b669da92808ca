"""Edges: persistence (twin bundles as GeoParquet, SQL database, content-addressed run store)."""

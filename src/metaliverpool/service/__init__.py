"""Application: use cases and permissions for the web twin."""

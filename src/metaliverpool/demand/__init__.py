"""Domain: travel demand (zones' productions and attractions, trip tables)."""

"""Monthly rollups (see stats.services)."""

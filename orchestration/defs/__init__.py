"""Dagster definitions, loaded folder by folder (`dg` layout): extract → transform → serve → deliver."""

"""Delivery folders for DSA and the regional health authorities, from the served warehouse: tables,
spreadsheet, manifest, diff and report (package.py), the small-cell checks (checks.py). Pure Python
below orchestration: no Dagster, no settings; callers pass every path."""

from deliver.package import DeliveryError, deliver, grain_keys

__all__ = ["DeliveryError", "deliver", "grain_keys"]

"""Delivery folders for DSA and the regional health authorities (pure Python, no Dagster imports)."""

from deliver.package import DeliveryError, deliver, grain_keys

__all__ = ["DeliveryError", "deliver", "grain_keys"]

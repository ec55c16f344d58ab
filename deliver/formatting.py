"""Small helpers report.html and its trend part share: number formatting, table rows."""

from __future__ import annotations

import pyarrow as pa

MAX_DRL_CHARTS = 16


def fmt(value: float | None) -> str:
    """A number as the report prints it: thin-space thousands, three significant digits below 10."""
    if value is None:
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}".replace(",", " ")
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table_rows(table: pa.Table | None) -> list[dict]:
    return table.to_pylist() if table is not None else []


def is_published(row: dict) -> bool:
    """A dsa_drl row with enough facilities for a national value (older deliveries: every row)."""
    return row.get("is_published", True) is not False

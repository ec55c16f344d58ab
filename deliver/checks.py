"""Small-cell checks on what leaves the building (docs/domain.md section 7): plain functions, no
Dagster, so the delivery writer, the asset checks and the tests call the same code."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from deliver.warehouse import schema_tables

# docs/domain.md section 7: a published patient count must rest on more than 4 patients. The threshold a
# build used is the dbt parameter `small_cell_max_patients`; this is only the fallback when a
# warehouse or delivery does not record it.
DEFAULT_SUPPRESSION_MAX = 4


def patient_count_columns(schema: pa.Schema) -> list[str]:
    """Columns that count patients (n_patients, n_new_patients, ...) or persons (n_persons,
    n_persons_100msv_or_more, ...)."""
    return [
        f.name
        for f in schema
        if f.name.startswith("n_") and (f.name.endswith("patients") or f.name.startswith("n_persons"))
    ]


def small_cells(
    tables: Mapping[str, pa.Table], max_patients: int = DEFAULT_SUPPRESSION_MAX
) -> dict[str, int]:
    """Per table.column, how many cells count between 1 and `max_patients` patients."""
    found: dict[str, int] = {}
    for name, table in tables.items():
        for column in patient_count_columns(table.schema):
            values = [v for v in table.column(column).to_pylist() if v is not None]
            n = sum(1 for v in values if 1 <= float(v) <= max_patients)
            if n:
                found[f"{name}.{column}"] = n
    return found


def warehouse_suppression_max(database: Path) -> int:
    """The small-cell threshold the served warehouse was built with (marts.delivery_parameters)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        rows = con.execute(
            "select value_json from marts.delivery_parameters where parameter = 'small_cell_max_patients'"
        ).fetchall()
    except duckdb.CatalogException:
        rows = []
    finally:
        con.close()
    return int(json.loads(rows[0][0])) if rows else DEFAULT_SUPPRESSION_MAX


def manifest_suppression_max(manifest: Mapping) -> int:
    """The small-cell threshold a delivery's manifest records."""
    return int(manifest.get("parameters", {}).get("small_cell_max_patients", DEFAULT_SUPPRESSION_MAX))


def delivery_suppression_max(folder: Path) -> int:
    """The small-cell threshold recorded in a delivery folder's manifest.json."""
    return manifest_suppression_max(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))


def parquet_tables(folder: Path) -> dict[str, pa.Table]:
    """Every Parquet file under a delivery folder, by path relative to it."""
    return {str(p.relative_to(folder)): pq.read_table(p) for p in sorted(folder.rglob("*.parquet"))}


def warehouse_tables(database: Path, schema: str, prefixes: Iterable[str]) -> dict[str, pa.Table]:
    """Tables of one schema whose names start with one of the prefixes (read-only)."""
    with duckdb.connect(str(database), read_only=True) as con:
        names = schema_tables(con, schema, prefixes)
        return {n: con.sql(f'select * from {schema}."{n}"').to_arrow_table() for n in names}

"""Publish the served warehouse: readers open `<data dir>/warehouse.duckdb`, never the build file."""

from datetime import timedelta

import dagster as dg

from deliver.checks import (
    DEFAULT_SUPPRESSION_MAX,
    small_cells,
    warehouse_suppression_max,
    warehouse_tables,
)
from orchestration.checks import stale_reasons
from orchestration.defs.transform.assets import WAREHOUSE_POOL, dbt_warehouse
from orchestration.publish import publish
from orchestration.resources import DataDir

SERVED_WAREHOUSE = dg.AssetKey("served_warehouse")


@dg.asset(
    key=SERVED_WAREHOUSE,
    deps=sorted(dbt_warehouse.keys),
    pool=WAREHOUSE_POOL,
    group_name="serve",
    kinds={"duckdb"},
    freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26)),
)
def served_warehouse(context: dg.AssetExecutionContext, data: DataDir) -> dg.MaterializeResult:
    """`<data dir>/warehouse.duckdb`: the published copy of the build file (schema `marts`), swapped
    in by atomic rename after dbt so readers never block a build nor see a half-built warehouse."""
    paths = data.paths()
    rows = publish(paths.build_warehouse, paths.served_warehouse)
    context.log.info(f"published {paths.served_warehouse} ({len(rows)} tables in marts)")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(paths.served_warehouse)),
            "size_mb": round(paths.served_warehouse.stat().st_size / 1e6, 2),
            "rows": dg.MetadataValue.json(rows),
            **{f"rows/{name}": n for name, n in rows.items()},
        }
    )


@dg.asset_check(asset=SERVED_WAREHOUSE, description="The served copy is as new as the build and the lake.")
def served_warehouse_is_fresh(data: DataDir) -> dg.AssetCheckResult:
    reasons = stale_reasons(data.paths())
    return dg.AssetCheckResult(
        passed=not reasons,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"stale_because": dg.MetadataValue.json(reasons)},
    )


@dg.asset_check(
    asset=SERVED_WAREHOUSE,
    description="No dsa_*/rhf_* table in the served warehouse counts 1 to small_cell_max_patients (4) "
    "patients in a cell.",
)
def served_deliveries_have_no_small_cells(data: DataDir) -> dg.AssetCheckResult:
    served = data.paths().served_warehouse
    tables = warehouse_tables(served, "marts", ("dsa_", "rhf_")) if served.exists() else {}
    threshold = warehouse_suppression_max(served) if served.exists() else DEFAULT_SUPPRESSION_MAX
    small = small_cells(tables, threshold)
    return dg.AssetCheckResult(
        passed=served.exists() and not small,
        metadata={
            "tables_checked": len(tables),
            "threshold": threshold,
            "cells_under_threshold": dg.MetadataValue.json(small),
        },
    )

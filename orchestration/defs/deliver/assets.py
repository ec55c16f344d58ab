"""Delivery folders for DSA (yearly) and the regional health authorities (monthly), from the served
warehouse; each asset checks what it published for small patient cells. A new folder is written only
when the content changed (otherwise the asset names the period's latest folder), and each asset
records the served warehouse its delivery was checked against (what a no-op run relies on)."""

from collections.abc import Iterator

import dagster as dg

from deliver.checks import delivery_suppression_max, parquet_tables, small_cells
from orchestration.checks import latest_period
from orchestration.defs.serve.assets import SERVED_WAREHOUSE
from orchestration.resources import DataDir
from orchestration.settings import DBT_MANIFEST

NO_SMALL_CELLS = "no_small_patient_cells"


class DeliveryConfig(dg.Config):
    year: int | None = None
    """Delivery year; default: the year of the last period any loaded file covers."""
    month: int | None = None
    """Month, RHF only; default: the whole year."""


def _deliver(
    kind: str, context: dg.AssetExecutionContext, config: DeliveryConfig, data: DataDir
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    from deliver import make_delivery, record_check  # the packaging (xlsxwriter, jinja2, matplotlib)

    paths = data.paths()
    year = config.year
    if year is None:
        last = latest_period(paths.lake)
        if last is None:
            raise dg.Failure(f"no loaded files in {paths.lake}: nothing to deliver")
        year = last[0]
    month = config.month if kind == "rhf" else None
    delivery = make_delivery(
        kind,
        year=year,
        month=month,
        warehouse=paths.served_warehouse,
        lake=paths.lake,
        deliveries=paths.deliveries,
        dbt_manifest=DBT_MANIFEST,
    )
    folder = delivery.folder
    if delivery.new:
        replaces = f" (supersedes {delivery.supersedes})" if delivery.supersedes else ""
        context.log.info(f"{kind} delivery for {delivery.period}: {folder}{replaces}")
    else:
        context.log.info(f"{kind} delivery for {delivery.period} unchanged: the latest is {folder}")
    tables = parquet_tables(folder)
    threshold = delivery_suppression_max(folder)
    small = small_cells(tables, threshold)
    yield dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(folder)),
            "year": year,
            "month": month or 0,
            "new_version": delivery.new,
            "supersedes": delivery.supersedes or "",
            "content_sha256": delivery.content_sha256,
            "tables": len(tables),
            **{f"rows/{name}": t.num_rows for name, t in tables.items()},
        },
    )
    yield dg.AssetCheckResult(
        check_name=NO_SMALL_CELLS,
        passed=not small,
        metadata={
            "cells_under_threshold": dg.MetadataValue.json(small),
            "threshold": threshold,
            "path": str(folder),
        },
    )
    # last: a run that dies before here has not checked its deliveries against this warehouse
    record_check(paths.deliveries, delivery)


def _check_spec(key: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        NO_SMALL_CELLS,
        asset=key,
        description="No published cell counts 1 to small_cell_max_patients (4) patients "
        "(docs/domain.md section 7).",
    )


@dg.asset(
    deps=[SERVED_WAREHOUSE],
    group_name="deliver",
    kinds={"parquet", "csv"},
    check_specs=[_check_spec("dsa_delivery")],
)
def dsa_delivery(
    context: dg.AssetExecutionContext, config: DeliveryConfig, data: DataDir
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The yearly delivery to DSA (dsa_* tables) as a folder pinned to a data cut."""
    yield from _deliver("dsa", context, config, data)


@dg.asset(
    deps=[SERVED_WAREHOUSE],
    group_name="deliver",
    kinds={"parquet", "csv"},
    check_specs=[_check_spec("rhf_delivery")],
)
def rhf_delivery(
    context: dg.AssetExecutionContext, config: DeliveryConfig, data: DataDir
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """The monthly delivery to the regional health authorities (rhf_* tables)."""
    yield from _deliver("rhf", context, config, data)

"""The lake as assets: one multi-asset per message module, keys [npr_<module>, <table>] (exactly the
dbt source names), and the ledger and findings. The parsing lives in `extract.ingest`; this is wiring."""

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from extract.model.messages import MODULES, lake_tables
from orchestration.resources import DataDir

LAKE_POOL = "lake"  # one ingest at a time, so two runs never race for the same inbox file
LEDGER = dg.AssetKey(["lake", "ledger"])
FINDINGS = dg.AssetKey(["lake", "findings"])


def table_key(module: str, table: str) -> dg.AssetKey:
    return dg.AssetKey([f"npr_{module}", table])


def parquet_rows(folder: Path) -> int:
    """Rows in a lake folder, from the Parquet footers only."""
    return sum(pq.ParquetFile(p).metadata.num_rows for p in folder.glob("*.parquet"))


def _ingest(data: DataDir, modules: set[str] | None):
    from extract.ingest import ingest  # imported at run time: loading definitions stays light

    return ingest(data.inbox_dir(), data.paths().lake, modules=modules)


def _module_assets(module: str) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            table_key(module, table),
            group_name=f"npr_{module}",
            kinds={"parquet"},
            description=f"Lake table {module}/{table} (Parquet parts, one per loaded file batch).",
        )
        for table in lake_tables(module)
    ]

    @dg.multi_asset(name=f"extract_{module}", specs=specs, pool=LAKE_POOL)
    def extract_module(context: dg.AssetExecutionContext, data: DataDir):
        # Only this module's files: the five modules are five steps, and no file is parsed twice.
        summary = _ingest(data, {module})
        context.log.info(f"{module}: {summary_line(summary)}")
        lake = data.paths().lake
        for table in lake_tables(module):
            yield dg.MaterializeResult(
                asset_key=table_key(module, table),
                metadata={
                    "rows_added": summary.rows.get((module, table), 0),
                    "rows_in_lake": parquet_rows(lake / module / table),
                    **summary_metadata(summary),
                },
            )

    extract_module.__doc__ = f"Ingest new `{module}` files from the inbox into the lake."
    return extract_module


extract_modules = [_module_assets(m) for m in MODULES]


@dg.multi_asset(
    name="extract_ledger",
    specs=[
        dg.AssetSpec(
            LEDGER,
            group_name="lake",
            kinds={"parquet"},
            deps=[table_key(m, "message") for m in MODULES],
            description="One row per file seen: SHA-256, status loaded/rejected/duplicate, reason, rows.",
        ),
        dg.AssetSpec(
            FINDINGS,
            group_name="lake",
            kinds={"parquet"},
            deps=[table_key(m, "message") for m in MODULES],
            description="Record-level data-quality findings of loaded files (the record is kept).",
        ),
    ],
    pool=LAKE_POOL,
)
def extract_ledger(context: dg.AssetExecutionContext, data: DataDir):
    """Record whatever the module steps left (all files, when they were not selected; otherwise
    usually nothing: files of no known module go to the first module step), then report the ledger."""
    summary = _ingest(data, None)
    context.log.info(f"unclaimed files: {summary_line(summary)}")
    lake = data.paths().lake
    yield dg.MaterializeResult(asset_key=LEDGER, metadata=ledger_metadata(lake))
    yield dg.MaterializeResult(
        asset_key=FINDINGS, metadata={"rows_in_lake": parquet_rows(lake / "_findings")}
    )


def summary_metadata(summary) -> dict:
    """Files of this ingest by outcome, findings and seconds (`extract.ingest.IngestSummary`)."""
    return {
        "files_loaded": summary.loaded,
        "files_rejected": summary.rejected,
        "files_duplicate": summary.duplicates,
        "findings": summary.findings,
        "seconds": round(summary.seconds, 2),
    }


def summary_line(summary) -> str:
    if not summary.files_seen:
        return "no new files"
    rows = sum(summary.rows.values())
    return (
        f"{summary.files_seen} new files: {summary.loaded} loaded, {summary.rejected} rejected, "
        f"{summary.duplicates} duplicate; {rows:,} rows, {summary.findings} findings "
        f"in {summary.seconds:.1f}s"
    )


def ledger_metadata(lake: Path) -> dict:
    from orchestration.checks import ledger_statuses

    counts = ledger_statuses(lake)
    return {"files": sum(counts.values()), **{f"files_{status}": n for status, n in counts.items()}}


@dg.asset_check(
    asset=LEDGER,
    blocking=True,
    description="Files in = loaded + rejected + duplicate; rows per lake table = rows the ledger recorded.",
)
def ledger_reconciles(data: DataDir) -> dg.AssetCheckResult:
    from orchestration.checks import reconcile_ledger

    passed, metadata = reconcile_ledger(data.inbox_dir(), data.paths().lake)
    return dg.AssetCheckResult(passed=passed, metadata=metadata)

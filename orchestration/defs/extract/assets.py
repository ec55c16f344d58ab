"""The lake as assets: keys [npr_<module>, <table>] (exactly the dbt source names), the ledger and
the findings, all made by one subsettable step, `extract`, that ingests the inbox once per run (only
the modules of the selected tables, or every file when the ledger or findings are selected). The
parsing lives in `extract.ingest`, the lake's layout in `extract.lake`; this is wiring."""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from extract import lake as lk
from extract.model.faults import DUPLICATE, LOADED, REJECTED
from extract.model.messages import MODULES, ROOT, lake_tables
from orchestration.resources import DataDir

if TYPE_CHECKING:
    from extract.ingest import IngestSummary

LAKE_POOL = "lake"  # one ingest at a time, so two runs never race for the same inbox file
LEDGER = dg.AssetKey(["lake", "ledger"])
FINDINGS = dg.AssetKey(["lake", "findings"])
_STATUSES = (LOADED, REJECTED, DUPLICATE)


def table_key(module: str, table: str) -> dg.AssetKey:
    return dg.AssetKey([f"npr_{module}", table])


_TABLE_KEYS = {table_key(m, t): (m, t) for m in MODULES for t in lake_tables(m)}


def _specs() -> list[dg.AssetSpec]:
    tables = [
        dg.AssetSpec(
            key,
            group_name=f"npr_{module}",
            kinds={"parquet"},
            description=f"Lake table {module}/{table} (Parquet parts, one per loaded file batch).",
        )
        for key, (module, table) in _TABLE_KEYS.items()
    ]
    messages = [table_key(m, ROOT) for m in MODULES]
    bookkeeping = [
        dg.AssetSpec(
            LEDGER,
            group_name="lake",
            kinds={"parquet"},
            deps=messages,
            description="One row per file seen: SHA-256, status loaded/rejected/duplicate, reason, rows.",
        ),
        dg.AssetSpec(
            FINDINGS,
            group_name="lake",
            kinds={"parquet"},
            deps=messages,
            description="Record-level data-quality findings of loaded files (the record is kept).",
        ),
    ]
    return tables + bookkeeping


def modules_to_ingest(selected: set[dg.AssetKey]) -> set[str] | None:
    """The modules whose files this run ingests: those of the selected tables; None (every file,
    also those of no known module) when the ledger or the findings are selected, since they
    account for every file."""
    if LEDGER in selected or FINDINGS in selected:
        return None
    return {_TABLE_KEYS[k][0] for k in selected if k in _TABLE_KEYS}


@dg.multi_asset(name="extract", specs=_specs(), can_subset=True, pool=LAKE_POOL)
def extract_lake(context: dg.AssetExecutionContext, data: DataDir) -> Iterator[dg.MaterializeResult]:
    """Ingest new inbox files into the lake: once, for every selected table, the ledger and the findings."""
    from extract.ingest import ingest  # imported at run time: loading definitions stays light

    selected = set(context.selected_asset_keys)
    modules = modules_to_ingest(selected)
    lake = data.paths().lake
    summary = ingest(data.inbox_dir(), lake, modules=modules)
    context.log.info(
        f"{', '.join(sorted(modules)) if modules is not None else 'all modules'}: {summary_line(summary)}"
    )
    for path, why in sorted(summary.set_aside.items()):
        context.log.warning(f"inbox entry set aside (looked at again next run): {path}: {why}")
    # Files of no known module are reported with the first selected module, as before one step per module.
    unattributed = True
    for key, (module, table) in _TABLE_KEYS.items():
        if key not in selected:
            continue
        metadata: dict = {
            "rows_added": summary.rows.get((module, table), 0),
            "rows_in_lake": lk.table_rows(lake, module, table),
        }
        if table == ROOT:
            metadata.update(summary_metadata(summary, module, unattributed))
            unattributed = False
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)
    if LEDGER in selected:
        metadata = {**ledger_metadata(lake), "entries_set_aside": len(summary.set_aside)}
        yield dg.MaterializeResult(asset_key=LEDGER, metadata=metadata)
    if FINDINGS in selected:
        yield dg.MaterializeResult(asset_key=FINDINGS, metadata={"rows_in_lake": lk.findings_rows(lake)})


def summary_metadata(summary: "IngestSummary", module: str, unattributed: bool) -> dict:
    """Files of `module` in this ingest by outcome (plus those of no known module when
    `unattributed`), and the run's findings and seconds."""
    modules = (module, "") if unattributed else (module,)
    files = summary.files_by_module
    return {
        **{f"files_{s}": sum(files.get((m, s), 0) for m in modules) for s in _STATUSES},
        "findings": summary.findings,
        "seconds": round(summary.seconds, 2),
    }


def summary_line(summary: "IngestSummary") -> str:
    aside = f"; {len(summary.set_aside)} set aside" if summary.set_aside else ""
    if not summary.files_seen:
        return "no new files" + aside
    rows = sum(summary.rows.values())
    return (
        f"{summary.files_seen} new files: {summary.loaded} loaded, {summary.rejected} rejected, "
        f"{summary.duplicates} duplicate{aside}; {rows:,} rows, {summary.findings} findings "
        f"in {summary.seconds:.1f}s"
    )


def ledger_metadata(lake: Path) -> dict:
    from orchestration.checks import ledger_statuses

    counts = ledger_statuses(lake)
    return {"files": sum(counts.values()), **{f"files_{status}": n for status, n in counts.items()}}


@dg.asset_check(
    asset=LEDGER,
    blocking=True,
    description="Files the last ingest scanned = loaded + rejected + duplicate + set aside (with reason); "
    "rows per lake table = rows the ledger recorded. Files arriving after that scan are the next run's.",
)
def ledger_reconciles(data: DataDir) -> dg.AssetCheckResult:
    from orchestration.checks import reconcile_ledger

    passed, metadata = reconcile_ledger(data.inbox_dir(), data.paths().lake)
    return dg.AssetCheckResult(passed=passed, metadata=metadata)

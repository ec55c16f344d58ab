"""Plain functions behind the asset checks (no Dagster here, so tests can call them directly)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from extract.model.messages import MODULES, lake_tables
from orchestration.settings import Paths


def latest_period(lake: Path) -> tuple[int, int] | None:
    """(year, month) of the last day any loaded file covers, from the lake's message tables."""
    parts = sorted(lake.glob("*/message/*.parquet"))
    if not parts:
        return None
    files = ", ".join(f"'{p}'" for p in parts)
    with duckdb.connect() as con:
        (last,) = con.execute(
            f"select max(try_cast(period_to as date)) from read_parquet([{files}], union_by_name=true)"
        ).fetchall()[0]
    return (last.year, last.month) if last else None


def stale_reasons(paths: Paths) -> list[str]:
    """Why the served warehouse is behind (empty when it is fresh): not published yet, or the
    build file or the ledger (new files loaded) is newer than the published copy."""
    served = paths.served_warehouse
    if not served.exists():
        return [f"{served} is not published yet"]
    served_at = served.stat().st_mtime
    reasons = []
    if paths.build_warehouse.exists() and paths.build_warehouse.stat().st_mtime > served_at:
        reasons.append(f"{paths.build_warehouse} is newer")
    ledger = paths.lake / "_ledger"
    if max((p.stat().st_mtime for p in ledger.glob("*.parquet")), default=0.0) > served_at:
        reasons.append(f"{ledger} has files loaded after the publication")
    return reasons


def ledger_statuses(lake: Path) -> dict[str, int]:
    """Files in the ledger by status."""
    from extract.lake import read_ledger

    return dict(Counter(read_ledger(lake).column("status").to_pylist()))


def reconcile_ledger(inbox: Path, lake: Path) -> tuple[bool, dict]:
    """The ledger accounts for everything: every inbox file is recorded with one of the three
    statuses, and every lake table holds exactly the rows the ledger says its loaded files gave."""
    from extract.ingest import pending_files
    from extract.lake import read_ledger, table_dir
    from extract.model.faults import DUPLICATE, LOADED, REJECTED

    ledger = read_ledger(lake).select(["module", "status", "rows"]).to_pylist()
    statuses = Counter(r["status"] for r in ledger)
    unknown_status = sum(n for s, n in statuses.items() if s not in (LOADED, REJECTED, DUPLICATE))
    pending = pending_files(inbox, lake)
    expected: Counter[tuple[str, str]] = Counter()
    for r in ledger:
        if r["status"] == LOADED and r["rows"]:
            for table, n in json.loads(r["rows"]).items():
                expected[(r["module"], table)] += n
    mismatched = {}
    for module in MODULES:
        for table in lake_tables(module):
            actual = sum(
                pq.ParquetFile(p).metadata.num_rows for p in table_dir(lake, module, table).glob("*.parquet")
            )
            if actual != expected[(module, table)]:
                mismatched[f"{module}/{table}"] = {"lake": actual, "ledger": expected[(module, table)]}
    passed = not pending and not unknown_status and not mismatched
    return passed, {
        "files_in_ledger": len(ledger),
        "loaded": statuses[LOADED],
        "rejected": statuses[REJECTED],
        "duplicate": statuses[DUPLICATE],
        "other_status": unknown_status,
        "inbox_files_not_recorded": len(pending),
        "rows_recorded": sum(expected.values()),
        "tables_not_reconciled": mismatched,
    }

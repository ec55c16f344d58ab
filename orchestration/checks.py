"""Plain functions behind the asset checks and the schedules (no Dagster here, so tests can call
them directly). What they know of the lake's layout comes from `extract.lake`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from extract import lake as lk
from extract.model.faults import DUPLICATE, LOADED, REJECTED
from extract.model.messages import MODULES, lake_tables
from orchestration.settings import Paths


def latest_period(lake: Path) -> tuple[int, int] | None:
    """(year, month) of the last day any loaded file covers, from the lake's message tables."""
    return lk.latest_period(lake)


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
    if lk.ledger_updated_at(paths.lake) > served_at:
        reasons.append(f"{lk.ledger_dir(paths.lake)} has files loaded after the publication")
    return reasons


def ledger_statuses(lake: Path) -> dict[str, int]:
    """Files in the ledger by status."""
    return dict(Counter(lk.read_ledger(lake).column("status").to_pylist()))


def reconcile_ledger(inbox: Path, lake: Path) -> tuple[bool, dict]:
    """The ledger accounts for everything the last ingest scanned: every regular file it listed is
    recorded (by path, size and modification time, or seen again with the recorded bytes under a
    new modification time) or was set aside with a reason (odd entries, files still changing:
    looked at again next time), and every lake table holds exactly the rows the ledger says its
    loaded files gave. Files that arrived after that scan are reported, not
    held against it (they are the next run's). Without a scan record (a lake from before it was
    kept), the whole inbox is compared, as before."""
    from extract.inbox import pending_files

    ledger = lk.read_ledger(lake).select(["path", "size", "mtime_ns", "module", "status", "rows"]).to_pylist()
    statuses = Counter(r["status"] for r in ledger)
    unknown_status = sum(n for s, n in statuses.items() if s not in (LOADED, REJECTED, DUPLICATE))
    scan = lk.read_scan(lake)
    set_aside: dict[str, str] = {}
    arrived = 0
    if scan is None:
        not_recorded = len(pending_files(inbox, lake))
    else:
        set_aside = dict(scan.get("set_aside") or {})
        recorded = lk.seen_files(lake).fast  # the ledger's stats and those of files seen again
        listed = [tuple(f) for f in scan.get("files") or []]
        not_recorded = sum(1 for f in listed if f not in recorded and f[0] not in set_aside)
        known = {f[0] for f in listed} | set(set_aside)
        arrived = sum(1 for p in _inbox_paths(inbox) if p not in known)
    expected: Counter[tuple[str, str]] = Counter()
    for r in ledger:
        if r["status"] == LOADED and r["rows"]:
            for table, n in json.loads(r["rows"]).items():
                expected[(r["module"], table)] += n
    mismatched = {}
    for module in MODULES:
        for table in lake_tables(module):
            actual = lk.table_rows(lake, module, table)
            if actual != expected[(module, table)]:
                mismatched[f"{module}/{table}"] = {"lake": actual, "ledger": expected[(module, table)]}
    passed = not not_recorded and not unknown_status and not mismatched
    return passed, {
        "files_in_ledger": len(ledger),
        "loaded": statuses[LOADED],
        "rejected": statuses[REJECTED],
        "duplicate": statuses[DUPLICATE],
        "other_status": unknown_status,
        "inbox_files_not_recorded": not_recorded,
        "inbox_entries_set_aside": len(set_aside),
        "set_aside": {p: why for p, why in sorted(set_aside.items())[:20]},
        "inbox_files_arrived_after_scan": arrived,
        "rows_recorded": sum(expected.values()),
        "tables_not_reconciled": mismatched,
    }


def _inbox_paths(inbox: Path) -> list[str]:
    from extract.inbox import inbox_files

    return [p.relative_to(inbox).as_posix() for p in inbox_files(inbox)] if inbox.exists() else []

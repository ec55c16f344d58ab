"""Row-level difference between two deliveries, table by table, keyed by each table's grain."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SAMPLE = 50  # changed/added/removed keys listed per table


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


def _index(table: pa.Table, grain: list[str]) -> dict[tuple, dict]:
    return {tuple(row[c] for c in grain): row for row in table.to_pylist()}


def diff_table(grain: list[str], old: pa.Table | None, new: pa.Table) -> dict:
    """Rows added, removed and changed (same grain key, another value in some column)."""
    old_rows = _index(old, grain) if old is not None else {}
    new_rows = _index(new, grain)
    added = [k for k in new_rows if k not in old_rows]
    removed = [k for k in old_rows if k not in new_rows]
    changed = []
    for key, row in new_rows.items():
        before = old_rows.get(key)
        if before is None:
            continue
        cols = {
            c: {"old": before.get(c), "new": v}
            for c, v in row.items()
            if c not in grain and not _same(before.get(c), v)
        }
        if cols:
            changed.append({"key": dict(zip(grain, key, strict=True)), "columns": cols})
    return {
        "grain": grain,
        "rows_before": len(old_rows),
        "rows_after": len(new_rows),
        "added": len(added),
        "removed": len(removed),
        "changed": len(changed),
        "added_keys": [dict(zip(grain, k, strict=True)) for k in added[:SAMPLE]],
        "removed_keys": [dict(zip(grain, k, strict=True)) for k in removed[:SAMPLE]],
        "changed_rows": changed[:SAMPLE],
        "new_table": old is None,
    }


def diff_deliveries(previous: Path | None, tables: dict[str, tuple[list[str], pa.Table]]) -> dict:
    """diff.json: every table of the new delivery against the same table of `previous`."""
    if previous is None:
        return {"previous": None, "tables": {n: diff_table(g, None, t) for n, (g, t) in tables.items()}}
    manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
    out = {
        "previous": previous.name,
        "previous_period": manifest.get("period"),
        "previous_cut": manifest.get("cut"),
        "tables": {},
    }
    for name, (grain, table) in tables.items():
        path = previous / f"{name}.parquet"
        old = pq.read_table(path) if path.is_file() else None
        out["tables"][name] = diff_table(grain, old, table)
    dropped = sorted(set(manifest.get("tables", {})) - set(tables))
    out["tables_dropped"] = dropped
    return out

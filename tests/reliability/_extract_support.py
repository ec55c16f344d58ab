"""Shared by the extract fault-injection tests (test_extract_*.py): a small inbox, the lake's state
row for row, the ledger by path."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extract import lake as lk
from extract.model.messages import MODULES
from tests.extract.xmlbuild import build

KEY_A = "reliability-key-a"
KEY_B = "reliability-key-b"


def with_lopenr(i: int):
    def override(key, idx, attrs):
        if key == "message":
            attrs["lopenr"] = str(100 + i)  # distinct bytes per file
        return attrs

    return override


def fill(inbox: Path, n: int = 2) -> list[Path]:
    """`n` files of every module, distinct bytes; returns their paths."""
    out = []
    for i in range(n):
        for m in MODULES:
            (inbox / m).mkdir(parents=True, exist_ok=True)
            path = inbox / m / f"{m}_{i}.xml"
            path.write_bytes(build(m, override=with_lopenr(i)))
            out.append(path)
    return out


def lake_state(lake: Path) -> dict[str, list]:
    """Every lake, ledger and findings row (run-dependent columns dropped), per folder, sorted; the
    quarantine left out."""
    state = {}
    for folder in sorted(p for p in lake.rglob("*") if p.is_dir()):
        if "_quarantine" in folder.relative_to(lake).parts:
            continue
        parts = sorted(folder.glob("*.parquet"))
        if not parts:
            continue
        t = pa.concat_tables([pq.read_table(p) for p in parts])
        drop = [c for c in ("seconds", "ingested_at", "batch_id", "mtime_ns") if c in t.column_names]
        state[folder.relative_to(lake).as_posix()] = sorted(map(repr, t.drop_columns(drop).to_pylist()))
    return state


def ledger_by_path(lake: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in lk.read_ledger(lake).to_pylist():
        out.setdefault(r["path"], []).append(r)
    return out

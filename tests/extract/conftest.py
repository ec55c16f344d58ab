"""Fixtures for the extractor's tests: tiny inboxes and lakes in tmp_path, a fixed pseudonym key."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract import lake as lk

TEST_KEY = "test-key-for-unit-tests"


@pytest.fixture(autouse=True)
def _pseudonym_key(monkeypatch):
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", TEST_KEY)


@pytest.fixture
def inbox(tmp_path) -> Path:
    p = tmp_path / "inbox"
    p.mkdir()
    return p


@pytest.fixture
def lake(tmp_path) -> Path:
    return tmp_path / "lake"


def read_folder(folder: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("*.parquet"))])


def ledger(lake: Path) -> list[dict]:
    return sorted(lk.read_ledger(lake).to_pylist(), key=lambda r: r["path"])


def ledger_by_path(lake: Path) -> dict[str, dict]:
    return {r["path"]: r for r in ledger(lake)}


def rows_of(entry: dict) -> dict[str, int]:
    return json.loads(entry["rows"]) if entry["rows"] else {}


def findings(lake: Path) -> list[dict]:
    return read_folder(lake / lk.FINDINGS_DIR).to_pylist()


def table(lake: Path, module: str, name: str) -> list[dict]:
    return read_folder(lake / module / name).to_pylist()


def lake_state(lake: Path) -> dict[str, list]:
    """Everything in the lake that must not depend on how often or how interrupted a run was."""
    state = {}
    for folder in sorted(p for p in lake.rglob("*") if p.is_dir()):
        parts = sorted(folder.glob("*.parquet"))
        if not parts:
            continue
        t = pa.concat_tables([pq.read_table(p) for p in parts])
        drop = [c for c in ("seconds", "ingested_at", "batch_id", "mtime_ns") if c in t.column_names]
        t = t.drop_columns(drop)
        state[folder.relative_to(lake).as_posix()] = sorted(map(repr, t.to_pylist()))
    return state

"""The lake API: the one place that knows the layout, read back against what an ingest wrote."""

from __future__ import annotations

import dataclasses
import json
import os

import duckdb
import pytest

from extract import lake as lk
from extract.crosscheck import detail_sql
from extract.ingest import ingest
from extract.model import faults
from extract.model.messages import MODULES, lake_tables
from tests.extract.xmlbuild import build


def test_ledger_row_is_the_ledger_schema():
    assert [f.name for f in dataclasses.fields(lk.LedgerRow)] == lk.LEDGER_SCHEMA.names
    assert set(lk.HEADER_FIELDS) <= set(lk.LEDGER_SCHEMA.names)


def test_commit_stamps_batch_and_time_and_reads_back(lake):
    lk.init_lake(lake)
    rows = lk.commit(lake, "b1", [lk.LedgerRow("f" * 64, 3, "a.xml", 7, status=faults.REJECTED)])
    assert rows[0].batch_id == "b1" and rows[0].ingested_at is not None
    (back,) = lk.read_ledger(lake).to_pylist()
    assert back == dataclasses.asdict(rows[0])
    seen = lk.seen_files(lake)
    assert ("a.xml", 3, 7) in seen.fast and ("f" * 64, "a.xml") in seen.pairs and "f" * 64 in seen.ids
    assert lk.ledger_updated_at(lake) == max(p.stat().st_mtime for p in lk.ledger_dir(lake).glob("*.parquet"))


def test_rows_parts_and_period_from_an_ingested_lake(inbox, lake):
    assert lk.latest_period(lake) is None and lk.ledger_updated_at(lake) == 0.0
    for module in ("str", "raa"):
        (inbox / f"{module}.xml").write_bytes(build(module))
    ingest(inbox, lake, workers=1)
    ledger = lk.read_ledger(lake).to_pylist()
    for r in ledger:
        for table, n in json.loads(r["rows"]).items():
            assert lk.table_rows(lake, r["module"], table) == n
    assert sorted(p.parent.parent.name for p in lk.message_parts(lake) if p.name != lk.SCHEMA_PART) == [
        "raa",
        "str",
    ]
    assert lk.findings_rows(lake) == lk.read_findings(lake).num_rows == sum(r["findings"] for r in ledger)
    period_to = max(r["period_to"] for r in ledger)
    assert lk.latest_period(lake) == (int(period_to[:4]), int(period_to[5:7]))
    assert [d.relative_to(lake).parts for d in lk.table_dirs(lake)] == [
        (m, t) for m in MODULES for t in lake_tables(m)
    ]


def test_remove_orphans_uses_the_layout(lake):
    lk.init_lake(lake)
    orphan = lk.table_dir(lake, "str", "episode") / "bX.parquet"
    orphan.write_bytes(b"")
    (lk.findings_dir(lake) / "bX.0001.parquet").write_bytes(b"")
    assert lk.remove_orphans(lake) == 2 and not orphan.exists()
    assert os.listdir(lk.findings_dir(lake)) == [lk.SCHEMA_PART]


@pytest.mark.parametrize(
    ("template", "values"),
    [
        (faults.DUPLICATE_EPISODE, {"episodeID": "E1"}),
        (faults.DUPLICATE_EQUIPMENT, {"utstyrID": "U'1"}),
        (faults.DANGLING_EPISODE, {"episodeID": "E2"}),
        (faults.DANGLING_EQUIPMENT, {"refUtstyr": "U9"}),
        ("it's {a} and {b}", {"a": "x", "b": "y"}),
    ],
)
def test_a_finding_text_reads_the_same_in_python_and_in_sql(template, values):
    columns = ", ".join(f"$v{i} AS {name}" for i, name in enumerate(values))
    params = {f"v{i}": v for i, v in enumerate(values.values())}
    row = duckdb.execute(f"SELECT {detail_sql(template)} FROM (SELECT {columns})", params).fetchone()
    assert row == (template.format(**values),)

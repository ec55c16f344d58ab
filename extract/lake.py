"""The Parquet lake: append-only parts per table, the ledger, the findings.

Layout (`<lake>` = `<data dir>/lake`):

    <lake>/<module>/<table>/schema.parquet        zero rows, the full schema (always present)
    <lake>/<module>/<table>/<batch>[.<n>].parquet rows of the files committed by ledger batch <batch>
    <lake>/_findings/<batch>[.<n>|.x].parquet     record-level findings (FINDINGS_SCHEMA); `.x`: the
                                                  checks across the pieces of a cut file
    <lake>/_ledger/<batch>.parquet                one row per file seen (LEDGER_SCHEMA): the commit record
    <lake>/.lock                                  held while an ingest runs
    <lake>/.tmp_duckdb/                           spill space of the checks across pieces

Columns of a table part are exactly `extract.model.messages.table_columns(module, table)`; parts are
zstd-compressed. One *batch* is one worker task: several small files, or one piece (`.<n>`) of a
big file. Its parts are written as hidden temporary files and renamed into place (`os.replace`),
then the coordinator writes the batch's ledger part, last. A part whose batch has no ledger part
is an orphan of an interrupted run and is deleted by `remove_orphans` at the start of the next
run, so a killed run followed by a rerun ends in the state of one clean run. Nothing is ever
rewritten: a new file adds new parts.

Ledger columns: `file_id` (SHA-256 hex), `size`, `path` (relative to the inbox, as seen),
`mtime_ns`, `module`, `version`, `envelope` (Melding/MsgHead), `encoding` (as declared),
`message_type`, `institutions` (comma-separated institusjonID), `period_from`, `period_to`,
`extraction_date` (uttakDato), `lopenr` (header values as sent, strings), `status`
(loaded/rejected/duplicate), `reason_class`, `reason`, `rows` (JSON object table -> rows),
`findings` (count), `seconds`, `ingested_at` (UTC), `batch_id`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extract.model.messages import MODULES, lake_tables
from extract.reader import arrow_schema

LEDGER_DIR = "_ledger"
FINDINGS_DIR = "_findings"
SCHEMA_PART = "schema.parquet"
# Plain encoding + zstd: measured faster to write and smaller than dictionary pages for these
# columns (long runs of repeated keys compress well either way).
PARQUET_OPTIONS = {"compression": "zstd", "use_dictionary": False}
# Rows of one batch buffered before row groups are written: about 14 MB of Arrow at the ~220 bytes a
# row measured on the benchmark's raa file. Counted in rows: `RecordBatch.nbytes` costs 33 µs a call.
_FLUSH_ROWS = 65_536
_TMP_SUFFIX = ".tmp"

LEDGER_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("size", pa.int64()),
        ("path", pa.string()),
        ("mtime_ns", pa.int64()),
        ("module", pa.string()),
        ("version", pa.string()),
        ("envelope", pa.string()),
        ("encoding", pa.string()),
        ("message_type", pa.string()),
        ("institutions", pa.string()),
        ("period_from", pa.string()),
        ("period_to", pa.string()),
        ("extraction_date", pa.string()),
        ("lopenr", pa.string()),
        ("status", pa.string()),
        ("reason_class", pa.string()),
        ("reason", pa.string()),
        ("rows", pa.string()),
        ("findings", pa.int64()),
        ("seconds", pa.float64()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
        ("batch_id", pa.string()),
    ]
)
FINDINGS_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("module", pa.string()),
        ("table", pa.string()),
        ("record_no", pa.int64()),
        ("record_key", pa.string()),
        ("finding_class", pa.string()),
        ("detail", pa.string()),
    ]
)


def table_dir(lake: Path, module: str, table: str) -> Path:
    return lake / module / table


def _all_part_dirs(lake: Path) -> Iterator[Path]:
    for module in MODULES:
        for table in lake_tables(module):
            yield table_dir(lake, module, table)
    yield lake / FINDINGS_DIR


def _write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}{_TMP_SUFFIX}")
    pq.write_table(table, tmp, **PARQUET_OPTIONS)
    os.replace(tmp, path)


def init_lake(lake: Path) -> None:
    """Create every table folder with its zero-row schema part (idempotent)."""
    for module in MODULES:
        for table in lake_tables(module):
            folder = table_dir(lake, module, table)
            folder.mkdir(parents=True, exist_ok=True)
            if not (folder / SCHEMA_PART).exists():
                _write_atomic(arrow_schema(module, table).empty_table(), folder / SCHEMA_PART)
    for name, schema in ((LEDGER_DIR, LEDGER_SCHEMA), (FINDINGS_DIR, FINDINGS_SCHEMA)):
        folder = lake / name
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / SCHEMA_PART).exists():
            _write_atomic(schema.empty_table(), folder / SCHEMA_PART)


@contextlib.contextmanager
def lake_lock(lake: Path) -> Iterator[None]:
    """One ingest at a time per lake (callers per module run one after the other)."""
    lake.mkdir(parents=True, exist_ok=True)
    with open(lake / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_ledger(lake: Path) -> pa.Table:
    folder = lake / LEDGER_DIR
    parts = sorted(folder.glob("*.parquet")) if folder.exists() else []
    tables = [_read_ledger_part(p) for p in parts]
    return pa.concat_tables(tables) if tables else LEDGER_SCHEMA.empty_table()


def _read_ledger_part(path: Path) -> pa.Table:
    # ParquetFile, not read_table: that imports pyarrow.dataset, 50 ms at every ingest's start.
    with pq.ParquetFile(path) as part:
        table = part.read()
    return table if table.schema.equals(LEDGER_SCHEMA) else pq.read_table(path, schema=LEDGER_SCHEMA)


def write_ledger(lake: Path, batch_id: str, rows: list[dict]) -> None:
    """The commit record of a batch: written last, atomically."""
    rows = [{**r, "batch_id": batch_id} for r in rows]
    _write_atomic(pa.Table.from_pylist(rows, schema=LEDGER_SCHEMA), lake / LEDGER_DIR / f"{batch_id}.parquet")


def write_findings_part(lake: Path, name: str, table: pa.Table) -> None:
    if table.num_rows:
        _write_atomic(table, lake / FINDINGS_DIR / f"{name}.parquet")


def _batch_of(part: Path) -> str:
    return part.name.split(".", 1)[0]


def remove_orphans(lake: Path) -> int:
    """Delete parts and temporary files that no ledger part commits. Returns how many."""
    committed = set(read_ledger(lake).column("batch_id").to_pylist())
    removed = 0
    for folder in [*_all_part_dirs(lake), lake / LEDGER_DIR]:
        if not folder.exists():
            continue
        for p in folder.iterdir():
            orphan = p.name.endswith(_TMP_SUFFIX) or (
                folder.name != LEDGER_DIR and p.name != SCHEMA_PART and _batch_of(p) not in committed
            )
            if orphan:
                p.unlink()
                removed += 1
    return removed


def remove_parts(lake: Path, name_prefix: str) -> None:
    """Delete the (uncommitted) parts of one batch, e.g. of a file rejected in a later piece."""
    for folder in _all_part_dirs(lake):
        for p in folder.glob(f"{name_prefix}.*parquet"):
            p.unlink()


class PartWriter:
    """The parts of one batch: Arrow batches in, zstd Parquet row groups out, renamed on commit."""

    def __init__(self, lake: Path, name: str):
        self.lake = lake
        self.name = name
        self.buffers: dict[Path, list[pa.RecordBatch]] = {}
        self.writers: dict[Path, pq.ParquetWriter] = {}
        self.buffered = 0

    def write(self, module: str, table: str, batch: pa.RecordBatch) -> None:
        self._add(table_dir(self.lake, module, table), batch)

    def write_findings(self, batch: pa.RecordBatch) -> None:
        self._add(self.lake / FINDINGS_DIR, batch)

    def _add(self, folder: Path, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self.buffers.setdefault(folder, []).append(batch)
        self.buffered += batch.num_rows
        if self.buffered >= _FLUSH_ROWS:
            self.flush()

    def _tmp(self, folder: Path) -> Path:
        return folder / f".{self.name}.parquet{_TMP_SUFFIX}"

    def flush(self) -> None:
        for folder, batches in self.buffers.items():
            if not batches:
                continue
            writer = self.writers.get(folder)
            if writer is None:
                writer = pq.ParquetWriter(self._tmp(folder), batches[0].schema, **PARQUET_OPTIONS)
                self.writers[folder] = writer
            writer.write_table(pa.Table.from_batches(batches))
            batches.clear()
        self.buffered = 0

    def commit(self) -> None:
        self.flush()
        for folder, writer in self.writers.items():
            writer.close()
            os.replace(self._tmp(folder), folder / f"{self.name}.parquet")
        self.writers.clear()

    def abort(self) -> None:
        for folder, writer in self.writers.items():
            writer.close()
            self._tmp(folder).unlink(missing_ok=True)
        self.writers.clear()
        self.buffers.clear()
        self.buffered = 0

"""The Parquet lake: the one place that knows its layout. Append-only parts per table, the
ledger (`LedgerRow`, `commit`), the findings, and what the rest of the project asks of it: files
already seen (`SeenFiles`), rows per table from the Parquet footers (`table_rows`), the message
tables' parts and the latest period they cover (`latest_period`), when the ledger last changed.

Layout (`<lake>` = `<data dir>/lake`):

    <lake>/<module>/<table>/schema.parquet        zero rows, the full schema (always present)
    <lake>/<module>/<table>/<batch>[.<n>].parquet rows of the files committed by ledger batch <batch>
    <lake>/_findings/<batch>[.<n>|.x].parquet     record-level findings (FINDINGS_SCHEMA); `.x`: the
                                                  checks across the pieces of a cut file
    <lake>/_ledger/<batch>.parquet                one row per file seen (LEDGER_SCHEMA): the commit record
    <lake>/_scan.json                             what the last ingest scanned (`write_scan`)
    <lake>/_relisted/<when>.parquet               recorded files seen again with a new mtime
                                                  (`record_relisted`)
    <lake>/_key.json                              fingerprint of the pseudonym key (`extract.keys`)
    <lake>/_quarantine/<when>/...                 parts the doctor set aside (`extract.doctor`)
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
import dataclasses
import datetime as dt
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extract.model.faults import LOADED, Finding
from extract.model.messages import MODULES, ROOT, lake_tables
from extract.model.plan import arrow_schema

LEDGER_DIR = "_ledger"
RELISTED_DIR = "_relisted"
FINDINGS_DIR = "_findings"
SCHEMA_PART = "schema.parquet"
# Plain encoding + zstd: measured faster to write and smaller than dictionary pages for these
# columns (long runs of repeated keys compress well either way).
# Page checksums (CRC32 per data page): `verify_part` (and `python -m extract.doctor`) reads every
# page with `page_checksum_verification`, so a garbled part is found, not only a broken footer.
PARQUET_OPTIONS = {"compression": "zstd", "use_dictionary": False, "write_page_checksum": True}
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
RELISTED_SCHEMA = pa.schema(
    [
        ("file_id", pa.string()),
        ("path", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("listed_at", pa.timestamp("us", tz="UTC")),
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


@dataclass
class LedgerRow:
    """One row of the ledger (LEDGER_SCHEMA, same names and order; see the module docstring)."""

    file_id: str
    size: int
    path: str
    mtime_ns: int
    module: str | None = None
    version: str | None = None
    envelope: str | None = None
    encoding: str | None = None
    message_type: str | None = None
    institutions: str | None = None
    period_from: str | None = None
    period_to: str | None = None
    extraction_date: str | None = None
    lopenr: str | None = None
    status: str | None = None
    reason_class: str | None = None
    reason: str | None = None
    rows: str | None = None
    findings: int | None = None
    seconds: float | None = None
    ingested_at: dt.datetime | None = None
    batch_id: str | None = None


# What a file's header gave its row: the same for every copy of the same bytes.
HEADER_FIELDS = (
    "module",
    "version",
    "envelope",
    "encoding",
    "message_type",
    "institutions",
    "period_from",
    "period_to",
    "extraction_date",
    "lopenr",
)


# --- layout ------------------------------------------------------------------------------------


def table_dir(lake: Path, module: str, table: str) -> Path:
    return lake / module / table


def table_dirs(lake: Path) -> Iterator[Path]:
    """Every table folder of the lake, module by module."""
    for module in MODULES:
        for table in lake_tables(module):
            yield table_dir(lake, module, table)


def ledger_dir(lake: Path) -> Path:
    return lake / LEDGER_DIR


def findings_dir(lake: Path) -> Path:
    return lake / FINDINGS_DIR


def duckdb_temp_dir(lake: Path) -> Path:
    """Spill space of the checks across pieces."""
    return lake / ".tmp_duckdb"


def _all_part_dirs(lake: Path) -> Iterator[Path]:
    yield from table_dirs(lake)
    yield findings_dir(lake)


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.parquet")) if folder.exists() else []


def _footer_rows(folder: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in _parts(folder))


def table_rows(lake: Path, module: str, table: str) -> int:
    """Rows in a lake table, from the Parquet footers only."""
    return _footer_rows(table_dir(lake, module, table))


def findings_rows(lake: Path) -> int:
    return _footer_rows(findings_dir(lake))


def message_parts(lake: Path) -> list[Path]:
    """The parts of every module's message table (one row per loaded file: its header)."""
    return [p for module in MODULES for p in _parts(table_dir(lake, module, ROOT))]


def latest_period(lake: Path) -> tuple[int, int] | None:
    """(year, month) of the last day any loaded file covers, from the lake's message tables."""
    parts = message_parts(lake)
    if not parts:
        return None
    import duckdb  # here: worker processes import this module, and fork only without DuckDB loaded

    files = ", ".join(f"'{p}'" for p in parts)
    with duckdb.connect() as con:
        row = con.execute(
            f"select max(try_cast(period_to as date)) from read_parquet([{files}], union_by_name=true)"
        ).fetchone()
    last = row[0] if row else None
    return (last.year, last.month) if last else None


def ledger_updated_at(lake: Path) -> float:
    """When the ledger last changed (newest part's mtime; 0.0 when it has none)."""
    return max((p.stat().st_mtime for p in _parts(ledger_dir(lake))), default=0.0)


def verify_part(path: Path) -> pa.Table:
    """Read a part in full, every page's checksum verified; raises on any damage."""
    with pq.ParquetFile(path, page_checksum_verification=True) as part:
        return part.read()


SCAN_RECORD = "_scan.json"


def write_scan(lake: Path, record: dict) -> None:
    """What an ingest scanned: `files` [[path, size, mtime_ns]] (every regular file listed, recorded
    before or now) and `set_aside` {path: reason} (not read, looked at again next time). The ledger
    check reconciles against this, not against an inbox that may have grown since."""
    tmp = lake / f".{SCAN_RECORD}{_TMP_SUFFIX}"
    tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    os.replace(tmp, lake / SCAN_RECORD)


def read_scan(lake: Path) -> dict | None:
    try:
        return json.loads((lake / SCAN_RECORD).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


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
    for folder, schema in ((ledger_dir(lake), LEDGER_SCHEMA), (findings_dir(lake), FINDINGS_SCHEMA)):
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / SCHEMA_PART).exists():
            _write_atomic(schema.empty_table(), folder / SCHEMA_PART)


@contextlib.contextmanager
def lake_lock(lake: Path) -> Iterator[None]:
    """One ingest at a time per lake (concurrent callers run one after the other)."""
    lake.mkdir(parents=True, exist_ok=True)
    with open(lake / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_ledger(lake: Path) -> pa.Table:
    tables = [_read_ledger_part(p) for p in _parts(ledger_dir(lake))]
    return pa.concat_tables(tables) if tables else LEDGER_SCHEMA.empty_table()


def _read_folder(folder: Path, schema: pa.Schema) -> pa.Table:
    """Every part of a folder as one table (empty, of `schema`, without parts)."""
    tables = [pq.ParquetFile(p).read() for p in _parts(folder)]
    return pa.concat_tables(tables) if tables else schema.empty_table()


def read_findings(lake: Path) -> pa.Table:
    return _read_folder(findings_dir(lake), FINDINGS_SCHEMA)


class SeenFiles:
    """What the ledger knows of files already seen, for telling new files from them; `relisted`
    (`read_relisted`) adds the stat of recorded files seen again with another mtime."""

    def __init__(self, ledger: pa.Table, relisted: pa.Table | None = None):
        cols = ledger.select(["file_id", "path", "size", "mtime_ns"]).to_pydict()
        rows = list(zip(cols["file_id"], cols["path"], cols["size"], cols["mtime_ns"], strict=True))
        self.fast = {(p, s, m) for _, p, s, m in rows}  # path, size and mtime unchanged: not hashed
        if relisted is not None:
            again = relisted.select(["path", "size", "mtime_ns"]).to_pydict()
            self.fast |= set(zip(again["path"], again["size"], again["mtime_ns"], strict=True))
        self.pairs = {(f, p) for f, p, _, _ in rows}
        self.ids = {f for f, _, _, _ in rows}
        # Same bytes as one of these: a duplicate. Never as a rejected or duplicate file's.
        status = ledger.column("status").to_pylist()
        self.loaded = {f for (f, _, _, _), s in zip(rows, status, strict=True) if s == LOADED}


def seen_files(lake: Path) -> SeenFiles:
    return SeenFiles(read_ledger(lake), read_relisted(lake))


def relisted_dir(lake: Path) -> Path:
    return lake / RELISTED_DIR


def record_relisted(lake: Path, files: list[tuple[str, str, int, int]]) -> None:
    """Remember recorded files seen again with another modification time: (file_id, path, size,
    mtime_ns) of a file whose bytes the ledger records at that same path (an inbox copied back or
    restored from a backup, a touched file). Nothing is loaded again; later scans take the file as
    known without hashing it, and the ledger check counts it as recorded. Append-only, one part per
    call under a unique name, so callers need no lock (a stat remembered twice does no harm)."""
    if not files:
        return
    now = dt.datetime.now(dt.UTC)
    columns = [*(list(c) for c in zip(*files, strict=True)), [now] * len(files)]
    table = pa.Table.from_arrays(columns, schema=RELISTED_SCHEMA)
    folder = relisted_dir(lake)
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(table, folder / f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet")


def read_relisted(lake: Path) -> pa.Table:
    return _read_folder(relisted_dir(lake), RELISTED_SCHEMA)


def _read_ledger_part(path: Path) -> pa.Table:
    # ParquetFile, not read_table: that imports pyarrow.dataset, 50 ms at every ingest's start.
    with pq.ParquetFile(path) as part:
        table = part.read()
    return table if table.schema.equals(LEDGER_SCHEMA) else pq.read_table(path, schema=LEDGER_SCHEMA)


def commit(lake: Path, batch_id: str, rows: list[LedgerRow]) -> list[LedgerRow]:
    """The commit record of a batch, stamped with the batch and the time: written last, atomically."""
    now = dt.datetime.now(dt.UTC)
    rows = [dataclasses.replace(r, ingested_at=now, batch_id=batch_id) for r in rows]
    table = pa.Table.from_pylist([dataclasses.asdict(r) for r in rows], schema=LEDGER_SCHEMA)
    _write_atomic(table, ledger_dir(lake) / f"{batch_id}.parquet")
    return rows


def findings_batch(file_id: str, module: str, findings: list[Finding]) -> pa.RecordBatch:
    """Findings of one file as a FINDINGS_SCHEMA batch."""
    table, record_no, key, cls, detail = zip(*findings, strict=True) if findings else ((),) * 5
    n = len(findings)
    return pa.RecordBatch.from_arrays(
        [
            pa.repeat(pa.scalar(file_id, pa.string()), n),
            pa.repeat(pa.scalar(module, pa.string()), n),
            pa.array(table, pa.string()),
            pa.array(record_no, pa.int64()),
            pa.array(key, pa.string()),
            pa.array(cls, pa.string()),
            pa.array(detail, pa.string()),
        ],
        schema=FINDINGS_SCHEMA,
    )


def write_findings_part(lake: Path, name: str, batch: pa.RecordBatch) -> None:
    if batch.num_rows:
        _write_atomic(pa.Table.from_batches([batch]), findings_dir(lake) / f"{name}.parquet")


def _batch_of(part: Path) -> str:
    return part.name.split(".", 1)[0]


def remove_orphans(lake: Path) -> int:
    """Delete parts and temporary files that no ledger part commits. Returns how many."""
    committed = set(read_ledger(lake).column("batch_id").to_pylist())
    removed = 0
    for folder in [*_all_part_dirs(lake), ledger_dir(lake)]:
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
        self._add(findings_dir(self.lake), batch)

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

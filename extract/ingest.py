"""Ingest an inbox into the lake: every file ends loaded, rejected or duplicate, exactly once.

`ingest(inbox, lake)` is what the orchestration calls; `python -m extract.ingest --inbox DIR
--lake DIR` runs it from a shell with progress.

- The inbox is scanned recursively in sorted order; path components starting with `_` or `.` are
  ignored. A file is *seen* when the ledger has its (SHA-256, path); seen files are skipped
  silently (a fast path trusts an unchanged path, size and mtime without hashing). The same bytes
  as a *loaded* file under a new path are recorded as `duplicate` and not loaded again (the same
  bytes as a rejected file are read again: a rejected file whose content changes is tried again).
- Only stable regular files inside the inbox are read; other entries and files still changing are
  set aside with their reason (`IngestSummary.set_aside`, the scan record `<lake>/_scan.json`) and
  looked at again by the next ingest (`extract.inbox`).
- The pseudonym key's fingerprint is recorded with the lake; another key is refused
  (`extract.keys`; a deliberate change is `extract.rotate`).
- `modules={"str"}` ingests only files whose namespace (sniffed from the first bytes) names one of
  those modules. Files whose module cannot be told (not XML, unknown module) are taken by every
  caller: whichever runs first records them, and the ledger makes the others skip them.
- Work runs in worker processes (`extract.workers`): small files in batches (their parts shared,
  so many tiny files do not make many tiny parts), a big file cut into pieces at `Objektholder`
  boundaries (`extract.split`) that run in parallel; duplicate and reference checks across pieces
  are merged here (`extract.crosscheck`). A piece's `record_base` (elements before it, so record
  numbers match a whole-file read) is counted by the coordinator while another thread hashes the
  file (`extract.inbox.Scan`). This module is the coordinator: it hands out the work and commits
  each batch's ledger part as the batch comes back.
- Crash safety: see `extract.lake` (ledger part written last; orphans removed at the next start).
  An ingest holds the lake lock, so concurrent callers run one after the other.
- Workers are forked when the caller runs no other thread, else started with `forkserver` (safe
  under a threaded caller such as Dagster; see `safe_start_method`); a script calling `ingest` needs the
  usual `if __name__ == "__main__":` guard. Below INLINE_BELOW bytes of
  new data everything runs in the calling process.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extract import lake as lk
from extract.crosscheck import cross_piece_findings
from extract.inbox import FileTask, Scan, inbox_files, pending_bytes, unchanged
from extract.keys import check_key
from extract.model import faults
from extract.model.messages import MODULES
from extract.pseudonym import pseudonym_key
from extract.split import Cut
from extract.workers import (
    SET_ASIDE,
    PieceResult,
    Pool,
    ledger_row,
    loaded_row,
    peak_rss_mb,
    rejected_row,
    run_batch,
    run_piece,
    set_aside_row,
)

__all__ = ["IngestSummary", "inbox_files", "ingest", "main"]  # inbox_files: callers outside extract/

SPLIT_ABOVE = 64 << 20  # files larger than this are cut into pieces
PIECE_BYTES = 32 << 20  # largest piece (worker memory grows with it)
PIECES_PER_WORKER = 2  # at least: room to balance (measured best of 1, 2, 3 on 128 MB)
STREAM_ABOVE = 16 << 20  # files larger than this get a batch of their own (rows not held in memory)
BATCH_FILES = 200
INLINE_BELOW = 1 << 20  # less new data than this: no worker processes
SETTLE_ENV = "STRALEBRUK_SETTLE_SECONDS"


@dataclass
class IngestSummary:
    files_seen: int = 0  # new files looked at in this run (already-ledgered ones not counted)
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    skipped: int = 0  # already in the ledger, or another module's
    # inbox entries not read, path -> why (odd entries, files still changing): no ledger row, so
    # the next ingest looks at them again; also in the lake's scan record (`extract.lake.write_scan`)
    set_aside: dict[str, str] = field(default_factory=dict)
    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    findings: int = 0
    seconds: float = 0.0
    rejections: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: float = 0.0  # the largest of this process and the workers it used
    # (module, status) -> files; module "" for files whose module could not be told
    files_by_module: dict[tuple[str, str], int] = field(default_factory=dict)

    def count(self, rows: list[lk.LedgerRow]) -> None:  # committed rows only
        for r in rows:
            status = r.status or ""
            module = r.module if r.module in MODULES else ""
            self.files_by_module[(module, status)] = self.files_by_module.get((module, status), 0) + 1
            if status == faults.LOADED:
                self.loaded += 1
                self.findings += r.findings or 0
                for table, n in json.loads(r.rows or "{}").items():
                    key = (module, table)
                    self.rows[key] = self.rows.get(key, 0) + n
            elif status == faults.REJECTED:
                self.rejected += 1
                reason = r.reason_class or ""
                self.rejections[reason] = self.rejections.get(reason, 0) + 1
            else:
                self.duplicates += 1


@dataclass
class _BigFile:
    task: FileTask
    batch_id: str
    pieces: int
    done: dict[int, PieceResult] = field(default_factory=dict)


class _Coordinator:
    """One ingest under the lake lock: hands files out to the pool in batches or pieces, and
    commits each batch (its ledger part) as its work comes back, so a crash loses only the
    uncommitted batches (orphans, removed at the next start)."""

    def __init__(self, lake: Path, pool: Pool, workers: int, key: bytes, validate: bool, progress: bool):
        self.lake, self.pool, self.workers, self.key, self.validate = lake, pool, workers, key, validate
        self.progress = progress
        self.summary = IngestSummary()
        self.run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.counter = 0
        self.futures: dict[Future, tuple[str, str]] = {}  # -> ("batch" | "piece", batch id)
        self.big: dict[str, _BigFile] = {}
        self.duplicates: list[lk.LedgerRow] = []
        self.group: list[FileTask] = []
        self.group_bytes = 0

    def batch_id(self) -> str:
        self.counter += 1
        return f"b{self.run_id}-{self.counter:05d}"

    def pieces(self, size: int) -> int:
        if size <= SPLIT_ABOVE:
            return 1
        n = max(math.ceil(size / PIECE_BYTES), PIECES_PER_WORKER * self.workers)
        return math.ceil(n / self.workers) * self.workers

    def add(self, task: FileTask, duplicate: bool, cut: Cut | None) -> None:
        self.summary.files_seen += 1
        lake = str(self.lake)
        if duplicate:
            self.duplicates.append(ledger_row(task, faults.DUPLICATE, seconds=0.0))
            return
        if cut is not None:
            bid = self.batch_id()
            self.big[bid] = _BigFile(task, bid, cut.n)
            for i, seg in enumerate(cut.ready):
                args = (lake, f"{bid}.{i:04d}", task, seg, i, self.key, self.validate)
                self.futures[self.pool.submit(run_piece, *args)] = ("piece", bid)
            self.pool.preload_duckdb()
        elif task.size > STREAM_ABOVE:
            self._submit_batch([task])
        else:
            self.group.append(task)
            self.group_bytes += task.size
            if self.group_bytes >= STREAM_ABOVE or len(self.group) >= BATCH_FILES:
                self.submit_group()
        self.collect(block=False)

    def _submit_batch(self, tasks: list[FileTask]) -> None:
        bid = self.batch_id()
        self.futures[self.pool.submit(run_batch, str(self.lake), bid, tasks, self.key, self.validate)] = (
            "batch",
            bid,
        )

    def submit_group(self) -> None:
        if self.group:
            self._submit_batch(self.group)
        self.group, self.group_bytes = [], 0

    def _commit(self, batch_id: str, rows: list[lk.LedgerRow]) -> None:
        for r in rows:
            if r.status == SET_ASIDE:
                self.summary.set_aside[r.path] = r.reason or ""
        rows = [r for r in rows if r.status != SET_ASIDE]
        if rows:
            self.summary.count(lk.commit(self.lake, batch_id, rows))

    def collect(self, block: bool) -> None:
        if not self.futures:
            return
        done, _ = wait(list(self.futures), timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for f in done:
            kind, ref = self.futures.pop(f)
            if kind == "batch":
                rows, rss = f.result()
                self.summary.peak_rss_mb = max(self.summary.peak_rss_mb, rss)
                self._commit(ref, rows)
            else:
                bf = self.big[ref]
                piece: PieceResult = f.result()
                self.summary.peak_rss_mb = max(self.summary.peak_rss_mb, piece.rss_mb)
                bf.done[piece.index] = piece
                if len(bf.done) == bf.pieces:
                    self._commit(bf.batch_id, [_finish_big(self.lake, bf)])
                    del self.big[ref]
            if self.progress:
                s = self.summary
                print(
                    f"\r{s.loaded} loaded, {s.rejected} rejected, {s.duplicates} duplicate",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )

    def finish(self) -> None:
        self.submit_group()
        while self.futures:
            self.collect(block=True)
        if self.duplicates:
            self._commit(self.batch_id(), self._settle_duplicates())

    def _settle_duplicates(self) -> list[lk.LedgerRow]:
        """A copy is a duplicate of a loaded file (same header, copied from its row). A copy of a
        file this run rejected gets the same verdict (same bytes); of one it could not read, it is
        set aside too."""
        first: dict[str, dict] = {}
        for r in lk.read_ledger(self.lake).to_pylist():
            if r["status"] == faults.LOADED or (r["status"] == faults.REJECTED and r["file_id"] not in first):
                first[r["file_id"]] = r
        rows = []
        for r in self.duplicates:
            orig = first.get(r.file_id)
            if orig is None:
                rows.append(dataclasses.replace(r, status=SET_ASIDE, reason=faults.SKIP_TWIN_NOT_READ))
                continue
            header: dict[str, Any] = {k: orig.get(k) for k in lk.HEADER_FIELDS}
            if orig["status"] == faults.LOADED:
                rows.append(dataclasses.replace(r, **header))
            else:
                verdict: dict[str, Any] = {"reason_class": orig["reason_class"], "reason": orig["reason"]}
                rows.append(dataclasses.replace(r, status=faults.REJECTED, **header, **verdict))
        return rows


def ingest(
    inbox: Path,
    lake: Path,
    *,
    workers: int | None = None,
    progress: bool = False,
    modules: set[str] | None = None,
    validate: bool = True,
    settle: float | None = None,
) -> IngestSummary:
    """Load every new file of `inbox` into `lake` (see the module docstring). `settle`: seconds a
    file must have been left unchanged before it is read (default `STRALEBRUK_SETTLE_SECONDS`, else
    0: files are read once they did not change while hashed; uploads are written under a name
    starting with `.` or `_` and renamed when complete). Raises `extract.keys.KeyMismatch` when the
    lake was built under another pseudonym key."""
    t_start = time.perf_counter()
    inbox, lake = Path(inbox), Path(lake)
    workers = workers or os.cpu_count() or 1
    settle = settle_seconds() if settle is None else settle
    key = pseudonym_key()  # read (and warned about) once, here; workers get it as an argument
    with lk.lake_lock(lake):
        check_key(lake, key)
        lk.init_lake(lake)
        lk.remove_orphans(lake)
        seen = lk.seen_files(lake)
        if pending_bytes(inbox, seen) < INLINE_BELOW:
            workers = 1  # starting worker processes would cost more than the work
        pool = Pool(workers)
        try:
            run = _Coordinator(lake, pool, workers, key, validate, progress)
            scan = Scan(inbox, seen, modules, run.pieces, settle)
            for task, duplicate, cut in scan:
                run.add(task, duplicate, cut)
            run.finish()
        finally:
            pool.close()
        lk.record_relisted(lake, scan.relisted)
        summary = run.summary
        summary.set_aside = {**scan.listing.set_aside, **summary.set_aside}
        lk.write_scan(
            lake,
            {
                "run_id": run.run_id,
                "inbox": str(inbox),
                "modules": sorted(modules) if modules is not None else None,
                "files": scan.listing.files,
                "set_aside": summary.set_aside,
            },
        )
    summary.skipped = scan.skipped
    summary.seconds = time.perf_counter() - t_start
    summary.peak_rss_mb = max(summary.peak_rss_mb, peak_rss_mb())
    if progress:
        print(file=sys.stderr)
    return summary


def settle_seconds() -> float:
    try:
        return float(os.environ.get(SETTLE_ENV) or 0.0)
    except ValueError:
        return 0.0


def _finish_big(lake: Path, bf: _BigFile) -> lk.LedgerRow:
    """The ledger row of a cut file once all its pieces are back (its parts are written)."""
    pieces = [bf.done[i] for i in range(bf.pieces)]
    seconds = sum(p.seconds for p in pieces)
    task = bf.task
    why = next((p.unreadable for p in pieces if p.unreadable is not None), None)
    if why is None and not unchanged(task.path, task.size, task.mtime_ns):
        why = faults.SKIP_CHANGING  # the pieces may not be the bytes hashed
    if why is not None:
        lk.remove_parts(lake, bf.batch_id)
        return set_aside_row(task, why)
    for p in pieces:
        if p.rejected is not None:
            lk.remove_parts(lake, bf.batch_id)
            return rejected_row(bf.task, p.rejected, seconds)
    results = [p.result for p in pieces if p.result is not None]
    first = results[0]
    across = cross_piece_findings(lake, first.module, bf.batch_id, bf.task.file_id)
    lk.write_findings_part(lake, f"{bf.batch_id}.x", across)
    rows: Counter[str] = Counter()
    institutions: list[str] = []
    for res in results:
        rows.update(res.rows)
        institutions += [i for i in res.institutions if i not in institutions]
    first.institutions = institutions
    n_findings = across.num_rows + sum(p.n_findings for p in pieces)
    return loaded_row(bf.task, first, n_findings, seconds, rows=dict(rows))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m extract.ingest", description="Ingest an inbox into the lake.")
    p.add_argument("--inbox", type=Path, required=True)
    p.add_argument("--lake", type=Path, required=True)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--module", action="append", choices=MODULES, help="only these modules (repeatable)")
    p.add_argument("--no-validate", action="store_true", help="skip XSD validation (debugging only)")
    p.add_argument(
        "--settle",
        type=float,
        default=None,
        help=f"read only files unchanged for this many seconds (default ${SETTLE_ENV} or 0)",
    )
    args = p.parse_args(argv)
    s = ingest(
        args.inbox,
        args.lake,
        workers=args.workers,
        progress=True,
        modules=set(args.module) if args.module else None,
        validate=not args.no_validate,
        settle=args.settle,
    )
    print(
        f"{s.files_seen} new files: {s.loaded} loaded, {s.rejected} rejected {s.rejections or ''}, "
        f"{s.duplicates} duplicate; {s.skipped} skipped; {sum(s.rows.values())} rows, "
        f"{s.findings} findings in {s.seconds:.1f} s"
    )
    for path, why in sorted(s.set_aside.items()):
        print(f"set aside (looked at again next time): {path}: {why}")
    return 0


if __name__ == "__main__":
    # Run the imported module's main, so worker processes pickle `extract.ingest.*`, not `__main__.*`.
    from extract.ingest import main as _main

    raise SystemExit(_main())

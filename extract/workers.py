"""The work of an ingest that runs in worker processes, and the pool that runs it.

`run_batch` reads small files (or one big file whole) into one set of parts; `run_piece` reads one
segment of a cut file. Both write parts but never the ledger: they return `LedgerRow`s or a
`PieceResult`, and the coordinator (`extract.ingest`) commits. `Pool` starts the processes (fork
where safe, else forkserver) or runs everything inline for one worker.
"""

from __future__ import annotations

import importlib
import json
import multiprocessing
import resource
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from extract import lake as lk
from extract.checks import CrossChecks, resolve
from extract.inbox import FileTask, unchanged
from extract.model import faults
from extract.model.faults import Rejected
from extract.personal import scrub_findings
from extract.reader import Segment, SegmentResult, read_segment


def ledger_row(task: FileTask, status: str, **kw: Any) -> lk.LedgerRow:
    """A file's ledger row: what the inbox and the sniff know, then what `kw` adds or overrides."""
    sn = task.sniff
    fields: dict[str, Any] = {
        "module": sn.module,
        "version": sn.version,
        "envelope": sn.envelope,
        "encoding": sn.encoding,
    }
    fields.update(kw)
    return lk.LedgerRow(task.file_id, task.size, task.rel, task.mtime_ns, status=status, **fields)


def loaded_row(
    task: FileTask, res: SegmentResult, n_findings: int, seconds: float, rows: dict[str, int] | None = None
) -> lk.LedgerRow:
    h = res.header
    return ledger_row(
        task,
        faults.LOADED,
        module=res.module,
        version=res.version,
        envelope=res.envelope,
        encoding=res.encoding,
        message_type=h.get("meldingstype"),
        period_from=h.get("fraDatoPeriode"),
        period_to=h.get("tilDatoPeriode"),
        extraction_date=h.get("uttakDato"),
        lopenr=h.get("lopenr"),
        institutions=",".join(res.institutions),
        rows=json.dumps(res.rows if rows is None else rows, sort_keys=True),
        findings=n_findings,
        seconds=seconds,
    )


def rejected_row(task: FileTask, r: Rejected, seconds: float) -> lk.LedgerRow:
    return ledger_row(task, faults.REJECTED, reason_class=r.reason_class, reason=r.reason, seconds=seconds)


# Not a ledger status: the row of a file that could not be read as scanned (deleted, changed,
# unreadable); the coordinator drops it from the commit and reports the file as set aside.
SET_ASIDE = "set_aside"


def set_aside_row(task: FileTask, why: str) -> lk.LedgerRow:
    return ledger_row(task, SET_ASIDE, reason=why)


def _read_problem(e: OSError) -> str:
    if isinstance(e, FileNotFoundError):
        return faults.SKIP_VANISHED
    return f"{faults.SKIP_UNREADABLE} ({e.strerror or type(e).__name__})"


def _module(task: FileTask) -> str:
    # Only files whose sniff named a module get this far without a rejection (`read_segment`).
    return task.sniff.module or ""


def run_batch(
    lake: str, batch_id: str, tasks: list[FileTask], key: bytes, validate: bool
) -> tuple[list[lk.LedgerRow], float]:
    """Small files into one set of parts; returns their ledger rows (not yet written) and peak RSS."""
    writer = lk.PartWriter(Path(lake), batch_id)
    stream = len(tasks) == 1
    rows_out = []
    for task in tasks:
        t0 = time.perf_counter()
        held: list[tuple[str, pa.RecordBatch]] = []
        module = _module(task)

        def sink(table: str, batch: pa.RecordBatch, held: list = held, module: str = module) -> None:
            if stream:
                writer.write(module, table, batch)
            else:
                held.append((table, batch))

        try:
            res = read_segment(
                Segment(task.path, 0, task.size),
                task.sniff,
                file_id=task.file_id,
                key=key,
                sink=sink,
                validate=validate,
            )
            # The bytes parsed are the bytes hashed only if the file did not change meanwhile.
            changed = not unchanged(task.path, task.size, task.mtime_ns)
        except Rejected as r:
            if stream:
                writer.abort()
            if unchanged(task.path, task.size, task.mtime_ns):
                rows_out.append(rejected_row(task, r, time.perf_counter() - t0))
            else:
                rows_out.append(set_aside_row(task, faults.SKIP_CHANGING))
            continue
        except OSError as e:
            if stream:
                writer.abort()
            rows_out.append(set_aside_row(task, _read_problem(e)))
            continue
        if changed:
            if stream:
                writer.abort()
            rows_out.append(set_aside_row(task, faults.SKIP_CHANGING))
            continue
        for table, batch in held:
            writer.write(res.module, table, batch)
        findings = res.findings + scrub_findings(resolve(res.cross), key)
        writer.write_findings(lk.findings_batch(task.file_id, res.module, findings))
        rows_out.append(loaded_row(task, res, len(findings), time.perf_counter() - t0))
    writer.commit()
    return rows_out, peak_rss_mb()


def peak_rss_mb() -> float:
    # A worker runs task after task: hand Arrow's freed memory back now, not at the pool's leisure.
    pa.default_memory_pool().release_unused()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class PieceResult:
    index: int
    seconds: float
    rejected: Rejected | None = None
    unreadable: str | None = None  # why the piece could not be read (deleted, ...)
    result: SegmentResult | None = None  # its findings are in the piece's parts, counted here
    n_findings: int = 0
    rss_mb: float = 0.0


def run_piece(
    lake: str, name: str, task: FileTask, seg: Segment, index: int, key: bytes, validate: bool
) -> PieceResult:
    t0 = time.perf_counter()
    writer = lk.PartWriter(Path(lake), name)
    module = _module(task)
    try:
        res = read_segment(
            seg,
            task.sniff,
            file_id=task.file_id,
            key=key,
            sink=lambda table, batch: writer.write(module, table, batch),
            validate=validate,
            piece=index,
        )
    except Rejected as r:
        writer.abort()
        return PieceResult(index, time.perf_counter() - t0, rejected=r, rss_mb=peak_rss_mb())
    except OSError as e:
        writer.abort()
        return PieceResult(index, time.perf_counter() - t0, unreadable=_read_problem(e), rss_mb=peak_rss_mb())
    writer.write_findings(lk.findings_batch(task.file_id, module, res.findings))
    writer.commit()
    n_findings = len(res.findings)
    res.findings, res.cross = [], CrossChecks()  # only counts travel back; memory stays flat
    return PieceResult(
        index, time.perf_counter() - t0, result=res, n_findings=n_findings, rss_mb=peak_rss_mb()
    )


def safe_start_method() -> str:
    """`fork` where it is safe: no other Python thread (whose locks a child would inherit held)
    and no DuckDB loaded (its native threads); Arrow's pools re-arm themselves in a forked child.
    The workers then start at once with everything imported (measured 6 % faster on the
    benchmark's two-process run). Else `forkserver`, safe under a threaded caller such as Dagster
    or a test process that has used DuckDB (a forked child there can hang on an inherited lock).
    The one rule for every process pool of the project (extraction, the synthetic generator)."""
    if threading.active_count() == 1 and "duckdb" not in sys.modules:
        return "fork"
    return "forkserver"


class Pool:
    """A process pool, or inline execution for one worker (tests, debugging)."""

    def __init__(self, workers: int):
        self.inline = workers <= 1
        self.ex: ProcessPoolExecutor | None = None
        self.method: str | None = None
        self.warming: threading.Thread | None = None
        if self.inline:
            return
        self.method = safe_start_method()
        ctx = multiprocessing.get_context(self.method)
        if self.method == "fork":
            self.ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            # The first task forks every worker, here, before the pool starts its own threads.
            self._start_workers(self.ex, workers)
            return
        ctx.set_forkserver_preload(["extract.ingest"])  # imported once, inherited by every worker
        self.ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        # Starting the fork server (it imports lxml and pyarrow) and the workers takes ~0.2 s:
        # begun here, from a thread, it overlaps the hashing and cutting of the first files.
        self.warming = threading.Thread(target=self._start_workers, args=(self.ex, workers), daemon=True)
        self.warming.start()

    @staticmethod
    def _start_workers(ex: ProcessPoolExecutor, workers: int) -> None:
        for _ in range(workers):  # the pool spawns a worker per task while none is idle
            ex.submit(peak_rss_mb)

    def preload_duckdb(self) -> None:
        """The checks across pieces need DuckDB, 0.1 s to import: done in the background once the
        pieces are handed out (not earlier: the import holds the GIL the counting needs)."""
        if not self.inline and "duckdb" not in sys.modules:
            threading.Thread(target=importlib.import_module, args=("duckdb",), daemon=True).start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self.ex is not None:
            return self.ex.submit(fn, *args)
        f: Future = Future()
        try:
            f.set_result(fn(*args))
        except BaseException as e:  # surfaced by .result() like a pool would
            f.set_exception(e)
        return f

    def close(self) -> None:
        if self.warming is not None:
            self.warming.join()
        if self.ex is not None:
            self.ex.shutdown(wait=True, cancel_futures=True)

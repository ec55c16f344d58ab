"""Ingest an inbox into the lake: every file ends loaded, rejected or duplicate, exactly once.

`ingest(inbox, lake)` is what the orchestration calls; `python -m extract.ingest --inbox DIR
--lake DIR` runs it from a shell with progress.

- The inbox is scanned recursively in sorted order; path components starting with `_` or `.` are
  ignored. A file is *seen* when the ledger has its (SHA-256, path); seen files are skipped
  silently (a fast path trusts an unchanged path, size and mtime without hashing). The same bytes
  under a new path are recorded as `duplicate` and not loaded again.
- `modules={"str"}` ingests only files whose namespace (sniffed from the first bytes) names one of
  those modules. Files whose module cannot be told (not XML, unknown module) are taken by every
  caller: whichever runs first records them, and the ledger makes the others skip them.
- Work runs in worker processes: small files in batches (their parts shared, so many tiny files
  do not make many tiny parts), a big file cut into pieces at `Objektholder` boundaries
  (`split_file`) that run in parallel; duplicate and reference checks across pieces are merged here.
  A piece's `record_base` (elements before it, so record numbers match a whole-file read) is
  counted by the coordinator while another thread hashes the file (`_count_cuts`, `_scan`).
- Crash safety: see `extract.lake` (ledger part written last; orphans removed at the next start).
  An ingest holds the lake lock, so concurrent callers run one after the other.
- Workers are forked when the caller runs no other thread, else started with `forkserver` (safe
  under a threaded caller such as Dagster; see `_start_method`); a script calling `ingest` needs the
  usual `if __name__ == "__main__":` guard. Below INLINE_BELOW bytes of
  new data everything runs in the calling process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib
import itertools
import json
import math
import mmap
import multiprocessing
import os
import re
import resource
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from extract import lake as lk
from extract.crosscheck import cross_piece_findings
from extract.model import faults
from extract.model.messages import MODULES
from extract.pseudonym import pseudonym_key
from extract.reader import (
    SNIFF_BYTES,
    CrossChecks,
    Finding,
    Rejected,
    Segment,
    Sniff,
    read_segment,
    resolve,
    sniff,
)

SPLIT_ABOVE = 64 << 20  # files larger than this are cut into pieces
PIECE_BYTES = 32 << 20  # largest piece (worker memory grows with it)
PIECES_PER_WORKER = 2  # at least: room to balance (measured best of 1, 2, 3 on 128 MB)
STREAM_ABOVE = 16 << 20  # files larger than this get a batch of their own (rows not held in memory)
BATCH_FILES = 200
INLINE_BELOW = 1 << 20  # less new data than this: no worker processes
_HEADER = (
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


@dataclass
class IngestSummary:
    files_seen: int = 0  # new files looked at in this run (already-ledgered ones not counted)
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    skipped: int = 0  # already in the ledger, or another module's
    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    findings: int = 0
    seconds: float = 0.0
    rejections: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: float = 0.0  # the largest of this process and the workers it used


@dataclass
class FileTask:
    path: str  # absolute
    rel: str  # relative to the inbox, as recorded
    size: int
    mtime_ns: int
    file_id: str
    sniff: Sniff


# --- inbox ---------------------------------------------------------------------------------------


def inbox_files(inbox: Path) -> list[Path]:
    out = []
    for root, dirs, files in os.walk(inbox):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        out.extend(Path(root) / f for f in files if not f.startswith(("_", ".")))
    return sorted(out)


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SNIFF_BYTES)


def _file_hash(path: str) -> str:
    # For a cut file this runs in a thread beside the counting: reads and hashlib release the GIL,
    # and with 8 MiB blocks it has to get the GIL back from the counting thread only twice a block.
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def _count_cuts(path: str, cuts: list[int], mark: bytes) -> Iterator[tuple[int, int]]:
    """For each offset in `cuts` (ascending), as soon as the read gets there: the element starts
    before it, and where the last `mark` tag (the institution a cut falls in) before it starts
    (-1: none). Blocks end at a cut and are at most 1 MiB (counting passes stay in cache)."""
    if not mark:
        raise ValueError("a tag to look for is needed")  # an empty one would match everywhere
    starts, carry, latest, offset = 0, b"", -1, 0
    with open(path, "rb") as fh:
        for cut in cuts:
            while offset < cut and (data := fh.read(min(1 << 20, cut - offset))):
                offset += len(data)
                # Count up to the last '<' only: a '</' or '<?' is never split between blocks.
                block = carry + data
                last = len(block) if offset == cut else block.rfind(b"<")
                block, carry = (block[:last], block[last:]) if last > 0 else (block, b"")
                starts += _starts(block)
                at = _find_tag(block, mark, 0, reverse=True)
                if at >= 0:
                    latest = offset - len(carry) - len(block) + at
            yield starts, latest


class _Seen:
    def __init__(self, ledger: pa.Table):
        cols = ledger.select(["file_id", "path", "size", "mtime_ns"]).to_pydict()
        rows = list(zip(cols["file_id"], cols["path"], cols["size"], cols["mtime_ns"], strict=True))
        self.fast = {(p, s, m) for _, p, s, m in rows}
        self.pairs = {(f, p) for f, p, _, _ in rows}
        self.ids = {f for f, _, _, _ in rows}


@dataclass
class _Cut:
    """A big file cut into pieces: `ready` yields each segment once its record base is counted."""

    n: int
    ready: Iterator[Segment]


def _cut(path: str, size: int, head: bytes, pieces: int) -> _Cut | None:
    segments = split_file(path, size, head, pieces)
    if segments is None:
        return None
    oh, inst = _tags(head)  # type: ignore[misc]

    def ready() -> Iterator[Segment]:
        counts = _count_cuts(path, [s.start for s in segments], inst)
        for seg, (base, inst_start) in zip(segments, counts, strict=True):
            seg.record_base = base
            if seg.start:  # the cut falls in this institution: its header goes into the piece's prefix
                seg.prefix += _institution_header(path, inst_start, oh)
            yield seg

    return _Cut(len(segments), ready())


def _scan(inbox: Path, seen: _Seen, modules: set[str] | None, summary: IngestSummary, pieces=None):
    """Yield (FileTask, is_duplicate, _Cut or None) for every file not yet in the ledger.

    `pieces(size)`: into how many pieces to cut a file of that size (< 2: not cut). A cut file is
    hashed in a helper thread (hashlib releases the GIL) while the record bases of its first pieces
    are counted, so those can start as soon as the hash is known; the caller draws the others from
    `_Cut.ready` as it hands them out (with worker processes, they are counted while the first
    pieces run). A read error while counting thus comes after some pieces are out: their parts
    stay uncommitted, and the next run's `remove_orphans` deletes them."""
    this_run: set[str] = set()
    with ThreadPoolExecutor(max_workers=1) as hasher:
        for path in inbox_files(inbox):
            st = path.stat()
            rel = path.relative_to(inbox).as_posix()
            if (rel, st.st_size, st.st_mtime_ns) in seen.fast:
                summary.skipped += 1
                continue
            head = _read_head(path)
            sn = sniff(head)
            cut = None
            if pieces is not None and sn.problem is None and pieces(st.st_size) > 1:
                cut = _cut(str(path), st.st_size, head, pieces(st.st_size))
            if cut is None:
                file_id = _file_hash(str(path))
            else:
                hashing = hasher.submit(_file_hash, str(path))
                ahead = []
                for seg in cut.ready:
                    ahead.append(seg)
                    if hashing.done():
                        break
                cut.ready = itertools.chain(ahead, cut.ready)
                file_id = hashing.result()
            if (file_id, rel) in seen.pairs:
                summary.skipped += 1
                continue
            if modules is not None and sn.module in MODULES and sn.module not in modules:
                summary.skipped += 1
                continue
            task = FileTask(str(path), rel, st.st_size, st.st_mtime_ns, file_id, sn)
            duplicate = file_id in seen.ids or file_id in this_run
            this_run.add(file_id)
            yield task, duplicate, cut


def _pending_bytes(inbox: Path, seen: _Seen) -> int:
    total = 0
    for path in inbox_files(inbox):
        st = path.stat()
        if (path.relative_to(inbox).as_posix(), st.st_size, st.st_mtime_ns) not in seen.fast:
            total += st.st_size
    return total


def pending_files(inbox: Path, lake: Path, modules: set[str] | None = None) -> dict[Path, str]:
    """Files in the inbox the ledger has not recorded yet (what the next `ingest` would look at),
    each with its SHA-256 (computed to tell them from recorded ones; callers need not hash again)."""
    summary = IngestSummary()
    seen = _Seen(lk.read_ledger(lake))
    return {Path(t.path): t.file_id for t, _, _ in _scan(inbox, seen, modules, summary)}


# --- splitting a big file at Objektholder boundaries ---------------------------------------------

_OH = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)Objektholder[\s/>]")
_TAG = re.compile(
    rb"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[.*?\]\]>|<(/?)([^\s/>!?]+)(?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/?)>",
    re.S,
)
_DELIMS = b" \t\r\n/>"


def _starts(data: bytes) -> int:
    """Element start tags in `data` (comments and CDATA could only make this too large).

    Every '<' opens a start tag, an end tag, a PI or a comment; the rare '?' and '!' are looked
    for with a one-byte search (memchr) before the slower two-byte counts."""
    n = data.count(b"<") - data.count(b"</")
    if b"?" in data:
        n -= data.count(b"<?")
    if b"!" in data:
        n -= data.count(b"<!")
    return n


def _find_tag(mm, pattern: bytes, start: int, end: int | None = None, reverse: bool = False) -> int:
    """Position of `<tag` followed by a delimiter (not a longer name), or -1."""
    end = len(mm) if end is None else end
    while True:
        pos = mm.rfind(pattern, start, end) if reverse else mm.find(pattern, start, end)
        if pos < 0:
            return pos
        nxt = pos + len(pattern)
        if nxt < len(mm) and mm[nxt] in _DELIMS:
            return pos
        if reverse:
            end = nxt - 1
        else:
            start = pos + 1


def _after_objektholder(mm, pos: int, oh: bytes) -> bool:
    """Is the element just before `pos` an Objektholder (so `pos` is not an institution's first)?"""
    window = mm[max(0, pos - 4096) : pos]
    last = window[window.rfind(b"<") :]
    return last.startswith((b"</" + oh[1:], oh))


def split_file(path: str, size: int, head: bytes, pieces: int) -> list[Segment] | None:
    """Cut a file into about `pieces` self-contained segments, or None if it cannot be cut.

    Only a few pages around the cut points are read (mmap), so this is quick and memory stays
    flat whatever the size. Left for `_cut`, which reads up to each cut anyway to count: each
    segment's `record_base` (-1 here) and, after the file's header bytes in `prefix`, the header
    of the institution the cut falls in (`_institution_header`).
    """
    tags = _tags(head)
    if tags is None or pieces < 2:
        return None
    oh, inst = tags
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        first_oh = _find_tag(mm, oh, 0)
        first_inst = _find_tag(mm, inst, 0, first_oh) if first_oh >= 0 else -1
        if first_oh < 0 or first_inst < 0:
            return None
        # The elements open at an Objektholder: closed again at the end of every piece but the last.
        stack: list[bytes] = []
        for t in _TAG.finditer(mm[:first_oh]):
            if t.group(2) is None or t.group(3):
                continue
            if t.group(1):
                stack.pop()
            else:
                stack.append(t.group(2))
        suffix = b"".join(b"</" + name + b">" for name in reversed(stack))
        cuts = [0]
        step = size // pieces
        for k in range(1, pieces):
            pos = _find_tag(mm, oh, max(k * step, cuts[-1] + 1))
            # Never cut before an institution's first Objektholder: the piece before would end
            # with an Institusjon holding none, which the schema refuses.
            while pos >= 0 and not _after_objektholder(mm, pos, oh):
                pos = _find_tag(mm, oh, pos + 1)
            if pos < 0:
                break
            cuts.append(pos)
        if len(cuts) < 2:
            return None
        cuts.append(size)
        head_bytes = mm[:first_inst]
        segments = []
        for k in range(len(cuts) - 1):
            a, b = cuts[k], cuts[k + 1]
            last = k == len(cuts) - 2
            prefix = head_bytes if k > 0 else b""
            segments.append(
                Segment(path, a, b, prefix=prefix, suffix=b"" if last else suffix, record_base=-1)
            )
        return segments


def _tags(head: bytes) -> tuple[bytes, bytes] | None:
    """`<Objektholder` and `<Institusjon` with the file's namespace prefix, if it has any holder."""
    m = _OH.search(head)
    if m is None:
        return None
    q = m.group(1)
    return b"<" + q + b"Objektholder", b"<" + q + b"Institusjon"


def _institution_header(path: str, inst_start: int, oh: bytes) -> bytes:
    """The bytes from an Institusjon start tag to its first Objektholder (its units, equipment)."""
    out = b""
    with open(path, "rb") as fh:
        fh.seek(inst_start)
        while block := fh.read(1 << 20):
            out += block
            pos = _find_tag(out, oh, 0)  # (a tag at the very end waits for the next block)
            if pos >= 0:
                return out[:pos]
    return out


# --- work done in the worker processes ------------------------------------------------------------


def _ledger_row(task: FileTask, **kw) -> dict:
    header = kw.pop("header", None) or {}
    return {
        "file_id": task.file_id,
        "size": task.size,
        "path": task.rel,
        "mtime_ns": task.mtime_ns,
        "module": kw.pop("module", task.sniff.module),
        "version": kw.pop("version", task.sniff.version),
        "envelope": kw.pop("envelope", task.sniff.envelope),
        "encoding": kw.pop("encoding", task.sniff.encoding),
        "message_type": header.get("meldingstype"),
        "period_from": header.get("fraDatoPeriode"),
        "period_to": header.get("tilDatoPeriode"),
        "extraction_date": header.get("uttakDato"),
        "lopenr": header.get("lopenr"),
        **kw,
    }


def _findings_batch(task: FileTask, module: str, findings: list[Finding]) -> pa.RecordBatch:
    cols = list(zip(*findings, strict=True)) if findings else [[]] * 5
    n = len(findings)
    return pa.RecordBatch.from_arrays(
        [
            pa.repeat(pa.scalar(task.file_id, pa.string()), n),
            pa.repeat(pa.scalar(module, pa.string()), n),
            pa.array(cols[0], pa.string()),
            pa.array(cols[1], pa.int64()),
            pa.array(cols[2], pa.string()),
            pa.array(cols[3], pa.string()),
            pa.array(cols[4], pa.string()),
        ],
        schema=lk.FINDINGS_SCHEMA,
    )


def _rejected_row(task: FileTask, r: Rejected, seconds: float, **kw) -> dict:
    return _ledger_row(
        task, status=faults.REJECTED, reason_class=r.reason_class, reason=r.reason, seconds=seconds, **kw
    )


def run_batch(
    lake: str, batch_id: str, tasks: list[FileTask], key: bytes, validate: bool
) -> tuple[list[dict], float]:
    """Small files into one set of parts; returns their ledger rows (not yet written) and peak RSS."""
    writer = lk.PartWriter(Path(lake), batch_id)
    stream = len(tasks) == 1
    rows_out = []
    for task in tasks:
        t0 = time.perf_counter()
        held: list[tuple[str, pa.RecordBatch]] = []
        module = task.sniff.module  # type: ignore[union-attr]

        def sink(table, batch, held=held, module=module):
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
        except Rejected as r:
            if stream:
                writer.abort()
            rows_out.append(_rejected_row(task, r, time.perf_counter() - t0))
            continue
        for table, batch in held:
            writer.write(res.module, table, batch)
        findings = res.findings + resolve(res.cross)
        writer.write_findings(_findings_batch(task, res.module, findings))
        rows_out.append(_loaded_row(task, res, findings, time.perf_counter() - t0))
    writer.commit()
    return rows_out, _peak_rss_mb()


def _peak_rss_mb() -> float:
    # A worker runs task after task: hand Arrow's freed memory back now, not at the pool's leisure.
    pa.default_memory_pool().release_unused()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _loaded_row(task: FileTask, res, findings: list, seconds: float, rows=None) -> dict:
    rows = rows if rows is not None else res.rows
    return _ledger_row(
        task,
        module=res.module,
        version=res.version,
        envelope=res.envelope,
        encoding=res.encoding,
        header=res.header,
        institutions=",".join(res.institutions),
        status=faults.LOADED,
        rows=json.dumps(rows, sort_keys=True),
        findings=len(findings),
        seconds=seconds,
    )


@dataclass
class PieceResult:
    index: int
    seconds: float
    rejected: Rejected | None = None
    result: object = None  # SegmentResult; its findings are in the piece's parts, counted here
    n_findings: int = 0
    rss_mb: float = 0.0


def run_piece(
    lake: str, name: str, task: FileTask, seg: Segment, index: int, key: bytes, validate: bool
) -> PieceResult:
    t0 = time.perf_counter()
    writer = lk.PartWriter(Path(lake), name)
    module = task.sniff.module  # type: ignore[union-attr]
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
        return PieceResult(index, time.perf_counter() - t0, rejected=r, rss_mb=_peak_rss_mb())
    writer.write_findings(_findings_batch(task, module, res.findings))
    writer.commit()
    n_findings = len(res.findings)
    res.findings, res.cross = [], CrossChecks()  # only counts travel back; memory stays flat
    return PieceResult(
        index,
        time.perf_counter() - t0,
        result=res,
        n_findings=n_findings,
        rss_mb=_peak_rss_mb(),
    )


# --- the coordinator ---------------------------------------------------------------------------------


def _start_method() -> str:
    """`fork` where it is safe: no other Python thread (whose locks a child would inherit held)
    and no DuckDB loaded (its native threads); Arrow's pools re-arm themselves in a forked child.
    The workers then start at once with everything imported (measured 6 % faster on the
    benchmark's two-process run). Else `forkserver`, safe under a threaded caller such as Dagster."""
    if threading.active_count() == 1 and "duckdb" not in sys.modules:
        return "fork"
    return "forkserver"


class _Pool:
    """A process pool, or inline execution for one worker (tests, debugging)."""

    def __init__(self, workers: int):
        self.inline = workers <= 1
        self.ex = None
        self.method: str | None = None
        self.warming: threading.Thread | None = None
        if self.inline:
            return
        self.method = _start_method()
        ctx = multiprocessing.get_context(self.method)
        if self.method == "fork":
            self.ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            # The first task forks every worker, here, before the pool starts its own threads.
            self._start_workers(workers)
            return
        ctx.set_forkserver_preload(["extract.ingest"])  # imported once, inherited by every worker
        self.ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
        # Starting the fork server (it imports lxml and pyarrow) and the workers takes ~0.2 s:
        # begun here, from a thread, it overlaps the hashing and cutting of the first files.
        self.warming = threading.Thread(target=self._start_workers, args=(workers,), daemon=True)
        self.warming.start()

    def _start_workers(self, workers: int) -> None:
        for _ in range(workers):  # the pool spawns a worker per task while none is idle
            self.ex.submit(_peak_rss_mb)  # type: ignore[union-attr]

    def preload_duckdb(self) -> None:
        """The checks across pieces need DuckDB, 0.1 s to import: done in the background once the
        pieces are handed out (not earlier: the import holds the GIL the counting needs)."""
        if not self.inline and "duckdb" not in sys.modules:
            threading.Thread(target=importlib.import_module, args=("duckdb",), daemon=True).start()

    def submit(self, fn, *args) -> Future:
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


@dataclass
class _BigFile:
    task: FileTask
    batch_id: str
    pieces: int
    done: dict[int, PieceResult] = field(default_factory=dict)


def ingest(
    inbox: Path,
    lake: Path,
    *,
    workers: int | None = None,
    progress: bool = False,
    modules: set[str] | None = None,
    validate: bool = True,
) -> IngestSummary:
    """Load every new file of `inbox` into `lake` (see the module docstring)."""
    t_start = time.perf_counter()
    inbox, lake = Path(inbox), Path(lake)
    workers = workers or os.cpu_count() or 1
    summary = IngestSummary()
    key = pseudonym_key()  # read (and warned about) once, here; workers get it as an argument
    with lk.lake_lock(lake):
        lk.init_lake(lake)
        lk.remove_orphans(lake)
        seen = _Seen(lk.read_ledger(lake))
        if _pending_bytes(inbox, seen) < INLINE_BELOW:
            workers = 1  # starting worker processes would cost more than the work
        run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        pool = _Pool(workers)
        futures: dict[Future, tuple] = {}
        big: dict[str, _BigFile] = {}
        duplicates: list[dict] = []
        counter = iter(range(1, 1 << 30))
        group: list[FileTask] = []
        group_bytes = 0

        def batch_id() -> str:
            return f"b{run_id}-{next(counter):05d}"

        def submit_group() -> None:
            nonlocal group, group_bytes
            if group:
                bid = batch_id()
                futures[pool.submit(run_batch, str(lake), bid, group, key, validate)] = ("batch", bid)
            group, group_bytes = [], 0

        def collect(block: bool) -> None:
            if not futures:
                return
            done, _ = wait(list(futures), timeout=None if block else 0, return_when=FIRST_COMPLETED)
            for f in done:
                kind, ref = futures.pop(f)
                if kind == "batch":
                    rows, rss = f.result()
                    summary.peak_rss_mb = max(summary.peak_rss_mb, rss)
                    lk.write_ledger(lake, ref, _stamp(rows))
                    _count(summary, rows)
                else:
                    bf = big[ref]
                    piece: PieceResult = f.result()
                    summary.peak_rss_mb = max(summary.peak_rss_mb, piece.rss_mb)
                    bf.done[piece.index] = piece
                    if len(bf.done) == bf.pieces:
                        rows = _finish_big(lake, bf)
                        lk.write_ledger(lake, bf.batch_id, _stamp(rows))
                        _count(summary, rows)
                        del big[ref]
                if progress:
                    print(
                        f"\r{summary.loaded} loaded, {summary.rejected} rejected, "
                        f"{summary.duplicates} duplicate",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )

        try:

            def pieces(size: int) -> int:
                if size <= SPLIT_ABOVE:
                    return 1
                n = max(math.ceil(size / PIECE_BYTES), PIECES_PER_WORKER * workers)
                return math.ceil(n / workers) * workers

            for task, duplicate, cut in _scan(inbox, seen, modules, summary, pieces):
                summary.files_seen += 1
                if duplicate:
                    duplicates.append(_ledger_row(task, status=faults.DUPLICATE, seconds=0.0))
                    continue
                if cut is not None:
                    bid = batch_id()
                    big[bid] = _BigFile(task, bid, cut.n)
                    for i, seg in enumerate(cut.ready):
                        fut = pool.submit(run_piece, str(lake), f"{bid}.{i:04d}", task, seg, i, key, validate)
                        futures[fut] = ("piece", bid)
                    pool.preload_duckdb()
                elif task.size > STREAM_ABOVE:
                    bid = batch_id()
                    futures[pool.submit(run_batch, str(lake), bid, [task], key, validate)] = ("batch", bid)
                else:
                    group.append(task)
                    group_bytes += task.size
                    if group_bytes >= STREAM_ABOVE or len(group) >= BATCH_FILES:
                        submit_group()
                collect(block=False)
            submit_group()
            while futures:
                collect(block=True)
            if duplicates:
                # Same bytes, same header: copied from the original's row (this run's or earlier).
                first = {
                    r["file_id"]: r
                    for r in lk.read_ledger(lake).to_pylist()
                    if r["status"] != faults.DUPLICATE
                }
                duplicates = [
                    {**r, **{k: first.get(r["file_id"], {}).get(k) for k in _HEADER}} for r in duplicates
                ]
                lk.write_ledger(lake, batch_id(), _stamp(duplicates))
                _count(summary, duplicates)
        finally:
            pool.close()
    summary.seconds = time.perf_counter() - t_start
    summary.peak_rss_mb = max(summary.peak_rss_mb, _peak_rss_mb())
    if progress:
        print(file=sys.stderr)
    return summary


def _finish_big(lake: Path, bf: _BigFile) -> list[dict]:
    pieces = [bf.done[i] for i in range(bf.pieces)]
    seconds = sum(p.seconds for p in pieces)
    failed = next((p for p in pieces if p.rejected is not None), None)
    if failed is not None:
        lk.remove_parts(lake, bf.batch_id)
        return [_rejected_row(bf.task, failed.rejected, seconds)]  # type: ignore[arg-type]
    first = pieces[0].result
    module = first.module  # type: ignore[attr-defined]
    across = cross_piece_findings(lake, module, bf.batch_id)
    lk.write_findings_part(lake, f"{bf.batch_id}.x", across)
    rows: Counter[str] = Counter()
    institutions: list[str] = []
    n_findings = across.num_rows
    for p in pieces:
        rows.update(p.result.rows)  # type: ignore[attr-defined]
        n_findings += p.n_findings
        institutions += [i for i in p.result.institutions if i not in institutions]  # type: ignore[attr-defined]
    first.institutions = institutions  # type: ignore[attr-defined]
    return [_loaded_row(bf.task, first, [None] * n_findings, seconds, rows=dict(rows))]


def _stamp(rows: list[dict]) -> list[dict]:
    now = dt.datetime.now(dt.UTC)
    return [{**r, "ingested_at": now} for r in rows]


def _count(summary: IngestSummary, rows: list[dict]) -> None:
    for r in rows:
        status = r["status"]
        if status == faults.LOADED:
            summary.loaded += 1
            summary.findings += r.get("findings") or 0
            for table, n in json.loads(r["rows"]).items():
                key = (r["module"], table)
                summary.rows[key] = summary.rows.get(key, 0) + n
        elif status == faults.REJECTED:
            summary.rejected += 1
            summary.rejections[r["reason_class"]] = summary.rejections.get(r["reason_class"], 0) + 1
        else:
            summary.duplicates += 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m extract.ingest", description="Ingest an inbox into the lake.")
    p.add_argument("--inbox", type=Path, required=True)
    p.add_argument("--lake", type=Path, required=True)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--module", action="append", choices=MODULES, help="only these modules (repeatable)")
    p.add_argument("--no-validate", action="store_true", help="skip XSD validation (debugging only)")
    args = p.parse_args(argv)
    s = ingest(
        args.inbox,
        args.lake,
        workers=args.workers,
        progress=True,
        modules=set(args.module) if args.module else None,
        validate=not args.no_validate,
    )
    print(
        f"{s.files_seen} new files: {s.loaded} loaded, {s.rejected} rejected {s.rejections or ''}, "
        f"{s.duplicates} duplicate; {s.skipped} skipped; {sum(s.rows.values())} rows, "
        f"{s.findings} findings in {s.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    # Run the imported module's main, so worker processes pickle `extract.ingest.*`, not `__main__.*`.
    from extract.ingest import main as _main

    raise SystemExit(_main())

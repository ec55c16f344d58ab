"""The inbox side of an ingest: which files are there, which the ledger has not seen, their
SHA-256 (the one file-hash helper of the project's extractor), and the scan that turns each new
file into a `FileTask` (cut into segments when it is big, see `extract.split`).

Only regular files inside the inbox are read: a symbolic link is followed only when it stays in the
inbox; dangling or looping links, links out of the inbox, FIFOs, sockets, devices and unreadable
files are *set aside* with their reason (`Scan.set_aside`, no ledger row: looked at again next
time) and never opened (a FIFO would block, `/dev/zero` never ends). A file is read only once it
is stable: its size and modification time are the same after it was hashed as before, and, given
a settle interval, it was last modified at least that long ago. The hash covers exactly the bytes
the parser reads (the first `size` bytes, `size` from the scan's stat)."""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import stat
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from extract import lake as lk
from extract import split
from extract.model import faults
from extract.model.messages import MODULES
from extract.sniff import SNIFF_BYTES, Sniff, sniff

_HASH_BLOCK = 8 << 20


@dataclass
class FileTask:
    path: str  # absolute
    rel: str  # relative to the inbox, as recorded
    size: int
    mtime_ns: int
    file_id: str
    sniff: Sniff


def inbox_files(inbox: Path) -> list[Path]:
    """Every entry of the inbox that is not a folder, recursively, sorted; path components starting
    with `_` or `.` are ignored (write uploads under such a name, then rename them). Symbolic links
    to folders are not followed; what each entry is, is `examine`'s business."""
    out: list[Path] = []
    for root, dirs, files in os.walk(inbox):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        out.extend(Path(root) / f for f in files if not f.startswith(("_", ".")))
    return sorted(out)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISDIR, "folder"),
    ):
        if test(mode):
            return name
    return "special file"


def _unreadable(e: OSError) -> str:
    if isinstance(e, FileNotFoundError):
        return faults.SKIP_VANISHED
    return f"{faults.SKIP_UNREADABLE} ({e.strerror or type(e).__name__})"


def examine(path: Path, inbox_real: str) -> tuple[os.stat_result | None, str | None]:
    """(stat, None) for a regular file inside the inbox (`inbox_real`: its resolved path), else
    (None, why it is set aside). Nothing is opened."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            try:
                real = os.path.realpath(path, strict=True)
            except OSError as e:
                if e.errno == errno.ELOOP:
                    return None, faults.SKIP_LINK_LOOP
                if isinstance(e, FileNotFoundError):
                    return None, faults.SKIP_DANGLING_LINK
                raise
            if os.path.commonpath([real, inbox_real]) != inbox_real:
                return None, faults.SKIP_LINK_OUTSIDE
            st = os.stat(real)
    except OSError as e:
        return None, _unreadable(e)
    if not stat.S_ISREG(st.st_mode):
        return None, f"{faults.SKIP_NOT_REGULAR} ({_kind(st.st_mode)})"
    return st, None


def open_regular(path: str) -> BinaryIO:
    """Open a file for reading without ever blocking: refused unless it is a regular file (it may
    have been swapped for a FIFO since it was examined)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_hash(path: str, size: int | None = None) -> str:
    """SHA-256 hex of a file (of its first `size` bytes, the bytes a parse of that size reads): its
    id in the ledger and the lake."""
    # For a cut file this runs in a thread beside the counting: reads and hashlib release the GIL,
    # and with 8 MiB blocks it has to get the GIL back from the counting thread only twice a block.
    h = hashlib.sha256()
    left = size if size is not None else -1
    with open_regular(path) as fh:
        while left != 0 and (block := fh.read(_HASH_BLOCK if left < 0 else min(_HASH_BLOCK, left))):
            h.update(block)
            left = left - len(block) if left > 0 else left
    return h.hexdigest()


def _read_head(path: Path) -> bytes:
    with open_regular(str(path)) as fh:
        return fh.read(SNIFF_BYTES)


def unchanged(path: str, size: int, mtime_ns: int) -> bool:
    """Has the file still the size and modification time it was scanned with?"""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == (size, mtime_ns)


@dataclass
class Listing:
    """What a scan saw: regular files (relative path, size, mtime) and entries set aside (reason)."""

    files: list[tuple[str, int, int]] = field(default_factory=list)
    set_aside: dict[str, str] = field(default_factory=dict)


class Scan:
    """Iterates (FileTask, is_duplicate, Cut or None) for every inbox file not yet in the ledger;
    `skipped` counts the others (already recorded, or of a module not asked for); `listing` holds
    every regular file seen and every entry set aside, with its reason; `relisted` the recorded
    files seen again under a new mtime (same bytes, same path: hashed to tell), for the caller to
    remember (`extract.lake.record_relisted`) so that they are not hashed again.

    `is_duplicate`: the same bytes as a file the ledger records as loaded, or as an earlier file of
    this scan (whose outcome the caller settles once it is known). `settle`: seconds since its last
    modification before a file is read (0: only the check that it did not change while hashed).

    `pieces(size)`: into how many pieces to cut a file of that size (< 2: not cut). A cut file is
    hashed in a helper thread (hashlib releases the GIL) while the record bases of its first pieces
    are counted, so those can start as soon as the hash is known; the caller draws the others from
    `Cut.ready` as it hands them out (with worker processes, they are counted while the first
    pieces run). A read error while counting thus comes after some pieces are out: their parts
    stay uncommitted, and the next run's `remove_orphans` deletes them."""

    def __init__(
        self,
        inbox: Path,
        seen: lk.SeenFiles,
        modules: set[str] | None = None,
        pieces: Callable[[int], int] | None = None,
        settle: float = 0.0,
    ):
        self.inbox, self.seen, self.modules, self.pieces, self.settle = inbox, seen, modules, pieces, settle
        self.skipped = 0
        self.listing = Listing()
        self.relisted: list[tuple[str, str, int, int]] = []

    def __iter__(self) -> Iterator[tuple[FileTask, bool, split.Cut | None]]:
        this_run: set[str] = set()
        seen, pieces = self.seen, self.pieces
        inbox_real = os.path.realpath(self.inbox)
        set_aside = self.listing.set_aside
        with ThreadPoolExecutor(max_workers=1) as hasher:
            for path in inbox_files(self.inbox):
                rel = path.relative_to(self.inbox).as_posix()
                st, why = examine(path, inbox_real)
                if st is None:
                    set_aside[rel] = why or faults.SKIP_NOT_REGULAR
                    continue
                size, mtime_ns = st.st_size, st.st_mtime_ns
                self.listing.files.append((rel, size, mtime_ns))
                if (rel, size, mtime_ns) in seen.fast:
                    self.skipped += 1
                    continue
                if self.settle and time.time() - st.st_mtime < self.settle:
                    set_aside[rel] = faults.SKIP_UNSETTLED
                    continue
                try:
                    head = _read_head(path)
                    sn = sniff(head)
                    cut = None
                    if pieces is not None and sn.problem is None and pieces(size) > 1:
                        cut = split.cut(str(path), size, head, pieces(size))
                    if cut is None:
                        file_id = file_hash(str(path), size)
                    else:
                        hashing = hasher.submit(file_hash, str(path), size)
                        ahead = []
                        for seg in cut.ready:
                            ahead.append(seg)
                            if hashing.done():
                                break
                        cut.ready = itertools.chain(ahead, cut.ready)
                        file_id = hashing.result()
                except OSError as e:
                    set_aside[rel] = _unreadable(e)
                    continue
                if not unchanged(str(path), size, mtime_ns):
                    set_aside[rel] = faults.SKIP_CHANGING
                    continue
                if (file_id, rel) in seen.pairs:
                    self.relisted.append((file_id, rel, size, mtime_ns))
                    self.skipped += 1
                    continue
                # Files whose module cannot be told (not XML, unknown module) are taken by every caller.
                if self.modules is not None and sn.module in MODULES and sn.module not in self.modules:
                    self.skipped += 1
                    continue
                task = FileTask(str(path), rel, size, mtime_ns, file_id, sn)
                duplicate = file_id in seen.loaded or file_id in this_run
                this_run.add(file_id)
                yield task, duplicate, cut


def pending_bytes(inbox: Path, seen: lk.SeenFiles) -> int:
    """Bytes of the inbox files whose path, size and mtime the ledger does not know (no hashing)."""
    total = 0
    inbox_real = os.path.realpath(inbox)
    for path in inbox_files(inbox):
        st, _ = examine(path, inbox_real)
        rel = path.relative_to(inbox).as_posix()
        if st is not None and (rel, st.st_size, st.st_mtime_ns) not in seen.fast:
            total += st.st_size
    return total


def pending_files(inbox: Path, lake: Path, modules: set[str] | None = None) -> dict[Path, str]:
    """Files in the inbox the ledger has not recorded yet (what the next `ingest` would look at),
    each with its SHA-256 (computed to tell them from recorded ones; callers need not hash again).
    Recorded files it finds under a new mtime are remembered, so the next look does not hash them."""
    scan = Scan(inbox, lk.seen_files(lake), modules)
    pending = {Path(t.path): t.file_id for t, _, _ in scan}
    lk.record_relisted(lake, scan.relisted)
    return pending

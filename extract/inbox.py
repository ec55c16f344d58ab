"""The inbox side of an ingest: which files are there, which the ledger has not seen, their
SHA-256 (the one file-hash helper of the project's extractor), and the scan that turns each new
file into a `FileTask` (cut into segments when it is big, see `extract.split`)."""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from extract import lake as lk
from extract import split
from extract.model.messages import MODULES
from extract.sniff import SNIFF_BYTES, Sniff, sniff


@dataclass
class FileTask:
    path: str  # absolute
    rel: str  # relative to the inbox, as recorded
    size: int
    mtime_ns: int
    file_id: str
    sniff: Sniff


def inbox_files(inbox: Path) -> list[Path]:
    """Every file of the inbox, recursively, sorted; path components starting with `_` or `.` are ignored."""
    out: list[Path] = []
    for root, dirs, files in os.walk(inbox):
        dirs[:] = sorted(d for d in dirs if not d.startswith(("_", ".")))
        out.extend(Path(root) / f for f in files if not f.startswith(("_", ".")))
    return sorted(out)


def file_hash(path: str) -> str:
    """SHA-256 hex of a file: its id in the ledger and the lake."""
    # For a cut file this runs in a thread beside the counting: reads and hashlib release the GIL,
    # and with 8 MiB blocks it has to get the GIL back from the counting thread only twice a block.
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            h.update(block)
    return h.hexdigest()


def _read_head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(SNIFF_BYTES)


class Scan:
    """Iterates (FileTask, is_duplicate, Cut or None) for every inbox file not yet in the ledger;
    `skipped` counts the others (already recorded, or of a module not asked for).

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
    ):
        self.inbox, self.seen, self.modules, self.pieces = inbox, seen, modules, pieces
        self.skipped = 0

    def __iter__(self) -> Iterator[tuple[FileTask, bool, split.Cut | None]]:
        this_run: set[str] = set()
        seen, pieces = self.seen, self.pieces
        with ThreadPoolExecutor(max_workers=1) as hasher:
            for path in inbox_files(self.inbox):
                st = path.stat()
                rel = path.relative_to(self.inbox).as_posix()
                if (rel, st.st_size, st.st_mtime_ns) in seen.fast:
                    self.skipped += 1
                    continue
                head = _read_head(path)
                sn = sniff(head)
                cut = None
                if pieces is not None and sn.problem is None and pieces(st.st_size) > 1:
                    cut = split.cut(str(path), st.st_size, head, pieces(st.st_size))
                if cut is None:
                    file_id = file_hash(str(path))
                else:
                    hashing = hasher.submit(file_hash, str(path))
                    ahead = []
                    for seg in cut.ready:
                        ahead.append(seg)
                        if hashing.done():
                            break
                    cut.ready = itertools.chain(ahead, cut.ready)
                    file_id = hashing.result()
                if (file_id, rel) in seen.pairs:
                    self.skipped += 1
                    continue
                # Files whose module cannot be told (not XML, unknown module) are taken by every caller.
                if self.modules is not None and sn.module in MODULES and sn.module not in self.modules:
                    self.skipped += 1
                    continue
                task = FileTask(str(path), rel, st.st_size, st.st_mtime_ns, file_id, sn)
                duplicate = file_id in seen.ids or file_id in this_run
                this_run.add(file_id)
                yield task, duplicate, cut


def pending_bytes(inbox: Path, seen: lk.SeenFiles) -> int:
    """Bytes of the inbox files whose path, size and mtime the ledger does not know (no hashing)."""
    total = 0
    for path in inbox_files(inbox):
        st = path.stat()
        if (path.relative_to(inbox).as_posix(), st.st_size, st.st_mtime_ns) not in seen.fast:
            total += st.st_size
    return total


def pending_files(inbox: Path, lake: Path, modules: set[str] | None = None) -> dict[Path, str]:
    """Files in the inbox the ledger has not recorded yet (what the next `ingest` would look at),
    each with its SHA-256 (computed to tell them from recorded ones; callers need not hash again)."""
    return {Path(t.path): t.file_id for t, _, _ in Scan(inbox, lk.seen_files(lake), modules)}

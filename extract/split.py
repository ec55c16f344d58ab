"""Cutting a big message file into self-contained segments at `Objektholder` boundaries.

`split_file` finds the cut points (reading only a few pages around them, via mmap) and builds the
`extract.reader.Segment`s; `cut` adds what needs a read up to each cut: the segment's
`record_base` (element starts before it, so record numbers match a whole-file read) and the header
of the institution the cut falls in. That read (`count_cuts`) runs lazily, as the caller draws
segments, so the first pieces can start while later cuts are still being counted.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterator
from dataclasses import dataclass

from extract.reader import Segment

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
    flat whatever the size. Left for `cut`, which reads up to each cut anyway to count: each
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


def count_cuts(path: str, cuts: list[int], mark: bytes) -> Iterator[tuple[int, int]]:
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


@dataclass
class Cut:
    """A big file cut into pieces: `ready` yields each segment once its record base is counted."""

    n: int
    ready: Iterator[Segment]


def cut(path: str, size: int, head: bytes, pieces: int) -> Cut | None:
    segments = split_file(path, size, head, pieces)
    if segments is None:
        return None
    tags = _tags(head)
    assert tags is not None  # split_file cut it
    oh, inst = tags

    def ready() -> Iterator[Segment]:
        counts = count_cuts(path, [s.start for s in segments], inst)
        for seg, (base, inst_start) in zip(segments, counts, strict=True):
            seg.record_base = base
            if seg.start:  # the cut falls in this institution: its header goes into the piece's prefix
                seg.prefix += _institution_header(path, inst_start, oh)
            yield seg

    return Cut(len(segments), ready())

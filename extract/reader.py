"""Read one NPR message file, or one segment of it, in a single streaming pass: validate, flatten, check.

- An lxml parser with a *target* (`extract.flatten.Flattener`) gets a start callback per element;
  no tree is built. This flattening is the fastest of the ways measured (iterparse and navigate,
  whole tree, pull parser with element proxies are all slower); figures: benchmarks/extract.py.
- Validation runs in the same pass: given `schema=`, lxml plugs libxml2's streaming XSD validator
  into the target parser's SAX callbacks (no tree, all in C). Measured on the benchmark's 128 MB
  file: it adds about 0.4 parse floors, where a second validating parser added 1.1-1.4. Its errors
  carry no line, so a rejected file gets a second, rows-free pass that names the line
  (`_locate_schema_error`).
- The mapping element -> table, carried keys, ordinals and version spellings all come from
  `extract.model.plan`; nothing here is per version.
- Hardened: no DTD, no entities, no network, libxml2's size limits on (no `huge_tree`); any
  DOCTYPE is refused before parsing (`extract.sniff`), so is a stretch of over 1 MB without markup
  (a gigantic attribute); limit errors are `unsafe_xml` rejections. Schema errors are reported
  without the value they quote (it may be personal), and no reason carries a run of 11 digits.
- Record-level checks (`extract.checks.RecordRules`) become findings; rows are kept.

A big file can be read as several *segments* (`Segment`): a byte range starting at an
`Objektholder`, wrapped in the file's own header bytes (rows suppressed) and closing tags, so
that each segment is a complete, schema-checkable document (`extract.split` cuts them).
`record_no` is the element's ordinal in the whole file (counting every start tag, envelope
included), so segments and a whole-file read number the same element alike. Cross-record checks
that span segments (duplicates, references) are returned as `CrossChecks` and merged by the
caller (`extract.ingest`, `extract.crosscheck`).
"""

from __future__ import annotations

import ast
import contextlib
import gc
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree

from extract.checks import CrossChecks, RecordRules
from extract.flatten import Flattener, Sink
from extract.model import faults
from extract.model.faults import Finding, Rejected
from extract.model.messages import MODULES, VERSIONS
from extract.model.plan import plan
from extract.model.xsd import load_schema
from extract.personal import scrub_findings
from extract.sniff import Sniff

BLOCK_BYTES = 1 << 16  # libxml2 validates markedly faster in small chunks
MAX_GAP_BYTES = 1 << 20  # longest stretch without markup accepted (an attribute value, in practice)


@dataclass
class SegmentResult:
    module: str
    version: str
    envelope: str
    encoding: str
    header: dict[str, str | None]
    institutions: list[str]
    rows: dict[str, int]
    findings: list[Finding]
    cross: CrossChecks


@dataclass
class Segment:
    """Part of a file: `prefix` (header bytes, rows suppressed), a byte range, `suffix`."""

    path: str
    start: int
    end: int
    prefix: bytes = b""
    suffix: bytes = b""
    record_base: int = 0  # element starts in the file before `start`

    def line_offset(self) -> int:
        """File line = parser line + this. Counted only when a rejection names a line."""
        if not self.start:
            return 0
        newlines = 0
        with open(self.path, "rb") as fh:
            left = self.start
            while left > 0 and (block := fh.read(min(8 << 20, left))):
                newlines += block.count(b"\n")
                left -= len(block)
        return newlines - self.prefix.count(b"\n")


_UNSAFE_WORDS = ("huge", "too long", "excessive depth", "amplification", "entity", "limit")
# What lxml raises when a target parser with a schema fails: no error log, the message wrapped as
# "line N: b'<message>'" (its repr of the libxml2 bytes) and " (line N)" added by str().
_WRAPPED = re.compile(r"^line (\d+): b(['\"])(.*)\2$", re.S)


def _unwrap(err: etree.XMLSyntaxError) -> tuple[str, int]:
    """The message and line of an error that came without an error log entry."""
    first = str(err.args[0]) if err.args else str(err)
    m = _WRAPPED.match(first)
    if m is None:
        return first, getattr(err, "lineno", 0) or 0
    try:
        text = ast.literal_eval(f"b{m.group(2)}{m.group(3)}{m.group(2)}").decode("utf-8", "replace")
    except (ValueError, SyntaxError):
        text = m.group(3)
    return text, int(m.group(1))


def classify(err: etree.XMLSyntaxError, line_offset: int = 0) -> Rejected:
    """A libxml2 error (syntax, encoding, limits) as a rejection with its line in the file."""
    # The log also holds what the validator reported before the parser gave up: not the cause.
    parse_errors = [e for e in err.error_log if e.domain_name != "SCHEMASV"] if err.error_log else []
    entry = parse_errors[-1] if parse_errors else None
    if entry is not None:
        msg, type_name, line = entry.message.strip(), entry.type_name, entry.line or 0
    else:
        msg, line = _unwrap(err)
        msg, type_name = msg.strip(), ""
    if "ENCODING" in type_name or "encoding" in msg.lower() or "not proper UTF-8" in msg:
        cls = faults.ENCODING_ERROR
    elif any(w in msg.lower() for w in _UNSAFE_WORDS):
        cls = faults.UNSAFE_XML
    else:
        cls = faults.NOT_WELL_FORMED
    return Rejected(cls, _reason(msg, line + line_offset if line else None))


# The value a schema error quotes (an attribute value or element text, possibly personal, possibly
# holding quotes itself): everything up to the words that follow it is left out.
_QUOTED_VALUES = (
    (re.compile(r"The value '.*' (is|has) ", re.S), r"The value (not shown) \1 "),
    (re.compile(r"^(.*?: )'.*' is not a valid value", re.S), r"\1(value not shown) is not a valid value"),
)


def _reason(msg: str, line: int | None) -> str:
    """A reason that names what and where, never a value (`Rejected` also redacts digit runs)."""
    for pattern, replacement in _QUOTED_VALUES:
        msg = pattern.sub(replacement, msg)
    return f"{msg} (line {line})" if line else msg


def _blocks(seg: Segment) -> Iterator[bytes]:
    if seg.prefix:
        yield seg.prefix
    with open(seg.path, "rb") as fh:
        fh.seek(seg.start)
        left = seg.end - seg.start
        while left > 0:
            b = fh.read(min(BLOCK_BYTES, left))
            if not b:
                break
            left -= len(b)
            yield b
    if seg.suffix:
        yield seg.suffix


_MOJIBAKE = re.compile(rb"[\xc3\xc2][\x80-\xbf]")


def read_segment(
    seg: Segment,
    sn: Sniff,
    *,
    file_id: str,
    key: bytes,
    sink: Sink,
    validate: bool = True,
    piece: int | None = None,
) -> SegmentResult:
    """Parse one segment (or a whole file); rows go to `sink`; raises `Rejected`.

    `piece`: the segment's number when the file is read in pieces (its header rows are then
    suppressed after the first piece, and references are left to `extract.crosscheck`).
    """
    if sn.problem is not None:
        raise sn.problem
    if sn.module is None:
        raise Rejected(faults.UNKNOWN_MODULE, "no NPR module namespace (http://www.npr.no/xmlstds/...) found")
    if sn.module not in MODULES:
        raise Rejected(faults.UNKNOWN_MODULE, f"module {sn.module!r} is not one of {', '.join(MODULES)}")
    if sn.version not in VERSIONS:
        raise Rejected(
            faults.UNKNOWN_VERSION, f"version {sn.version} is not accepted ({', '.join(VERSIONS)})"
        )
    pl = plan(sn.module, sn.version)
    rules = RecordRules(suppress=bool(piece), defer_refs=piece is not None)
    fl = Flattener(pl, file_id, key, sink, bool(piece), seg.record_base, rules)
    latin1 = sn.encoding == "ISO-8859-1"
    schema = load_schema(pl.module, pl.version) if validate else None
    # With `schema=`, lxml plugs libxml2's streaming XSD validator into the SAX callbacks of the
    # target parser: validated in C in the same pass, no tree. Its errors do not raise; they are
    # collected in `feed_error_log`, looked at after every block.
    target = _parser(fl, schema)
    fed = 0
    run = 0  # bytes since the last '<'
    # Rows are acyclic tuples; the cyclic collector would only walk them over and over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            for block in _blocks(seg):
                if latin1:
                    _check_latin1(block)
                run = _check_markup_gap(block, run)
                target.feed(block)
                fed += 1
                if schema is not None and _schema_errors(target):
                    raise _locate_schema_error(seg, schema, fed)
            target.close()
            if schema is not None and _schema_errors(target):
                raise _locate_schema_error(seg, schema, fed)
        except etree.XMLSyntaxError as err:
            if fl.error is not None:
                raise fl.error from None
            raise classify(err, seg.line_offset()) from None
        if fl.error is not None:
            raise fl.error
        if fl.lineage is None:
            raise Rejected(faults.UNKNOWN_MODULE, f"no Melding of module {pl.module} found")
        return SegmentResult(
            module=pl.module,
            version=pl.version,
            envelope=fl.envelope or "",
            encoding=sn.encoding or "",
            header=fl.header,
            institutions=rules.institutions,
            rows=fl.counts,
            findings=scrub_findings(rules.findings, key),
            cross=rules.cross,
        )
    finally:
        fl.release()
        if gc_was_enabled:
            gc.enable()


def _parser(target: Any, schema: etree.XMLSchema | None) -> etree.XMLParser:
    return etree.XMLParser(
        target=target, schema=schema, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )


def _schema_errors(parser: etree.XMLParser) -> list:
    log = parser.feed_error_log  # a copy: empty (cheap) unless something was reported
    return list(log.filter_from_errors()) if log else []


class _NoRows:
    """Target of the locating pass: validation only."""

    def start(self, tag, attrib) -> None:
        pass

    def close(self) -> None:
        pass


def _locate_schema_error(seg: Segment, schema: etree.XMLSchema, upto: int) -> Rejected:
    """The first schema error, with its line.

    libxml2 gives no line for errors of the streaming validator, and the main pass knows only the
    block (`upto`, counted from 1) in which the first one surfaced. A second pass without rows runs
    over the same bytes at C speed up to that block and feeds it line by line: the line being fed
    when the error appears is the error's line. Only rejected files pay for this.
    """
    parser = _parser(_NoRows(), schema)
    line = 1
    for i, block in enumerate(_blocks(seg), start=1):
        chunks = block.splitlines(keepends=True) if i >= upto else [block]
        for chunk in chunks:
            parser.feed(chunk)
            errors = _schema_errors(parser)
            if errors:
                if len(chunks) == 1:  # a whole block: its last line is as near as it gets
                    line += chunk.count(b"\n")
                message = errors[0].message.strip()
                return Rejected(faults.SCHEMA_INVALID, _reason(message, line + seg.line_offset()))
            line += chunk.count(b"\n")
        if i >= upto:
            break
    with contextlib.suppress(etree.XMLSyntaxError):
        parser.close()
    errors = _schema_errors(parser)
    message = errors[0].message.strip() if errors else "the document is not valid against the schema"
    return Rejected(faults.SCHEMA_INVALID, _reason(message, line + seg.line_offset()))


def _check_markup_gap(block: bytes, run: int) -> int:
    """Refuse a gigantic attribute (or text) early: a long stretch of bytes without any '<'.

    libxml2 stops at 10 MB by itself; NPR attributes are short, so anything over MAX_GAP_BYTES is
    hostile or broken. Only the first and last '<' of each block are looked at (C-speed finds).
    """
    first = block.find(b"<")
    if first < 0:
        run += len(block)
    else:
        run += first
    if run > MAX_GAP_BYTES:
        raise Rejected(
            faults.UNSAFE_XML, f"more than {MAX_GAP_BYTES} bytes without markup (gigantic attribute?)"
        )
    return run if first < 0 else len(block) - block.rfind(b"<") - 1


def _check_latin1(block: bytes) -> None:
    """UTF-8 bytes under an ISO-8859-1 declaration parse without error but as mojibake (Ã¸)."""
    m = _MOJIBAKE.search(block)
    if m is not None:
        raise Rejected(
            faults.ENCODING_ERROR,
            "declared ISO-8859-1 but the bytes are UTF-8 (e.g. "
            f"{m.group().decode('utf-8', 'replace')!r} would read as {m.group().decode('latin-1')!r})",
        )

"""Stream one NPR message file into Arrow record batches, one stream per lake table.

How it reads (figures: benchmarks/extract.py):
- An lxml parser *target* gets a start callback per element (and none at its end: the parent is
  the latest element of the parent kind, see `_Flattener.__init__`): no tree is built, each element
  becomes one tuple `(record_no, carried parent keys [+ ordinal], own attributes)`, and the tuples
  become Arrow per batch of rows. This flattening is the fastest of the ways measured (iterparse and
  navigate, whole tree, pull parser with element proxies are all slower).
- Validation runs in the same pass: given `schema=`, lxml plugs libxml2's streaming XSD validator
  into the target parser's SAX callbacks (no tree, all in C). Measured on the benchmark's 128 MB
  file: it adds about 0.4 parse floors, where a second validating parser added 1.1-1.4. Its errors
  carry no line, so a rejected file gets a second, rows-free pass that names the line
  (`_locate_schema_error`).
- The mapping element -> table, carried keys, ordinals and version spellings all come from
  `extract.model.messages`; nothing here is per version.
- Hardened: no DTD, no entities, no network, libxml2's size limits on (no `huge_tree`); any
  DOCTYPE is refused before parsing, so is a stretch of over 1 MB without markup (a gigantic
  attribute); limit errors are `unsafe_xml` rejections.
- `fid` is replaced during parsing by `person_pseudonym` + `fid_valid`; the raw value never
  leaves `_Flattener`, and schema errors about it are reported without the value.
- Record-level checks (extract.checks, and keys/references here) become findings; rows are kept.

A big file can be read as several *segments* (`Segment`): a byte range starting at an
`Objektholder`, wrapped in the file's own header bytes (rows suppressed) and closing tags, so
that each segment is a complete, schema-checkable document. `record_no` is the element's ordinal
in the whole file (counting every start tag, envelope included), so segments and a whole-file
read number the same element alike. Cross-record checks that span segments (duplicates,
references) are returned as `CrossChecks` and merged by the caller (`extract.ingest`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from lxml import etree

from extract import checks
from extract.model import faults
from extract.model.messages import (
    ELEMENTS,
    LINEAGE_COLUMNS,
    MODULES,
    PSEUDONYM_COLUMNS,
    ROOT,
    VERSIONS,
    attribute_name,
    carried_columns,
    module_namespace,
    table_columns,
    walk,
)
from extract.model.xsd import MSGHEAD_NS, load_schema
from extract.pseudonym import fid_valid, pseudonymise

BLOCK_BYTES = 1 << 16  # libxml2 validates markedly faster in small chunks
SNIFF_BYTES = 1 << 20  # the prolog and root start tag must be within this
MAX_GAP_BYTES = 1 << 20  # longest stretch without markup accepted (an attribute value, in practice)
# Rows (tuples, all tables together) become Arrow every FLUSH_EVERY elements (a power of two). Small
# enough that the live tuples stay in cache: measured 16 % faster than 20,000 on this machine.
FLUSH_EVERY = 4096

ARROW_TYPES = {"string": pa.string(), "int": pa.int64(), "date": pa.date32(), "bool": pa.bool_()}
Sink = Callable[[str, pa.RecordBatch], None]


class Rejected(Exception):
    """The whole file is refused; `reason_class` is one of `faults.REJECTION_CLASSES`."""

    def __init__(self, reason_class: str, reason: str):
        super().__init__(reason_class, reason)  # both in args, so it pickles across processes
        self.reason_class = reason_class
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason_class}: {self.reason}"


def arrow_schema(module: str, table: str) -> pa.Schema:
    return pa.schema([pa.field(n, ARROW_TYPES[k]) for n, k in table_columns(module, table)])


# --- sniffing: module, version, encoding from the first bytes -----------------------------------

_PROLOG_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_NPR_NS = re.compile(rb"http://www\.npr\.no/xmlstds/([0-9][0-9_]*)_([A-Za-z]+)[\"']")
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_ACCEPTED_ENCODINGS = {"utf-8": "UTF-8", "utf8": "UTF-8", "iso-8859-1": "ISO-8859-1", "latin1": "ISO-8859-1"}


@dataclass(frozen=True)
class Sniff:
    module: str | None
    version: str | None
    encoding: str | None  # as declared (normalised when accepted)
    envelope: str | None  # "MsgHead" or "Melding"
    problem: Rejected | None = None  # what must never reach the parser


def sniff(head: bytes) -> Sniff:
    """Cheap look at the first bytes: module, version, encoding, envelope, and early refusals."""
    ns = _NPR_NS.search(head)
    module = ns.group(2).decode() if ns else None
    version = ns.group(1).decode().replace("_", ".") if ns else None
    m = _PROLOG_ENCODING.match(head.lstrip(b"\xef\xbb\xbf"))
    declared = m.group(1).decode("ascii") if m else "UTF-8"
    encoding = _ACCEPTED_ENCODINGS.get(declared.lower())
    first = _FIRST_ELEMENT.search(head)
    envelope = None
    if first is not None:
        root_tag = head[first.start() + 1 : first.start() + 80].split(maxsplit=1)[0].split(b">")[0]
        envelope = "MsgHead" if root_tag.split(b":")[-1] == b"MsgHead" else "Melding"

    def refused(cls: str, reason: str) -> Sniff:
        return Sniff(module, version, encoding or declared, envelope, Rejected(cls, reason))

    if not head.strip():
        return refused(faults.NOT_WELL_FORMED, "empty file")
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        line = head[: max(head.find(b"<!DOCTYPE"), head.find(b"<!ENTITY"))].count(b"\n") + 1
        return refused(faults.UNSAFE_XML, f"DOCTYPE/ENTITY declarations are not allowed (line {line})")
    if first is None:
        if len(head) >= SNIFF_BYTES:
            return refused(faults.UNSAFE_XML, f"no root element within the first {SNIFF_BYTES} bytes")
        return refused(faults.NOT_WELL_FORMED, "no XML element found")
    if encoding is None:
        return refused(faults.ENCODING_ERROR, f"declared encoding {declared!r} is not UTF-8 or ISO-8859-1")
    return Sniff(module, version, encoding, envelope)


# --- the plan: the message model turned into lookup tables --------------------------------------


@dataclass
class TableInfo:
    key: str
    names: tuple[str, ...]  # own attributes, as spelled in the file's version
    ordinal: bool
    carry_idx: tuple[int, ...]  # positions in the own-attribute tuple of the carried attributes
    sensitive_idx: int | None
    child_ordinals: bool
    row_names: list[str]
    schema: pa.Schema
    columns: list[tuple[str, int]]  # (kind of source: -1 lineage else row index) per column
    lineage_idx: list[int]


@dataclass
class Plan:
    module: str
    version: str
    melding_tag: str
    objektholder_tag: str
    transitions: dict[tuple[str | None, str], str]
    tables: dict[str, TableInfo]


@functools.cache
def plan(module: str, version: str) -> Plan:
    ns = module_namespace(module, version)
    transitions: dict[tuple[str | None, str], str] = {}
    tables: dict[str, TableInfo] = {}
    lineage = [n for n, _ in LINEAGE_COLUMNS if n != "record_no"]
    for el, ancestors in walk(module):
        parent = ancestors[-1].key if ancestors else None
        transitions[(parent, f"{{{ns}}}{el.tag}")] = el.key
        names = tuple(attribute_name(el.tag, a.name, version) for a in el.attrs)
        own: list[str] = []
        sensitive = None
        for i, a in enumerate(el.attrs):
            if a.sensitive:
                sensitive = i
                own.extend(n for n, _ in PSEUDONYM_COLUMNS)
            else:
                own.append(a.name)
        ctx = carried_columns(ancestors)
        row_names = ["record_no", *ctx, *([el.ordinal] if el.ordinal else []), *own]
        attr_names = [a.name for a in el.attrs]
        carry_idx = tuple(attr_names.index(a) for a, _ in el.carry)
        # The flattener takes carried keys as a slice of the attribute tuple.
        assert carry_idx == tuple(range(len(carry_idx))), f"{el.key}: carried attributes must come first"
        cols = table_columns(module, el.key)
        columns = [(-1 if n in lineage else row_names.index(n), 0) for n, _ in cols]
        tables[el.key] = TableInfo(
            key=el.key,
            names=names,
            ordinal=el.ordinal is not None,
            carry_idx=carry_idx,
            sensitive_idx=sensitive,
            child_ordinals=any(ELEMENTS[c.element].ordinal for c in el.children_in(module)),
            row_names=row_names,
            schema=arrow_schema(module, el.key),
            columns=[(src, 0) for src, _ in columns],
            lineage_idx=[lineage.index(n) if n in lineage else -1 for n, _ in cols],
        )
    return Plan(module, version, f"{{{ns}}}Melding", f"{{{ns}}}Objektholder", transitions, tables)


# --- results --------------------------------------------------------------------------------------

# (table, record_no, record key, finding class, detail)
Finding = tuple[str, int, str, str, str]


@dataclass
class CrossChecks:
    """What one segment knows about keys defined and references it could not resolve itself."""

    # (institusjonID, episodeID) -> (record_no, pasientNr) of the first occurrence
    episodes: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    equipment: dict[str, tuple[int, str]] = field(default_factory=dict)
    known_equipment: set[str] = field(default_factory=set)
    # (kind "episode"/"equipment", key, finding if unresolved)
    pending: list[tuple[str, object, Finding]] = field(default_factory=list)


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


# --- the flattener: one start/end callback per element --------------------------------------------


_HEADER_KEYS = frozenset(
    {
        "message",
        "contact_person",
        "institution",
        "unit",
        "equipment",
        "equipment_property",
        "deletion",
        "patient_holder",
    }
)


_ORDINAL, _SPECIAL = 1, 2


def _plain_kind(info: TableInfo) -> int:
    """The path of an element kind that needs no header handling (pseudonymising still does)."""
    if info.sensitive_idx is not None:
        return _SPECIAL
    return _ORDINAL if info.ordinal else 0


class _Entry:
    """One element kind as seen by one flattener: where its rows go and what runs on it."""

    __slots__ = (
        "append",
        "carry",
        "counts",
        "hook",
        "index",
        "info",
        "kind",
        "leaf",
        "names",
        "parent",
        "rows",
        "track",
    )

    def __init__(self, info: TableInfo, rows: list, hook, special: bool, index: int):
        self.info = info
        self.rows = rows
        self.hook = hook
        self.index = index  # slot of this kind's latest element in the flattener's state lists
        self.parent = 0  # slot of the parent kind (0: outside the Melding)
        self.track = False  # parent of an ambiguous tag: remember when its latest element started
        # 0 plain, _ORDINAL numbered by position under its parent, _SPECIAL header/sensitive
        self.kind = _SPECIAL if special else _plain_kind(info)
        self.leaf = True
        # The carried attributes are always the first ones (checked in `plan`): a slice, no loop.
        self.carry = len(info.carry_idx)
        self.append = rows.append
        self.names = info.names
        self.counts = info.child_ordinals  # holds the counters of numbered children


class _Flattener:
    def __init__(self, pl: Plan, file_id: str, key: bytes, sink: Sink, suppress: bool, record_base: int):
        self.pl = pl
        self.defer_refs = False  # a piece of a cut file: references are checked across pieces
        self.file_id = file_id
        self.key = key
        self.sink = sink
        self.suppress = suppress
        self.record_base = record_base
        self.n = 0
        self.flush_mask = FLUSH_EVERY - 1
        self.rows: dict[str, list[tuple]] = {t: [] for t in pl.tables}
        self.counts: dict[str, int] = dict.fromkeys(pl.tables, 0)
        self.lineage: list | None = None
        self.lineage_arrays: list[pa.Array] = []
        self.header: dict[str, str | None] = {}
        self.institutions: list[str] = []
        self.inst: str | None = None
        self.root_seen = False
        self.error: Rejected | None = None
        self.envelope: str | None = None
        self.findings: list[Finding] = []
        self.cross = CrossChecks()
        self.units: set[tuple[str | None, str]] = set()
        self.refvols: set[str] = set()
        self.refvol_refs: list[tuple[str, Finding]] = []
        hooks = {
            "institution": self._institution,
            "unit": self._unit,
            "equipment": self._equipment,
            "episode": self._episode,
            "episode_unit": self._episode_unit,
            "condition_code": self._code,
            "procedure_code": self._code,
            "rt_attendance": self._rt_attendance,
            "dose_event": self._dose_event,
            "dose_contribution": self._dose_contribution,
            "reference_volume": self._reference_volume,
            "dose_indicator": self._dose_indicator,
            "radiopharmaceutical": self._radiopharmaceutical,
            "person_ident": self._person_ident,
            "medical_radiation": self._medical_radiation,
        }
        entries = {
            k: _Entry(
                info, self.rows[k], hooks.get(k), k in _HEADER_KEYS or info.sensitive_idx is not None, i
            )
            for i, (k, info) in enumerate(pl.tables.items(), start=1)
        }
        self.entries = list(entries.values())
        # No end events are needed (lxml then makes no Python call at an element's end): in this
        # model an element's parent is always the latest started element of its parent kind,
        # because no kind nests inside itself. A tag with two kinds (Kode under Tilstand or
        # Prosedyre) takes the kind whose parent started last.
        by_tag: dict[str, list[_Entry]] = {}
        for (parent, tag), child in pl.transitions.items():
            entry = entries[child]
            entry.parent = entries[parent].index if parent else 0
            if parent:
                entries[parent].leaf = False
            by_tag.setdefault(tag, []).append(entry)
        self.by_tag: dict[str, _Entry | tuple[_Entry, ...]] = {}
        for tag, kinds in by_tag.items():
            assert len(kinds) <= 2, f"{tag} has more than two kinds; `start` picks between two"
            self.by_tag[tag] = kinds[0] if len(kinds) == 1 else tuple(kinds)
            for kind in kinds if len(kinds) > 1 else ():
                self.entries[kind.parent - 1].track = True
        slots = len(self.entries) + 1
        self.ctx_of: list[tuple] = [()] * slots  # carried keys for the children of the latest element
        self.counters_of: list[dict | None] = [None] * slots  # position counters of numbered children
        self.started: list[int] = [0] * slots
        self.code_lists = checks.code_lists()
        # An Objektholder is special only while a piece's header is suppressed (the first one ends
        # it); after that it takes the plain path, as it does from the start of a whole file.
        self.holder = entries.get("patient_holder")  # (ide has none)
        if not suppress and self.holder is not None:
            self.holder.kind = _plain_kind(self.holder.info)

    def release(self) -> None:
        """Let go of everything once the parse is over. The lxml parser and its context form a
        cycle that holds its target (this object, with a piece's keys, rows and entries, which
        hold bound methods of self) until a full cyclic collection, and a process reading piece
        after piece may run none for many pieces: RSS grew by 5 MB a piece without this."""
        self.__dict__.clear()

    # lxml target interface -------------------------------------------------------------------
    def doctype(self, *args) -> None:
        self._reject(faults.UNSAFE_XML, "DOCTYPE declarations are not allowed")

    def _reject(self, reason_class: str, reason: str):
        # lxml may report a later error instead of one raised in a callback; keep the first.
        self.error = self.error or Rejected(reason_class, reason)
        raise self.error

    def start(self, tag, attrib) -> None:
        # The hot path: one call per element. Kept flat on purpose (attribute lookups cost here).
        self.n = n = self.n + 1
        child = self.by_tag.get(tag)
        if child is None:
            if not self.root_seen:
                self._root(tag)
            return  # envelope, or (unvalidated) an element the model does not know
        if child.__class__ is tuple:  # two kinds (checked in __init__): the one whose parent is open
            a, b = child  # type: ignore[misc]
            child = a if self.started[a.parent] > self.started[b.parent] else b
        p = child.parent  # type: ignore[union-attr]
        ctx = self.ctx_of[p]
        vals = tuple(map(attrib.get, child.names))  # type: ignore[union-attr]
        kind = child.kind  # type: ignore[union-attr]
        if kind:
            if kind == _SPECIAL:
                self._special(child, tag, vals, ctx, p)  # type: ignore[arg-type]
                return
            counters = self.counters_of[p]
            counters[child] = pos = counters.get(child, 0) + 1  # type: ignore[index, union-attr]
            ctx = (*ctx, pos)
        row = (n, ctx, vals)
        child.append(row)  # type: ignore[union-attr]
        if child.hook is not None:  # type: ignore[union-attr]
            child.hook(child.info, row, vals)  # type: ignore[union-attr]
        if not child.leaf:  # type: ignore[union-attr]
            # `_opened`, inlined: most elements hold others, and a call per element costs.
            i = child.index  # type: ignore[union-attr]
            self.ctx_of[i] = ctx + vals[: child.carry] if child.carry else ctx  # type: ignore[union-attr]
            if child.counts:  # type: ignore[union-attr]
                self.counters_of[i] = {}
            if child.track:  # type: ignore[union-attr]
                self.started[i] = n
        if not n & self.flush_mask:
            self.flush()

    def _opened(self, child: _Entry, ctx: tuple, vals: tuple, n: int) -> None:
        i = child.index
        self.ctx_of[i] = ctx + vals[: child.carry] if child.carry else ctx
        if child.counts:
            self.counters_of[i] = {}
        if child.track:
            self.started[i] = n

    def _special(self, child: _Entry, tag: str, vals: tuple, ctx: tuple, p: int) -> None:
        info = child.info
        assert info is not None
        if not self.root_seen:
            self._root(tag)
        if info.key == ROOT:
            self._message(vals)
        if info.ordinal:
            counters = self.counters_of[p]
            counters[child] = pos = counters.get(child, 0) + 1  # type: ignore[index, union-attr]
            ctx = (*ctx, pos)
        if info.sensitive_idx is not None:
            vals = self._pseudonymise(info, vals)
        row = (self.n, ctx, vals)
        if self.suppress:
            if tag == self.pl.objektholder_tag:
                self.suppress = False
                child.kind = _plain_kind(info)
                self.n = self.record_base + 1
                row = (self.n, ctx, vals)
            elif child.hook is not None:
                child.hook(info, row, vals)
        if not self.suppress:
            child.rows.append(row)
            if child.hook is not None:
                child.hook(info, row, vals)
        if not child.leaf:
            self._opened(child, ctx, vals, self.n)

    def close(self) -> None:
        # lxml calls this also after a syntax error and then raises that error; so nothing is
        # decided here: `read_segment` checks `lineage` once the parser closed cleanly.
        if self.error is None and self.lineage is not None:
            self._close_medical_radiation()
            self.flush()

    # header ----------------------------------------------------------------------------------
    def _root(self, tag: str) -> None:
        self.root_seen = True
        ns, _, local = tag[1:].partition("}")
        if ns == MSGHEAD_NS and local == "MsgHead":
            self.envelope = "MsgHead"
        elif local == "Melding":
            self.envelope = "Melding"
        else:
            self._reject(
                faults.UNKNOWN_MODULE, f"root element {local!r} ({ns}) is not an NPR Melding or MsgHead"
            )

    def _message(self, vals: tuple) -> None:
        h = dict(zip((a.name for a in ELEMENTS[ROOT].attrs), vals, strict=True))
        if h["versjon"] != self.pl.version:
            self._reject(
                faults.UNKNOWN_VERSION if h["versjon"] not in VERSIONS else faults.SCHEMA_INVALID,
                f"versjon {h['versjon']!r} does not match the namespace version {self.pl.version}",
            )
        self.header = h
        self.lineage = [
            self.file_id,
            self.pl.module,
            self.pl.version,
            h["meldingstype"],
            _date(h["fraDatoPeriode"]),
            _date(h["tilDatoPeriode"]),
            _date(h["uttakDato"]),
            h["lopenr"],
        ]
        # The same values on every row of the file: built once as arrays long enough for any flush
        # (a table gets at most one row per element), then sliced (zero-copy) per batch.
        self.lineage_arrays = [
            pa.repeat(pa.scalar(v, ARROW_TYPES[kind]), FLUSH_EVERY)
            for v, (_, kind) in zip(self.lineage, LINEAGE_COLUMNS, strict=False)
        ]

    # checks ----------------------------------------------------------------------------------
    def _finding(self, info: TableInfo, row: tuple, cls: str, detail: str) -> Finding:
        return (info.key, row[0], _record_key(info, row), cls, detail)

    def _institution(self, info, row, vals) -> None:
        self.inst = vals[0]
        if not self.suppress and vals[0] not in self.institutions:
            self.institutions.append(vals[0])

    def _unit(self, info, row, vals) -> None:
        self.units.add((self.inst, vals[0]))

    def _equipment(self, info, row, vals) -> None:
        uid = vals[0]
        self.cross.known_equipment.add(uid)
        if self.suppress:
            return
        if uid in self.cross.equipment:
            self.findings.append(
                self._finding(info, row, faults.DUPLICATE_KEY, f"utstyrID={uid} occurs twice")
            )
        else:
            self.cross.equipment[uid] = (row[0], _record_key(info, row))

    def _episode(self, info, row, vals) -> None:
        k = (self.inst, vals[0])
        if k in self.cross.episodes:
            self.findings.append(
                self._finding(
                    info, row, faults.DUPLICATE_KEY, f"episodeID={vals[0]} occurs twice in the institution"
                )
            )
        else:
            self.cross.episodes[k] = (row[0], row[1][1])  # ctx: institusjonID, pasientNr

    def _episode_unit(self, info, row, vals) -> None:
        if (self.inst, vals[0]) not in self.units:
            self.findings.append(
                self._finding(
                    info, row, faults.DANGLING_REFERENCE, f"enhetID={vals[0]} is no Enhet of the institution"
                )
            )

    def _code(self, info, row, vals) -> None:
        # _CODE_ATTRS order: kodeNr, kodeverk, kodeVersjon, kodeVerdi
        known = self.code_lists.get(vals[1])
        if known is not None and vals[3] not in known:
            self.findings.append(
                self._finding(
                    info, row, faults.UNKNOWN_CODE, f"kodeVerdi={vals[3]} not in code list {vals[1]}"
                )
            )

    def _ref_equipment(self, info, row, uid) -> None:
        if self.defer_refs:
            return
        if uid not in self.cross.known_equipment:
            f = self._finding(
                info, row, faults.DANGLING_REFERENCE, f"refUtstyr={uid} is no Utstyr in the file"
            )
            self.cross.pending.append(("equipment", uid, f))

    def _rt_attendance(self, info, row, vals) -> None:
        episode_id, ref = vals
        if not self.defer_refs and (self.inst, episode_id) not in self.cross.episodes:
            f = self._finding(
                info, row, faults.DANGLING_REFERENCE, f"episodeID={episode_id} is no Episode in the file"
            )
            self.cross.pending.append(("episode", (self.inst, episode_id), f))
        self._ref_equipment(info, row, ref)

    def _dose_event(self, info, row, vals) -> None:
        self._ref_equipment(info, row, vals[2])

    def _dose_contribution(self, info, row, vals) -> None:
        for name, value in zip(("planDose", "gittDose"), vals[1:3], strict=True):
            problem = checks.dose_problem(value)
            if problem:
                self.findings.append(self._finding(info, row, problem, f"{name}={value} Gy"))
        self.refvol_refs.append(
            (
                vals[0],
                self._finding(
                    info,
                    row,
                    faults.DANGLING_REFERENCE,
                    f"referansevolumID={vals[0]} not in MedisinskStraling",
                ),
            )
        )

    def _reference_volume(self, info, row, vals) -> None:
        self.refvols.add(vals[0])

    def _medical_radiation(self, info, row, vals) -> None:
        self._close_medical_radiation()  # Referansevolum is looked up within one MedisinskStraling

    def _close_medical_radiation(self) -> None:
        self.findings.extend(f for ref, f in self.refvol_refs if ref not in self.refvols)
        self.refvol_refs.clear()
        self.refvols.clear()

    def _dose_indicator(self, info, row, vals) -> None:
        for cls, detail in checks.indicator_problems(*vals):
            self.findings.append(self._finding(info, row, cls, detail))

    def _radiopharmaceutical(self, info, row, vals) -> None:
        problem = checks.dose_problem(vals[1])
        if problem:
            self.findings.append(self._finding(info, row, problem, f"administrertAktivitet={vals[1]} MBq"))

    def _pseudonymise(self, info: TableInfo, vals: tuple) -> tuple:
        i = info.sensitive_idx
        fid = vals[i] or ""  # type: ignore[index]
        return (*vals[:i], pseudonymise(fid, self.key), fid_valid(fid), *vals[i + 1 :])  # type: ignore[index]

    def _person_ident(self, info, row, vals) -> None:
        if not vals[2]:  # pid, person_pseudonym, fid_valid, typeID
            self.findings.append(
                self._finding(
                    info, row, faults.INVALID_FODSELSNUMMER, f"control digits fail (typeID={vals[3]})"
                )
            )

    # Arrow ------------------------------------------------------------------------------------
    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                self.counts[table] += len(rows)
                self.sink(table, to_batch(self.pl.tables[table], rows, self.lineage_arrays))
                rows.clear()


def to_batch(info: TableInfo, rows: list[tuple], lineage: list[pa.Array]) -> pa.RecordBatch:
    """Rows are (record_no, carried keys, own values): three C-level transpositions, then Arrow.
    `lineage`: one constant array per lineage column, at least as long as any batch."""
    n = len(rows)
    # strict=True would be a check per row; every row of a table has the same shape by construction
    numbers, ctxs, vals = zip(*rows, strict=False)
    columns = [numbers, *zip(*ctxs, strict=False), *zip(*vals, strict=False)]
    arrays = []
    for (src, _), lin, fld in zip(info.columns, info.lineage_idx, info.schema, strict=True):
        if src < 0:
            constant = lineage[lin]
            arrays.append(constant.slice(0, n) if n <= len(constant) else pa.repeat(constant[0], n))
        else:
            arrays.append(_column(columns[src], fld.type))
    return pa.RecordBatch.from_arrays(arrays, schema=info.schema)


def _column(values: tuple, type_: pa.DataType) -> pa.Array:
    """Half the values sit in columns that are constant within a batch (carried keys, code
    systems) or absent altogether: those become one scalar repeated, not n conversions. A look at
    both ends first keeps the full count off the columns that vary."""
    first, n = values[0], len(values)
    if first == values[-1] and values.count(first) == n:
        return pa.nulls(n, type_) if first is None else pa.repeat(pa.scalar(first, type_), n)
    return pa.array(values, type_)


def _record_key(info: TableInfo, row: tuple) -> str:
    """The carried parent keys and the element's own first (key) attribute, as `name=value;...`."""
    flat = (*row[1], row[2][0])
    return ";".join(f"{name}={v}" for name, v in zip(info.row_names[1:], flat, strict=False))


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "")[:10])
    except ValueError:
        return None


# --- driving the parser -----------------------------------------------------------------------


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


_SENSITIVE = frozenset(a.name for e in ELEMENTS.values() for a in e.attrs if a.sensitive)
_UNSAFE_WORDS = ("huge", "too long", "excessive depth", "amplification", "entity", "limit")


def classify(err: etree.XMLSyntaxError, line_offset: int = 0) -> Rejected:
    """A libxml2 error (syntax, encoding, limits) as a rejection with its line in the file."""
    # The log also holds what the validator reported before the parser gave up: not the cause.
    parse_errors = [e for e in err.error_log if e.domain_name != "SCHEMASV"] if err.error_log else []
    entry = parse_errors[-1] if parse_errors else None
    msg = (entry.message if entry is not None else str(err)).strip()
    type_name = entry.type_name if entry is not None else ""
    line = entry.line if entry is not None and entry.line else (getattr(err, "lineno", 0) or 0)
    if "ENCODING" in type_name or "encoding" in msg.lower() or "not proper UTF-8" in msg:
        cls = faults.ENCODING_ERROR
    elif any(w in msg.lower() for w in _UNSAFE_WORDS):
        cls = faults.UNSAFE_XML
    else:
        cls = faults.NOT_WELL_FORMED
    return Rejected(cls, _reason(msg, line + line_offset if line else None))


def _reason(msg: str, line: int | None) -> str:
    if any(f"attribute '{name}'" in msg for name in _SENSITIVE):
        msg = re.sub(r"value '[^']*'", "value '(not shown)'", msg)  # never a fødselsnummer in a reason
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
    fl = _Flattener(pl, file_id, key, sink, bool(piece), seg.record_base)
    fl.defer_refs = piece is not None
    latin1 = sn.encoding == "ISO-8859-1"
    schema = load_schema(pl.module, pl.version) if validate else None
    # With `schema=`, lxml plugs libxml2's streaming XSD validator into the SAX callbacks of the
    # target parser: validated in C in the same pass, no tree. Its errors do not raise; they are
    # collected in `feed_error_log`, looked at after every block.
    target = etree.XMLParser(target=fl, schema=schema, **_PARSER_OPTIONS)
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
            encoding=sn.encoding,
            header=fl.header,
            institutions=fl.institutions,
            rows=fl.counts,
            findings=fl.findings,
            cross=fl.cross,
        )
    finally:
        fl.release()
        if gc_was_enabled:
            gc.enable()


_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


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
    parser = etree.XMLParser(target=_NoRows(), schema=schema, **_PARSER_OPTIONS)
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


def resolve(cross: CrossChecks) -> list[Finding]:
    """Findings for references still pending at the end of a whole file."""
    out = []
    for kind, k, finding in cross.pending:
        known = cross.episodes if kind == "episode" else cross.known_equipment
        if k not in known:
            out.append(finding)
    return out

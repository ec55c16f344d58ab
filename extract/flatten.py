"""The flattener: the lxml parser target that turns each element start into a lake row.

lxml calls `Flattener.start` once per element (and nothing at its end: the parent is the latest
element of the parent kind, see `Flattener.__init__`): no tree is built, each element becomes one
tuple `(record_no, carried parent keys [+ ordinal], own attributes)` in its table's list, and every
FLUSH_EVERY elements the lists become Arrow record batches (`to_batch`) handed to the sink. `fid`
is replaced here by `person_pseudonym` + `fid_valid`; the raw value never leaves this object; a
valid fødselsnummer in any other field is replaced per batch (`extract.personal`). The record rules
(`extract.checks.RecordRules`) run as per-kind hooks on the rows as they are made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pyarrow as pa

from extract.checks import Hook, RecordRules
from extract.model import faults
from extract.model.faults import Rejected
from extract.model.messages import ELEMENTS, LINEAGE_COLUMNS, ROOT, VERSIONS
from extract.model.plan import ARROW_TYPES, Plan, TableInfo
from extract.model.xsd import MSGHEAD_NS
from extract.personal import guard_batch, guarded_columns, is_fnr
from extract.pseudonym import fid_valid, pseudonymise

# Rows (tuples, all tables together) become Arrow every FLUSH_EVERY elements (a power of two). Small
# enough that the live tuples stay in cache: measured 16 % faster than 20,000 on this machine.
FLUSH_EVERY = 4096

Sink = Callable[[str, pa.RecordBatch], None]

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

    def __init__(self, info: TableInfo, rows: list[tuple], hook: Hook | None, special: bool, index: int):
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


class Flattener:
    """Parser target for one segment: rows to `sink`, findings and keys in `rules`.

    `suppress`: the segment starts with header bytes already read by an earlier piece: their rows
    are not written until the first Objektholder, where record numbering resumes at `record_base`."""

    def __init__(
        self,
        pl: Plan,
        file_id: str,
        key: bytes,
        sink: Sink,
        suppress: bool,
        record_base: int,
        rules: RecordRules,
    ):
        self.pl = pl
        self.file_id = file_id
        self.key = key
        self.sink = sink
        self.suppress = suppress
        self.record_base = record_base
        self.rules = rules
        self.n = 0
        self.flush_mask = FLUSH_EVERY - 1
        self.rows: dict[str, list[tuple]] = {t: [] for t in pl.tables}
        # per table, the columns the fødselsnummer guard looks at (`extract.personal`), per batch
        self.guarded = {t: guarded_columns(info) for t, info in pl.tables.items()}
        self.counts: dict[str, int] = dict.fromkeys(pl.tables, 0)
        self.lineage: list | None = None
        self.lineage_arrays: list[pa.Array] = []
        self.header: dict[str, str | None] = {}
        self.root_seen = False
        self.error: Rejected | None = None
        self.envelope: str | None = None
        hooks = rules.hooks()
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
        # Prosedyre) takes the kind whose parent started last; such tags are looked up in
        # `ambiguous` only after `by_tag` missed, so the common tag pays nothing for them.
        by_tag: dict[str, list[_Entry]] = {}
        for (parent, tag), child in pl.transitions.items():
            entry = entries[child]
            entry.parent = entries[parent].index if parent else 0
            if parent:
                entries[parent].leaf = False
            by_tag.setdefault(tag, []).append(entry)
        self.by_tag: dict[str, _Entry] = {}
        self.ambiguous: dict[str, tuple[_Entry, _Entry]] = {}
        for tag, kinds in by_tag.items():
            if len(kinds) == 1:
                self.by_tag[tag] = kinds[0]
                continue
            assert len(kinds) == 2, f"{tag} has more than two kinds; `start` picks between two"
            self.ambiguous[tag] = (kinds[0], kinds[1])
            for kind in kinds:
                self.entries[kind.parent - 1].track = True
        slots = len(self.entries) + 1
        self.ctx_of: list[tuple] = [()] * slots  # carried keys for the children of the latest element
        # position counters of numbered children, renewed whenever their parent kind starts again
        self.counters_of: list[dict[_Entry, int]] = [{} for _ in range(slots)]
        self.started: list[int] = [0] * slots
        # An Objektholder is special only while a piece's header is suppressed (the first one ends
        # it); after that it takes the plain path, as it does from the start of a whole file.
        self.holder = entries.get("patient_holder")  # (ide has none)
        if not suppress and self.holder is not None:
            self.holder.kind = _plain_kind(self.holder.info)

    def release(self) -> None:
        """Let go of everything once the parse is over. The lxml parser and its context form a
        cycle that holds its target (this object, with a piece's keys, rows and entries, which
        hold bound methods of the rules) until a full cyclic collection, and a process reading
        piece after piece may run none for many pieces: RSS grew by 5 MB a piece without this."""
        self.__dict__.clear()

    # lxml target interface -------------------------------------------------------------------
    def doctype(self, *args: object) -> None:
        self._reject(faults.UNSAFE_XML, "DOCTYPE declarations are not allowed")

    def _reject(self, reason_class: str, reason: str) -> None:
        # lxml may report a later error instead of one raised in a callback; keep the first.
        self.error = self.error or Rejected(reason_class, reason)
        raise self.error

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        # The hot path: one call per element. Kept flat on purpose (attribute lookups cost here).
        self.n = n = self.n + 1
        child = self.by_tag.get(tag)
        if child is None:
            pair = self.ambiguous.get(tag)
            if pair is None:
                if not self.root_seen:
                    self._root(tag)
                return  # envelope, or (unvalidated) an element the model does not know
            a, b = pair  # two kinds: the one whose parent is open
            child = a if self.started[a.parent] > self.started[b.parent] else b
        p = child.parent
        ctx = self.ctx_of[p]
        vals = tuple(map(attrib.get, child.names))
        kind = child.kind
        if kind:
            if kind == _SPECIAL:
                self._special(child, tag, vals, ctx, p)
                return
            counters = self.counters_of[p]
            counters[child] = pos = counters.get(child, 0) + 1
            ctx = (*ctx, pos)
        row = (n, ctx, vals)
        child.append(row)
        if child.hook is not None:
            child.hook(child.info, row, vals)
        if not child.leaf:
            # `_opened`, inlined: most elements hold others, and a call per element costs.
            i = child.index
            self.ctx_of[i] = ctx + vals[: child.carry] if child.carry else ctx
            if child.counts:
                self.counters_of[i] = {}
            if child.track:
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
        if not self.root_seen:
            self._root(tag)
        if info.key == ROOT:
            self._message(vals)
        if info.ordinal:
            counters = self.counters_of[p]
            counters[child] = pos = counters.get(child, 0) + 1
            ctx = (*ctx, pos)
        if info.sensitive_idx is not None:
            vals = self._pseudonymise(info.sensitive_idx, vals)
        row = (self.n, ctx, vals)
        if self.suppress:
            if tag == self.pl.objektholder_tag:
                self.suppress = self.rules.suppress = False
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
            self.rules.close_medical_radiation()
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
        # Header values reach the ledger and every row's lineage: no fødselsnummer there either
        # (the message row itself is guarded with its batch, which reports it).
        h = {k: pseudonymise(v, self.key) if is_fnr(v) else v for k, v in h.items()}
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

    def _pseudonymise(self, i: int, vals: tuple) -> tuple:
        fid = vals[i] or ""
        return (*vals[:i], pseudonymise(fid, self.key), fid_valid(fid), *vals[i + 1 :])

    # Arrow ------------------------------------------------------------------------------------
    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                self.counts[table] += len(rows)
                info = self.pl.tables[table]
                batch = to_batch(info, rows, self.lineage_arrays)
                if self.guarded[table]:
                    batch = guard_batch(info, self.guarded[table], batch, self.key, self.rules.findings)
                self.sink(table, batch)
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


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "")[:10])
    except ValueError:
        return None

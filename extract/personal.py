"""The fødselsnummer guard: a valid fødselsnummer sent anywhere but `fid` (as `pasientNr`, `pid`, an
id, free text) is replaced by its pseudonym wherever it would be stored (lake values, finding keys
and details, header fields) and flagged with a `fodselsnummer_in_field` finding. (`fid` itself is
pseudonymised by the flattener; rejection reasons are redacted by `extract.model.faults.redact`.)

Cheap on the hot path: it runs per Arrow batch, not per element. Only the string columns whose
model type admits 11 digits are looked at, with one vectorised length test each; the values of
length 11 (rare) are then checked in Python.
"""

from __future__ import annotations

import functools
import re

import pyarrow as pa
import pyarrow.compute as pc

from extract.model import faults
from extract.model.faults import Finding
from extract.model.messages import ELEMENTS, ENUMERATIONS, PATTERNS, PSEUDONYM_COLUMNS
from extract.model.plan import TableInfo
from extract.pseudonym import fid_valid, pseudonymise

FNR_LENGTH = 11
_ELEVEN = re.compile(r"(?<!\d)\d{11}(?!\d)")
# Types the schema keeps shorter than 11 characters or to a fixed set (`fodselsnummer` is `fid`).
_NARROW_TYPES = {"date", "dateTime", "kommNr", *ENUMERATIONS, *(t for t in PATTERNS if t != "fodselsnummer")}


@functools.cache
def _narrow_names() -> frozenset[str]:
    """Attribute names that are of a narrow type wherever the model uses them."""
    types: dict[str, set[str]] = {}
    for el in ELEMENTS.values():
        for a in el.attrs:
            types.setdefault(a.name, set()).add(a.type)
    return frozenset(n for n, ts in types.items() if ts <= _NARROW_TYPES)


def guarded_columns(info: TableInfo) -> tuple[int, ...]:
    """Positions of the columns of `info`'s batches that could hold a fødselsnummer."""
    skip = _narrow_names() | {n for n, _ in PSEUDONYM_COLUMNS}
    return tuple(
        i
        for i, (f, (src, _)) in enumerate(zip(info.schema, info.columns, strict=True))
        if src >= 0 and f.type == pa.string() and f.name not in skip
    )


def is_fnr(value: object) -> bool:
    return isinstance(value, str) and len(value) == FNR_LENGTH and fid_valid(value)


def guard_batch(
    info: TableInfo, columns: tuple[int, ...], batch: pa.RecordBatch, key: bytes, findings: list[Finding]
) -> pa.RecordBatch:
    """`batch` with every valid fødselsnummer in a guarded column replaced by its pseudonym; a
    finding per own attribute that held one (a carried parent key is replaced, not reported again)."""
    hits: dict[int, list[int]] = {}
    for i in columns:
        lengths = pc.binary_length(batch.column(i))
        if not pc.any(pc.equal(lengths, FNR_LENGTH)).as_py():
            continue
        values = batch.column(i).to_pylist()
        rows = [r for r, v in enumerate(values) if is_fnr(v)]
        if rows:
            hits[i] = rows
    if not hits:
        return batch
    arrays = list(batch.columns)
    own = set(info.names)
    names = batch.schema.names
    for i, rows in hits.items():
        values = arrays[i].to_pylist()
        for r in rows:
            values[r] = pseudonymise(values[r], key)
        arrays[i] = pa.array(values, pa.string())
    fixed = pa.RecordBatch.from_arrays(arrays, schema=batch.schema)
    numbers = fixed.column("record_no").to_pylist()
    key_names = info.key_names()
    for i, rows in hits.items():
        if names[i] not in own:
            continue
        for r in rows:
            record_key = ";".join(f"{n}={fixed.column(n)[r].as_py()}" for n in key_names)
            detail = f"{names[i]} holds a valid fødselsnummer (stored as its pseudonym)"
            findings.append((info.key, numbers[r], record_key, faults.FODSELSNUMMER_IN_FIELD, detail))
    return fixed


def scrub_text(text: str | None, key: bytes) -> str | None:
    """`text` with every valid fødselsnummer in it replaced by its pseudonym."""
    if not text or not _ELEVEN.search(text):
        return text
    return _ELEVEN.sub(lambda m: pseudonymise(m.group(), key) if fid_valid(m.group()) else m.group(), text)


def scrub_findings(findings: list[Finding], key: bytes) -> list[Finding]:
    """Finding keys and details are built from the values as sent: the same replacement as the lake's."""
    return [
        (t, n, scrub_text(k, key) or "", c, scrub_text(d, key) or "")
        if _ELEVEN.search(k) or _ELEVEN.search(d)
        else (t, n, k, c, d)
        for t, n, k, c, d in findings
    ]

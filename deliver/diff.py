"""What a delivery holds and how two deliveries differ.

`content_fingerprint`: a SHA-256 over a delivery's content (every table's rows and the delivery
parameters, floats rounded to `FINGERPRINT_DIGITS` significant digits), stored in its manifest so
that an unchanged delivery is recognised without reading the previous one. `diff_deliveries`: the
row-level difference, table by table, keyed by each table's grain, with floats compared with a
relative tolerance (`_same`); `has_changes` says whether such a diff shows any change at all.
`compare_with_latest` puts them together: is a new delivery's content that of the latest delivery
of its kind and period?
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

SAMPLE = 50  # changed/added/removed keys listed per table
# DuckDB's parallel DOUBLE sums differ in the last bits from one build to the next: the fingerprint
# rounds every float to this many significant digits (the diff compares with rel_tol 1e-9 instead).
FINGERPRINT_DIGITS = 12


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


def canonical(value: object) -> object:
    """`value` as the fingerprint sees it: finite floats rounded to FINGERPRINT_DIGITS significant
    digits (and -0.0 as 0.0), lists and dicts element by element, everything else as it is."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return value
        rounded = float(f"{value:.{FINGERPRINT_DIGITS}g}")
        return rounded if rounded else 0.0
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    return value


def _json(value: object) -> str:
    # default=str: dates and times as ISO text, decimals exactly as written
    return json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), default=str)


def content_fingerprint(tables: Mapping[str, pa.Table], parameters: Mapping[str, object]) -> str:
    """SHA-256 (hex) of a delivery's content: the parameters, then each table by name with its column
    names and its rows in canonical order (the canonical rows sorted, so neither the order the
    warehouse returned them in nor the last bits of a float sum change it). Not part of it: when,
    from which warehouse file and by which code version the delivery was made."""
    digest = hashlib.sha256()
    digest.update(_json({"parameters": dict(parameters)}).encode())
    for name in sorted(tables):
        table = tables[name]
        digest.update(b"\n" + _json({"table": name, "columns": table.column_names}).encode())
        columns = [column.to_pylist() for column in table.columns]
        for row in sorted(_json(list(values)) for values in zip(*columns, strict=True)):
            digest.update(b"\n" + row.encode())
    return digest.hexdigest()


def _index(table: pa.Table, grain: list[str]) -> dict[tuple, dict]:
    return {tuple(row[c] for c in grain): row for row in table.to_pylist()}


def diff_table(grain: list[str], old: pa.Table | None, new: pa.Table) -> dict:
    """Rows added, removed and changed (same grain key, another value in some column), and the
    columns added and removed."""
    old_rows = _index(old, grain) if old is not None else {}
    new_rows = _index(new, grain)
    added = [k for k in new_rows if k not in old_rows]
    removed = [k for k in old_rows if k not in new_rows]
    changed = []
    for key, row in new_rows.items():
        before = old_rows.get(key)
        if before is None:
            continue
        cols = {
            c: {"old": before.get(c), "new": v}
            for c, v in row.items()
            if c not in grain and not _same(before.get(c), v)
        }
        if cols:
            changed.append({"key": dict(zip(grain, key, strict=True)), "columns": cols})
    old_columns = old.column_names if old is not None else []
    return {
        "grain": grain,
        "rows_before": len(old_rows),
        "rows_after": len(new_rows),
        "added": len(added),
        "removed": len(removed),
        "changed": len(changed),
        "added_keys": [dict(zip(grain, k, strict=True)) for k in added[:SAMPLE]],
        "removed_keys": [dict(zip(grain, k, strict=True)) for k in removed[:SAMPLE]],
        "changed_rows": changed[:SAMPLE],
        "columns_added": [c for c in new.column_names if old is not None and c not in old_columns],
        "columns_removed": [c for c in old_columns if c not in new.column_names],
        "new_table": old is None,
    }


def diff_parameters(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, dict]:
    """Delivery parameters whose value differs (a float within the fingerprint's rounding is the same)."""
    return {
        name: {"old": old.get(name), "new": new.get(name)}
        for name in sorted(set(old) | set(new))
        if _json(old.get(name)) != _json(new.get(name))
    }


def diff_deliveries(
    previous: Path | None,
    tables: dict[str, tuple[list[str], pa.Table]],
    parameters: Mapping[str, object] | None = None,
) -> dict:
    """diff.json: every table of the new delivery against the same table of `previous`, the tables
    `previous` had and this one has not, and (given the new `parameters`) the parameters changed."""
    if previous is None:
        return {"previous": None, "tables": {n: diff_table(g, None, t) for n, (g, t) in tables.items()}}
    manifest = json.loads((previous / "manifest.json").read_text(encoding="utf-8"))
    out = {
        "previous": previous.name,
        "previous_period": manifest.get("period"),
        "previous_cut": manifest.get("cut"),
        "tables": {},
    }
    for name, (grain, table) in tables.items():
        path = previous / f"{name}.parquet"
        old = pq.read_table(path) if path.is_file() else None
        out["tables"][name] = diff_table(grain, old, table)
    dropped = sorted(set(manifest.get("tables", {})) - set(tables))
    out["tables_dropped"] = dropped
    if parameters is not None:
        out["parameters_changed"] = diff_parameters(manifest.get("parameters") or {}, parameters)
    return out


def has_changes(diff: dict) -> bool:
    """Whether a diff (of `diff_deliveries`) shows anything: a row added, removed or changed, a
    table or column new or gone, a parameter changed. A first delivery always has changes."""
    if diff.get("previous") is None or diff.get("tables_dropped") or diff.get("parameters_changed"):
        return True
    return any(
        t["new_table"]
        or t["added"]
        or t["removed"]
        or t["changed"]
        or t["columns_added"]
        or t["columns_removed"]
        for t in diff["tables"].values()
    )


def previous_delivery(kind_dir: Path, year: int, month: int | None) -> tuple[Path | None, dict]:
    """The most recent delivery in `kind_dir` (by `created_at`), preferring one of the same period,
    and its manifest ((None, {}) when there is none)."""
    candidates = []
    for folder in kind_dir.iterdir() if kind_dir.is_dir() else []:
        manifest = folder / "manifest.json"
        if folder.name.startswith((".", "_")) or not manifest.is_file():
            continue
        m = json.loads(manifest.read_text(encoding="utf-8"))
        same = m.get("year") == year and m.get("month") == month
        candidates.append((same, m.get("created_at", ""), folder, m))
    if not candidates:
        return None, {}
    _, _, folder, m = max(candidates, key=lambda c: (c[0], c[1]))
    return folder, m


@dataclass(frozen=True)
class Comparison:
    """A new delivery's content against the deliveries of its kind already written. `previous`: the
    latest of them, of the same period if there is one (diff.json compares with it); `latest`: that
    one if it is of the same period (a new folder supersedes it), else None; `diff`: against
    `latest`, computed only when its fingerprint differs; `unchanged`: `latest` holds this content."""

    previous: Path | None
    latest: Path | None
    diff: dict | None
    unchanged: bool


def compare_with_latest(
    kind_dir: Path,
    year: int,
    month: int | None,
    tables: dict[str, tuple[list[str], pa.Table]],
    parameters: Mapping[str, object],
    fingerprint: str,
) -> Comparison:
    """Whether `tables` and `parameters` (with `fingerprint`, their `content_fingerprint`) are what
    the latest delivery of the period in `kind_dir` holds: the same `content_sha256` in its
    manifest, or else no change in the row-level diff (its float tolerance; a float near a rounding
    boundary of the fingerprint, or a manifest from before fingerprints)."""
    previous, manifest = previous_delivery(kind_dir, year, month)
    if previous is None or (manifest.get("year"), manifest.get("month")) != (year, month):
        return Comparison(previous, None, None, False)
    if manifest.get("content_sha256") == fingerprint:
        return Comparison(previous, previous, None, True)
    diff = diff_deliveries(previous, tables, parameters)
    return Comparison(previous, previous, diff, not has_changes(diff))

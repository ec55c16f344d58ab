"""What a sender's QA folder says, read from the lake's ledger and findings (extract.lake) and the
served warehouse: the institution's files of a year, its findings by class with examples, its
completeness month by month beside the national share, and its ZXM coding and double reporting
when the served warehouse has those tables.

Which files are an institution's: the ledger's `institutions` (the header's institusjonID); a
rejected file has no header, so its path in the inbox (the sender's folder, `<orgnr>/...`, or an
orgnr in its name) names the sender. Which year: the period the header covers; for a rejected file
the `<year>T<tertial>` of its name, else the year it arrived. Every text that could quote a file
(paths, rejection reasons, finding keys and details) passes `extract.model.faults.redact`, and the
person fields of a record key (pasientNr, pid, fid) are left out: a QA folder never holds a
fødselsnummer.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from extract.lake import read_findings, read_ledger
from extract.model import faults
from extract.model.faults import DUPLICATE, LOADED, REJECTED, redact

SCHEMA = "marts"
EXAMPLES = 5  # examples per finding class
_ORGNR = re.compile(r"(?<!\d)\d{9}(?!\d)")
_TERTIAL_YEAR = re.compile(r"(?<!\d)(\d{4})T[1-3](?!\d)")
_LINE = re.compile(r"\(line (\d+)\)")
# record-key fields that name a person, left out of what a QA folder shows
PERSON_FIELDS = frozenset({"pasientNr", "pid", "fid", "person_pseudonym"})

FILES_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("file_id", pa.string()),
        ("module", pa.string()),
        ("version", pa.string()),
        ("message_type", pa.string()),
        ("period_from", pa.string()),
        ("period_to", pa.string()),
        ("extraction_date", pa.string()),
        ("lopenr", pa.string()),
        ("status", pa.string()),
        ("reason_class", pa.string()),
        ("reason", pa.string()),
        ("line", pa.int64()),
        ("rows", pa.int64()),
        ("findings", pa.int64()),
        ("duplicate_of", pa.string()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)
FINDINGS_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("file_id", pa.string()),
        ("module", pa.string()),
        ("table", pa.string()),
        ("record_no", pa.int64()),
        ("episode_id", pa.string()),
        ("record_key", pa.string()),
        ("finding_class", pa.string()),
        ("detail", pa.string()),
    ]
)
BY_CLASS_SCHEMA = pa.schema(
    [
        ("finding_class", pa.string()),
        ("source", pa.string()),
        ("n_findings", pa.int64()),
        ("n_files", pa.int64()),
        ("examples", pa.string()),
        ("what", pa.string()),
    ]
)
# What each class means, for the sender reading the report.
WHAT = {
    faults.DANGLING_REFERENCE: "a reference to an Episode, Utstyr, Enhet or Referansevolum the file "
    "does not have",
    faults.DUPLICATE_KEY: "the same episodeID or utstyrID twice in one file",
    faults.NEGATIVE_DOSE: "a negative dose value",
    faults.IMPLAUSIBLE_DOSE: "a dose value above what any examination or treatment gives",
    faults.UNKNOWN_UNIT: "a unit (benevning) not recognised for the dose type",
    faults.UNKNOWN_CODE: "a code not in its code list",
    faults.INVALID_FODSELSNUMMER: "a fødselsnummer whose control digits fail",
    faults.FODSELSNUMMER_IN_FIELD: "a fødselsnummer in a field other than fid (stored as its pseudonym)",
    faults.EPISODE_ID_REUSED: "an episode id used again for another patient or period (both episodes count)",
}


def _split(text: str | None) -> set[str]:
    return {s.strip() for s in (text or "").split(",") if s.strip()}


def file_institutions(row: dict) -> set[str]:
    """The header's institutions; for a file without a header, the orgnrs its path names."""
    return _split(row.get("institutions")) or set(_ORGNR.findall(row.get("path") or ""))


def file_years(row: dict) -> set[int]:
    """The years the header's period covers; without one, the `<year>T<n>` of the file's name, else
    the year it arrived."""
    try:
        first, last = int(str(row["period_from"])[:4]), int(str(row["period_to"])[:4])
        if first <= last:
            return set(range(first, last + 1))
    except (TypeError, ValueError, KeyError):
        pass
    named = {int(y) for y in _TERTIAL_YEAR.findall(Path(row.get("path") or "").name)}
    if named:
        return named
    arrived = row.get("ingested_at")
    return {arrived.year} if arrived is not None else set()


def _key_fields(record_key: str | None) -> dict[str, str]:
    fields = {}
    for part in (record_key or "").split(";"):
        name, sep, value = part.partition("=")
        if sep:
            fields[name] = value
    return fields


def shown_key(record_key: str | None) -> str:
    """The record key without its person fields, redacted."""
    kept = [f"{n}={v}" for n, v in _key_fields(record_key).items() if n not in PERSON_FIELDS]
    return redact(";".join(kept))


def _rows_loaded(text: str | None) -> int | None:
    try:
        return sum(int(v) for v in json.loads(text).values()) if text else None
    except (ValueError, TypeError, AttributeError):
        return None


def _line(reason: str | None) -> int | None:
    found = _LINE.findall(reason or "")
    return int(found[-1]) if found else None


@dataclass
class LakeRecord:
    """The ledger and findings of a lake, read once, indexed by institution and year."""

    ledger: list[dict]
    findings_by_file: dict[str, list[dict]] = field(default_factory=dict)

    @classmethod
    def read(cls, lake: Path) -> LakeRecord:
        ledger = read_ledger(lake).to_pylist()
        for row in ledger:
            row["_institutions"] = file_institutions(row)
            row["_years"] = file_years(row)
        by_file: dict[str, list[dict]] = defaultdict(list)
        for f in read_findings(lake).to_pylist():
            by_file[f["file_id"]].append(f)
        return cls(ledger, dict(by_file))

    def institutions(self, year: int | None = None) -> list[str]:
        """Institutions with a file in the ledger (of `year`, when given)."""
        return sorted(
            {i for r in self.ledger if year is None or year in r["_years"] for i in r["_institutions"]}
        )

    def years(self, orgnr: str) -> list[int]:
        return sorted({y for r in self.ledger if orgnr in r["_institutions"] for y in r["_years"]})

    def files(self, orgnr: str, year: int) -> list[dict]:
        return [r for r in self.ledger if orgnr in r["_institutions"] and year in r["_years"]]


def files_table(files: list[dict], orgnr: str, by_file: dict[str, list[dict]]) -> pa.Table:
    """One row per ledger row of the institution's files of the year, by period, then name."""
    loaded_at = {r["file_id"]: r["path"] for r in files if r["status"] == LOADED}
    rows = []
    for r in files:
        n_findings = sum(1 for f in by_file.get(r["file_id"], []) if orgnr in _finding_institutions(f, r))
        rows.append(
            {
                "file": redact(r["path"]),
                "file_id": r["file_id"],
                **{k: r[k] for k in ("module", "version", "message_type", "period_from", "period_to")},
                **{k: r[k] for k in ("extraction_date", "lopenr", "status", "reason_class")},
                "reason": redact(r["reason"]) if r["reason"] else None,
                "line": _line(r["reason"]) if r["status"] == REJECTED else None,
                "rows": _rows_loaded(r["rows"]) if r["status"] == LOADED else None,
                "findings": n_findings if r["status"] == LOADED else None,
                "duplicate_of": redact(loaded_at.get(r["file_id"]) or "")
                if r["status"] == DUPLICATE
                else None,
                "ingested_at": r["ingested_at"],
            }
        )
    rows.sort(key=lambda r: (r["period_from"] or "", r["module"] or "", r["file"] or ""))
    return pa.Table.from_pylist(rows, schema=FILES_SCHEMA)


def _finding_institutions(finding: dict, file_row: dict) -> set[str]:
    """The institution a finding's record key names, else the file's."""
    named = _key_fields(finding["record_key"]).get("institusjonID")
    return {named} if named else file_row["_institutions"]


def findings_table(files: list[dict], orgnr: str, by_file: dict[str, list[dict]]) -> pa.Table:
    """Every finding of the institution's loaded files of the year (its own records only)."""
    rows = []
    for r in files:
        if r["status"] != LOADED:
            continue
        for f in by_file.get(r["file_id"], []):
            if orgnr not in _finding_institutions(f, r):
                continue
            fields = _key_fields(f["record_key"])
            rows.append(
                {
                    "file": redact(r["path"]),
                    "file_id": r["file_id"],
                    "module": f["module"],
                    "table": f["table"],
                    "record_no": f["record_no"],
                    "episode_id": redact(fields["episodeID"]) if "episodeID" in fields else None,
                    "record_key": shown_key(f["record_key"]),
                    "finding_class": f["finding_class"],
                    "detail": redact(f["detail"]),
                }
            )
    rows.sort(key=lambda f: (f["finding_class"], f["file"], f["record_no"]))
    return pa.Table.from_pylist(rows, schema=FINDINGS_SCHEMA)


def _example(f: dict) -> str:
    """A finding as a sender finds it again: its episode (else the record's own key, else its
    element), record number and file."""
    own = f["record_key"].rsplit(";", 1)[-1]
    if f["episode_id"]:
        own = f"episodeID={f['episode_id']}"
    elif not own or own.startswith("institusjonID="):
        own = f["table"]
    return f"{own} (record {f['record_no']}, {Path(f['file']).name})"


def by_class_table(findings: pa.Table, reused: int | None, reused_examples: list[str]) -> pa.Table:
    """Findings by class (most first) with a few examples each; `episode_id_reused` from the
    warehouse (dsa_reporting_completeness), when it counted any."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for f in findings.to_pylist():
        grouped[f["finding_class"]].append(f)
    rows: list[dict[str, Any]] = [
        {
            "finding_class": cls,
            "source": "file checks",
            "n_findings": len(items),
            "n_files": len({f["file_id"] for f in items}),
            "examples": "; ".join(_example(f) for f in items[:EXAMPLES]),
            "what": WHAT.get(cls, ""),
        }
        for cls, items in grouped.items()
    ]
    if reused:
        rows.append(
            {
                "finding_class": faults.EPISODE_ID_REUSED,
                "source": "warehouse",
                "n_findings": reused,
                "n_files": None,
                "examples": "; ".join(redact(e) for e in reused_examples[:EXAMPLES]),
                "what": WHAT[faults.EPISODE_ID_REUSED],
            }
        )
    rows.sort(key=lambda r: (-r["n_findings"], r["finding_class"]))
    return pa.Table.from_pylist(rows, schema=BY_CLASS_SCHEMA)


def status_counts(files: pa.Table) -> dict[str, int]:
    counts = Counter(files.column("status").to_pylist())
    return {s: counts.get(s, 0) for s in (LOADED, REJECTED, DUPLICATE)}


# --- the served warehouse ----------------------------------------------------------------------


def columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    """Column name -> type of `marts.<table>`, None when the served warehouse has no such table."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [SCHEMA, table],
    ).fetchall()
    return {name: kind for name, kind in rows} or None


def institution_name(con: duckdb.DuckDBPyConnection, orgnr: str) -> str | None:
    if columns(con, "dim_institution") is None:
        return None
    row = con.execute(
        f"select name from {SCHEMA}.dim_institution where orgnr = ? limit 1", [orgnr]
    ).fetchone()
    return row[0] if row else None


COMPLETENESS_COUNTS = (
    "n_ionising_procedures",
    "n_with_dose",
    "n_zxm_procedures",
    "n_dose_without_activity",
    "n_uninterpretable_units",
    "n_uninterpretable_codes",
    "n_reused_episode_ids",
)


def completeness_table(con: duckdb.DuckDBPyConnection, orgnr: str, year: int) -> pa.Table | None:
    """Months 1-12 of the year: the institution's dsa_reporting_completeness (zero where it has no
    row), its share with a dose indicator, and the national share of that month. None when the
    served warehouse has no such table."""
    cols = columns(con, "dsa_reporting_completeness")
    if cols is None or not {"n_ionising_procedures", "n_with_dose", "month"} <= set(cols):
        return None
    counts = [c for c in COMPLETENESS_COUNTS if c in cols]
    picked = ", ".join(f"coalesce(i.{c}, 0) as {c}" for c in counts)
    table = f"{SCHEMA}.dsa_reporting_completeness"
    return con.sql(
        f"""
        with months as (select cast(unnest(range(1, 13)) as integer) as month),
        inst as (select * from {table} where year = $year and institution_orgnr = $orgnr),
        nation as (
            select month, sum(n_with_dose) / nullif(sum(n_ionising_procedures), 0) as national_share_with_dose
            from {table} where year = $year group by month
        )
        select cast($year as integer) as year, m.month, {picked},
            i.n_with_dose / nullif(i.n_ionising_procedures, 0) as share_with_dose,
            n.national_share_with_dose
        from months as m
        left join inst as i on i.month = m.month
        left join nation as n on n.month = m.month
        order by m.month
        """,
        params={"year": year, "orgnr": orgnr},
    ).to_arrow_table()


def is_provisional(con: duckdb.DuckDBPyConnection, year: int) -> bool | None:
    cols = columns(con, "dsa_reporting_completeness")
    if cols is None or "is_provisional" not in cols:
        return None
    row = con.execute(
        f"select bool_or(is_provisional) from {SCHEMA}.dsa_reporting_completeness where year = ?", [year]
    ).fetchone()
    return row[0] if row else None


def reused_examples(con: duckdb.DuckDBPyConnection, orgnr: str, year: int) -> list[str]:
    """Episode ids the warehouse counts twice (`<id>#<n>`) for the institution in the year."""
    found: list[str] = []
    for table, day in (
        ("fct_imaging_examination", "examination_date"),
        ("fct_rt_attendance", "attendance_date"),
    ):
        cols = columns(con, table)
        if cols is None or not {"episode_id", "institution_orgnr", day} <= set(cols):
            continue
        found += [
            f"episodeID={e} ({d})"
            for e, d in con.execute(
                f"select distinct episode_id, {day} from {SCHEMA}.{table} where institution_orgnr = ? "
                f"and year({day}) = ? and episode_id like '%#%' order by 2, 1 limit {EXAMPLES}",
                [orgnr, year],
            ).fetchall()
        ]
    return found[:EXAMPLES]


def with_national(
    con: duckdb.DuckDBPyConnection, table: str, orgnr: str, year: int, share: str, part: str, whole: str
) -> pa.Table | None:
    """The institution's rows of `marts.<table>` for the year, each with `national_<share>`: Σ `part`
    / Σ `whole` over every institution at the same grain (year, month and the text columns other
    than the institution). None when the table is absent; without `part` and `whole`, the rows alone."""
    cols = columns(con, table)
    if cols is None or not {"year", "institution_orgnr"} <= set(cols):
        return None
    rows = con.sql(
        f"select * from {SCHEMA}.{table} where year = ? and institution_orgnr = ?", params=[year, orgnr]
    )
    if not {part, whole} <= set(cols):
        return rows.to_arrow_table()
    grain = ["year"] + (["month"] if "month" in cols else [])
    grain += [
        c for c, kind in cols.items() if kind == "VARCHAR" and c != "institution_orgnr" and c not in grain
    ]
    keys = ", ".join(f'"{c}"' for c in grain)
    on = " and ".join(f'n."{c}" is not distinct from i."{c}"' for c in grain)
    return con.sql(
        f"""
        with nation as (
            select {keys}, sum("{part}") / nullif(sum("{whole}"), 0) as "national_{share}"
            from {SCHEMA}.{table} where year = $year group by all
        )
        select i.*, n."national_{share}"
        from {SCHEMA}.{table} as i
        left join nation as n on {on}
        where i.year = $year and i.institution_orgnr = $orgnr
        order by {", ".join(f'i."{c}"' for c in grain)}
        """,
        params={"year": year, "orgnr": orgnr},
    ).to_arrow_table()


def monthly_national(
    con: duckdb.DuckDBPyConnection, table: str, orgnr: str, year: int, part: str, whole: str
) -> tuple[list[float | None], list[float | None]] | None:
    """Σ part / Σ whole by month 1-12, for the institution and for the nation (every other text
    column summed over); None when `marts.<table>` lacks a column for it."""
    cols = columns(con, table)
    if cols is None or not {"year", "month", "institution_orgnr", part, whole} <= set(cols):
        return None
    rows = con.execute(
        f"""
        select month,
            sum("{part}") filter (where institution_orgnr = $orgnr)
                / nullif(sum("{whole}") filter (where institution_orgnr = $orgnr), 0),
            sum("{part}") / nullif(sum("{whole}"), 0)
        from {SCHEMA}.{table} where year = $year group by month
        """,
        {"year": year, "orgnr": orgnr},
    ).fetchall()
    mine: list[float | None] = [None] * 12
    nation: list[float | None] = [None] * 12
    for month, own, national in rows:
        if month is not None and 1 <= month <= 12:
            mine[month - 1], nation[month - 1] = own, national
    return mine, nation

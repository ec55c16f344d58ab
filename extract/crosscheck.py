"""Checks across the pieces of one big file, in SQL over the pieces' own Parquet parts.

A piece knows only its own records, so for a file read in pieces the duplicate keys that span
pieces and every episode / equipment reference are checked here, after all pieces are written and
before the file's ledger row commits them. DuckDB runs with a memory limit and spills to disk, so
this stays within bounded memory whatever the file size (holding every key in Python would not).

The findings have exactly the form the reader gives a file read whole (same record key, and the
same detail text: built from the templates in `extract.model.faults`), so the lake does not
depend on whether a file was cut.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from extract import lake as lk
from extract.model import faults
from extract.model.faults import Finding
from extract.model.plan import any_plan

MEMORY_LIMIT = "96MB"


def _key_sql(module: str, table: str) -> str:
    """SQL for the record key the reader writes: carried keys and the element's first attribute."""
    names = any_plan(module).tables[table].key_names()
    return " || ';' || ".join(f"'{n}=' || coalesce(CAST(\"{n}\" AS VARCHAR), 'None')" for n in names)


def detail_sql(template: str) -> str:
    """A detail template of `extract.model.faults` as a SQL expression over the columns it names."""
    pieces = re.split(r"\{(\w+)\}", template)  # text, column, text, column, ..., text
    terms = [f"""'{p.replace("'", "''")}'""" if i % 2 == 0 else p for i, p in enumerate(pieces) if p or i % 2]
    return " || ".join(terms)


def _has(module: str, table: str) -> bool:
    return table in any_plan(module).tables


def cross_piece_findings(lake: Path, module: str, batch_id: str, file_id: str) -> pa.RecordBatch:
    """Findings (FINDINGS_SCHEMA) across the pieces `<batch_id>.<n>` of one file."""

    def parts(table: str) -> str:
        folder = lk.table_dir(lake, module, table)
        # A table none of the pieces had rows for: its zero-row schema part stands in.
        pattern = f"{batch_id}.*.parquet" if any(folder.glob(f"{batch_id}.*.parquet")) else lk.SCHEMA_PART
        return f"read_parquet('{folder / pattern}', filename = true)"

    selects: list[str] = []
    duplicates = (
        ("episode", "institusjonID, episodeID", faults.DUPLICATE_EPISODE),
        ("equipment", "utstyrID", faults.DUPLICATE_EQUIPMENT),
    )
    for table, key, text in duplicates:
        if not _has(module, table):
            continue
        # Within a piece the reader already reported it: here only a piece's first occurrence
        # of a key that an earlier piece had too. The keys seen more than once come first, from
        # the keys alone (few, and a file name per row would cost as much again); only their rows
        # are grouped by piece, windowed and given a record key and a text (2.7x faster than
        # grouping every row by piece, 6x faster than windows over all, measured on 1.1 GB).
        # A part file is one piece, so its name partitions by piece.
        selects.append(
            f"""
            SELECT '{table}' AS "table", record_no, {_key_sql(module, table)} AS record_key,
                '{faults.DUPLICATE_KEY}', {detail_sql(text)} AS detail
            FROM {parts(table)} AS t
            JOIN (
                WITH shared AS (SELECT {key} FROM {parts(table)} GROUP BY ALL HAVING count(*) > 1),
                firsts AS (
                    SELECT {key}, filename, min(record_no) AS record_no
                    FROM {parts(table)} SEMI JOIN shared USING ({key}) GROUP BY ALL
                )
                SELECT filename, record_no FROM firsts
                QUALIFY record_no > min(record_no) OVER (PARTITION BY {key})
            ) AS later USING (filename, record_no)"""
        )
    for table in ("rt_attendance", "dose_event"):
        if not _has(module, table):
            continue
        selects.append(
            f"""
            SELECT '{table}', record_no, {_key_sql(module, table)},
                '{faults.DANGLING_REFERENCE}', {detail_sql(faults.DANGLING_EQUIPMENT)}
            FROM {parts(table)} AS r
            WHERE NOT EXISTS (SELECT 1 FROM {parts("equipment")} AS u WHERE u.utstyrID = r.refUtstyr)"""
        )
    if _has(module, "rt_attendance") and _has(module, "episode"):
        selects.append(
            f"""
            SELECT 'rt_attendance', record_no, {_key_sql(module, "rt_attendance")},
                '{faults.DANGLING_REFERENCE}', {detail_sql(faults.DANGLING_EPISODE)}
            FROM {parts("rt_attendance")} AS r
            WHERE NOT EXISTS (
                SELECT 1 FROM {parts("episode")} AS e
                WHERE e.institusjonID = r.institusjonID AND e.episodeID = r.episodeID
            )"""
        )
    rows: list[Finding] = []
    if selects:
        import duckdb  # here, not at the top: worker processes import this module and never need it

        con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 1})
        try:
            con.execute(f"SET temp_directory = '{lk.duckdb_temp_dir(lake)}'")
            rows = con.execute(" UNION ALL ".join(selects)).fetchall()
        finally:
            con.close()
    return lk.findings_batch(file_id, module, rows)

"""Checks across the pieces of one big file, in SQL over the pieces' own Parquet parts.

A piece knows only its own records, so for a file read in pieces the duplicate keys that span
pieces and every episode / equipment reference are checked here, after all pieces are written and
before the file's ledger row commits them. DuckDB runs with a memory limit and spills to disk, so
this stays within bounded memory whatever the file size (holding every key in Python would not).

The findings have exactly the form the reader gives a file read whole (same record key, same
detail text), so the lake does not depend on whether a file was cut.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from extract import lake as lk
from extract.model import faults
from extract.model.messages import VERSIONS
from extract.reader import plan

MEMORY_LIMIT = "96MB"
# Tables and their columns are the same in every version (one message model): any version's plan.
_PLAN_VERSION = VERSIONS[0]


def _key_sql(module: str, table: str) -> str:
    """SQL for the record key the reader writes: carried keys and the element's first attribute."""
    info = plan(module, _PLAN_VERSION).tables[table]
    names = info.row_names[1 : len(info.row_names) - len(info.names) + 1]
    return " || ';' || ".join(f"'{n}=' || coalesce(CAST(\"{n}\" AS VARCHAR), 'None')" for n in names)


def _has(module: str, table: str) -> bool:
    return table in plan(module, _PLAN_VERSION).tables


def cross_piece_findings(lake: Path, module: str, batch_id: str) -> pa.Table:
    """Findings (FINDINGS_SCHEMA) across the pieces `<batch_id>.<n>` of one file."""

    def parts(table: str) -> str:
        folder = lk.table_dir(lake, module, table)
        # A table none of the pieces had rows for: its zero-row schema part stands in.
        pattern = f"{batch_id}.*.parquet" if any(folder.glob(f"{batch_id}.*.parquet")) else lk.SCHEMA_PART
        return f"read_parquet('{folder / pattern}', filename = true)"

    selects: list[str] = []
    duplicates = (
        (
            "episode",
            "institusjonID, episodeID",
            "'episodeID=' || episodeID || ' occurs twice in the institution'",
        ),
        ("equipment", "utstyrID", "'utstyrID=' || utstyrID || ' occurs twice'"),
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
            SELECT file_id, '{table}' AS "table", record_no, {_key_sql(module, table)} AS record_key,
                '{faults.DUPLICATE_KEY}', {text} AS detail
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
            SELECT file_id, '{table}', record_no, {_key_sql(module, table)},
                '{faults.DANGLING_REFERENCE}', 'refUtstyr=' || refUtstyr || ' is no Utstyr in the file'
            FROM {parts(table)} AS r
            WHERE NOT EXISTS (SELECT 1 FROM {parts("equipment")} AS u WHERE u.utstyrID = r.refUtstyr)"""
        )
    if _has(module, "rt_attendance") and _has(module, "episode"):
        selects.append(
            f"""
            SELECT file_id, 'rt_attendance', record_no, {_key_sql(module, "rt_attendance")},
                '{faults.DANGLING_REFERENCE}', 'episodeID=' || episodeID || ' is no Episode in the file'
            FROM {parts("rt_attendance")} AS r
            WHERE NOT EXISTS (
                SELECT 1 FROM {parts("episode")} AS e
                WHERE e.institusjonID = r.institusjonID AND e.episodeID = r.episodeID
            )"""
        )
    if not selects:
        return lk.FINDINGS_SCHEMA.empty_table()
    import duckdb  # here, not at the top: worker processes import this module and never need it

    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "threads": 1})
    try:
        con.execute(f"SET temp_directory = '{lake / '.tmp_duckdb'}'")
        sql = " UNION ALL ".join(selects)
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    cols = list(zip(*rows, strict=True)) if rows else [[]] * 6
    return pa.table(
        {
            "file_id": pa.array(cols[0], pa.string()),
            "module": pa.array([module] * len(rows), pa.string()),
            "table": pa.array(cols[1], pa.string()),
            "record_no": pa.array(cols[2], pa.int64()),
            "record_key": pa.array(cols[3], pa.string()),
            "finding_class": pa.array(cols[4], pa.string()),
            "detail": pa.array(cols[5], pa.string()),
        },
        schema=lk.FINDINGS_SCHEMA,
    )

"""The tables of a schema in a DuckDB warehouse: the one catalogue query that packaging, the
small-cell checks and publishing share."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb


def schema_tables(con: duckdb.DuckDBPyConnection, schema: str, prefixes: Iterable[str] = ()) -> list[str]:
    """Names of the tables (and views) of `schema`, sorted; only those starting with one of
    `prefixes` when any are given (a plain prefix test: `_` is a wildcard in SQL LIKE)."""
    wanted = tuple(prefixes)
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? order by table_name",
        [schema],
    ).fetchall()
    return [name for (name,) in rows if not wanted or name.startswith(wanted)]

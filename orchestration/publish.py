"""Publishing the served warehouse: what readers need from the build file, written to a temporary
file and renamed over the file readers open (plain Python, no Dagster; the serving asset calls it).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import duckdb

from deliver.package import open_warehouse, pause_point
from deliver.warehouse import schema_tables
from orchestration.lifetime import alive

# What readers need: the star schemas and delivery tables, and the reference data (seeds). Not
# staging or intermediate: they hold the lake's rows nearly as sent and are dbt's working space.
PUBLISHED_SCHEMAS = ("marts", "reference")
READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def _tmp_name(served: Path, pid: int) -> Path:
    return served.with_name(f".{served.name}.{pid}.tmp")


def publish(build: Path, served: Path) -> dict[str, int]:
    """Copy the published schemas of the build file into a new file and rename it over `served`.

    The rename is atomic: a reader that has the old file open keeps reading the old inode, a reader
    that opens after it sees the complete new file, and nobody ever sees a half-written one. The
    new file is read-only (mode 0444), and a write-ahead log left beside the served file (a client
    that opened it read-write) is removed: DuckDB would replay it onto the new file.
    Returns rows per table of schema `marts` in the published copy.
    """
    if not build.exists():
        raise FileNotFoundError(f"no build warehouse at {build}: run dbt build first")
    served.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(served, os.getpid())
    wal = Path(f"{served}.wal")
    try:
        _remove(tmp)
        _copy_schemas(build, tmp)
        pause_point("publish")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, READ_ONLY)
        # Counted on the temporary name, through a fresh instance: DuckDB caches open databases by
        # path within a process, so opening the served path could return a reader's old instance.
        rows = table_rows(tmp, "marts")
        wal.unlink(missing_ok=True)
        os.replace(tmp, served)
        wal.unlink(missing_ok=True)  # in case a writer made one between the two
        _fsync_dir(served.parent)
    finally:
        _remove(tmp)
    return rows


def _copy_schemas(build: Path, target: Path) -> None:
    """A new database file with the tables (and views, as tables) of `PUBLISHED_SCHEMAS`."""
    con = duckdb.connect(str(target))
    try:
        con.execute("ATTACH ? AS build (READ_ONLY)", [str(build)])
        for schema in PUBLISHED_SCHEMAS:
            names = [
                n
                for (n,) in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_catalog = 'build' and table_schema = ? order by table_name",
                    [schema],
                ).fetchall()
            ]
            if not names:
                continue
            con.execute(f'create schema "{schema}"')
            for name in names:
                con.execute(f'create table "{schema}"."{name}" as select * from build."{schema}"."{name}"')
        con.execute("DETACH build")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _remove(tmp: Path) -> None:
    for f in (tmp, Path(f"{tmp}.wal")):
        f.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_TMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp(\.wal)?$")


def remove_leftovers(served: Path) -> list[Path]:
    """Delete the temporary files of publishes whose process is gone; returns what was removed."""
    removed = []
    for f in served.parent.glob(f".{served.name}.*.tmp*") if served.parent.is_dir() else ():
        m = _TMP.match(f.name)
        if m and m["name"] == served.name and not alive(int(m["pid"])):
            f.unlink(missing_ok=True)
            removed.append(f)
    return removed


def table_rows(database: Path, schema: str) -> dict[str, int]:
    """Rows per table of one schema (read-only)."""
    with open_warehouse(database) as con:
        return {
            n: con.execute(f'select count(*) from {schema}."{n}"').fetchall()[0][0]
            for n in schema_tables(con, schema)
        }

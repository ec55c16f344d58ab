"""Publishing the served warehouse: the build file copied and renamed over the file readers open
(plain Python, no Dagster; the serving asset calls it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from deliver.warehouse import schema_tables


def publish(build: Path, served: Path) -> dict[str, int]:
    """Copy the build file to a temporary name and rename it over the served file.

    The rename is atomic: a reader that has the old file open keeps reading the old inode, a reader
    that opens after it sees the complete new file, and nobody ever sees a half-copied one.
    Returns rows per table of schema `marts` in the published copy.
    """
    if not build.exists():
        raise FileNotFoundError(f"no build warehouse at {build}: run dbt build first")
    if Path(f"{build}.wal").exists():
        # Fold the write-ahead log into the file so that a plain copy is complete.
        with duckdb.connect(str(build)) as con:
            con.execute("CHECKPOINT")
    served.parent.mkdir(parents=True, exist_ok=True)
    tmp = served.with_name(f".{served.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(build, tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        # Counted on the temporary name: DuckDB caches open databases by path within a process,
        # so opening the served path here could return a reader's old instance.
        rows = table_rows(tmp, "marts")
        os.replace(tmp, served)
    finally:
        tmp.unlink(missing_ok=True)
    return rows


def table_rows(database: Path, schema: str) -> dict[str, int]:
    """Rows per table of one schema (read-only)."""
    with duckdb.connect(str(database), read_only=True) as con:
        return {
            n: con.execute(f'select count(*) from {schema}."{n}"').fetchall()[0][0]
            for n in schema_tables(con, schema)
        }

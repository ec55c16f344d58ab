"""Package one delivery folder from the served warehouse: tables, spreadsheet, manifest, diff, report.

Pure Python (no Dagster, no settings of its own): the CLI and the Dagster delivery assets call
`deliver` with the served warehouse, the lake, the deliveries folder and dbt's manifest, the one
source of each delivery model's grain (`config.meta.grain`) and documentation.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import xlsxwriter

from deliver.diff import diff_deliveries
from deliver.report import write_report
from deliver.warehouse import schema_tables
from extract.inbox import file_hash
from extract.lake import read_ledger
from extract.paths import PROJECT_ROOT

KINDS = ("dsa", "rhf")
SCHEMA = "marts"
MANIFEST = "manifest.json"
# Fault injection for the crash tests: with STRALEBRUK_PAUSE_AT=<point>, the process writes
# <point> to the file STRALEBRUK_PAUSE_MARKER names and waits there (to be killed).
PAUSE_AT = "STRALEBRUK_PAUSE_AT"
PAUSE_MARKER = "STRALEBRUK_PAUSE_MARKER"


class DeliveryError(RuntimeError):
    """A delivery cannot be written (no served warehouse, no tables, bad arguments)."""


@dataclass
class DeliveryTable:
    name: str
    grain: list[str]
    data: pa.Table
    description: str = ""
    datatap: float | None = None
    columns: dict[str, str] = field(default_factory=dict)


def grain_keys(dbt_manifest: Path) -> dict[str, dict]:
    """Grain (`config.meta.grain`), description and column descriptions of every model of the
    project, by model name, from dbt's manifest.json (what `dbt parse` made of the models' YAML)."""
    if not dbt_manifest.is_file():
        raise DeliveryError(f"no dbt manifest at {dbt_manifest}: run `make prepare` (dbt parse) first")
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    project = manifest["metadata"]["project_name"]
    found: dict[str, dict] = {}
    for node in manifest["nodes"].values():
        # the project's own models only: an installed package's model of the same name is not ours
        if node["resource_type"] != "model" or node["package_name"] != project:
            continue
        found[node["name"]] = {
            "grain": (node["config"].get("meta") or {}).get("grain"),
            "description": " ".join(str(node.get("description") or "").split()),
            "columns": {name: c.get("description", "") for name, c in node.get("columns", {}).items()},
        }
    return found


def _code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return f"stralebruk {metadata.version('stralebruk')}"


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _sha256(path: Path) -> str:
    return file_hash(str(path))


def _ledger_inputs(lake: Path) -> list[dict]:
    """Every file the lake has seen (the ledger): its name (path in the inbox), SHA-256 (`file_id`)
    and status, nothing more: a rejection's reason can quote the file, personal data included."""
    rows = read_ledger(lake).select(["path", "file_id", "status"]).to_pylist()
    return sorted(
        ({"name": r["path"], "file_id": r["file_id"], "status": r["status"]} for r in rows),
        key=lambda r: (str(r["file_id"]), str(r["name"])),
    )


def _read_tables(
    con: duckdb.DuckDBPyConnection, kind: str, year: int, month: int | None, docs: dict[str, dict]
) -> list[DeliveryTable]:
    names = schema_tables(con, SCHEMA, [f"{kind}_"])
    if not names:
        raise DeliveryError(
            f"the served warehouse has no {SCHEMA}.{kind}_* tables: run `stralebruk run` first"
        )
    tables = []
    for name in names:
        cols = [r[0] for r in con.execute(f"describe {SCHEMA}.{name}").fetchall()]
        where, params = ["year = ?"], [year]
        if month is not None and "month" in cols:
            where.append("month = ?")
            params.append(month)
        doc = docs.get(name, {})
        grain = [c for c in (doc.get("grain") or cols) if c in cols]
        order = ", ".join(f'"{c}"' for c in grain)
        data = con.sql(
            f"select * from {SCHEMA}.{name} where {' and '.join(where)} order by {order}", params=params
        ).to_arrow_table()
        # datatap is constant per partition (year, or year x breakdown): report the largest
        losses = [v for v in data.column("datatap").to_pylist() if v is not None] if "datatap" in cols else []
        datatap = max(losses) if losses else None
        tables.append(
            DeliveryTable(name, grain, data, doc.get("description", ""), datatap, doc.get("columns", {}))
        )
    return tables


def _parameters(con: duckdb.DuckDBPyConnection) -> dict:
    try:
        rows = con.execute(f"select parameter, value_json from {SCHEMA}.delivery_parameters").fetchall()
    except duckdb.CatalogException:
        return {}
    return {name: json.loads(value) for name, value in rows}


def _write_xlsx(path: Path, tables: list[DeliveryTable], manifest: dict) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "nan_inf_to_errors": True})
    bold = book.add_format({"bold": True})
    about = book.add_worksheet("about")
    about.write_row(0, 0, ["delivery", f"{manifest['kind']} {manifest['period']}"], bold)
    for i, (k, v) in enumerate(
        [
            ("cut", manifest["cut"]),
            ("code version", manifest["code_version"]),
            ("created", manifest["created_at"]),
        ],
        start=1,
    ):
        about.write_row(i, 0, [k, v])
    for j, t in enumerate(tables, start=5):
        about.write_row(j, 0, [t.name, t.data.num_rows, t.description])
    for t in tables:
        sheet = book.add_worksheet(t.name[:31])
        sheet.write_row(0, 0, t.data.column_names, bold)
        for i, row in enumerate(t.data.to_pylist(), start=1):
            sheet.write_row(i, 0, [_cell(v) for v in row.values()])
        sheet.freeze_panes(1, 0)
    book.close()


def _cell(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _previous_delivery(kind_dir: Path, year: int, month: int | None) -> Path | None:
    """The most recent earlier delivery of the kind, preferring one of the same period."""
    candidates = []
    for folder in kind_dir.iterdir() if kind_dir.is_dir() else []:
        manifest = folder / MANIFEST
        if folder.name.startswith((".", "_")) or not manifest.is_file():
            continue
        m = json.loads(manifest.read_text(encoding="utf-8"))
        same = m.get("year") == year and m.get("month") == month
        candidates.append((same, m.get("created_at", ""), folder))
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[0], c[1]))[2]


def _folder_name(kind_dir: Path, cut: str) -> str:
    name, n = cut, 1
    while (kind_dir / name).exists():
        n += 1
        name = f"{cut}_v{n}"
    return name


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the DuckDB file at `path` as it is now, whatever else this process
    has open: a new in-memory database that attaches the file. (`duckdb.connect(path)` returns the
    database already open under that path in this process, so after a publish it would still show
    the old file until every connection to it is closed.) Use it as a context manager or close it."""
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS warehouse (READ_ONLY)", [str(path)])
        con.execute("USE warehouse")
    except BaseException:
        con.close()
        raise
    return con


def pause_point(name: str) -> None:
    """Wait here forever when the crash tests ask for it (see PAUSE_AT); else nothing."""
    if os.environ.get(PAUSE_AT) != name:
        return
    Path(os.environ[PAUSE_MARKER]).write_text(f"{name} {os.getpid()}\n", encoding="utf-8")
    while True:
        time.sleep(60)


@contextlib.contextmanager
def _kind_lock(kind_dir: Path) -> Iterator[None]:
    """One delivery of a kind at a time (across processes): the folder name, the previous delivery
    and the rename are decided under it. An flock on the kind's folder itself (no lock file among
    the deliveries); it goes with its process, however that ends."""
    fd = os.open(kind_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


_TMP = re.compile(r"^\.tmp-.*-(?P<pid>\d+)$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_leftovers(deliveries: Path) -> list[Path]:
    """Delete the temporary folders (`<kind>/.tmp-*-<pid>`) of deliveries whose process is gone;
    returns what was removed."""
    removed = []
    for kind_dir in (deliveries / k for k in KINDS):
        for tmp in kind_dir.glob(".tmp-*") if kind_dir.is_dir() else ():
            m = _TMP.match(tmp.name)
            if m and not _pid_alive(int(m["pid"])):
                shutil.rmtree(tmp, ignore_errors=True)
                removed.append(tmp)
    return removed


def deliver(
    kind: str,
    *,
    year: int,
    month: int | None = None,
    warehouse: Path,
    lake: Path,
    deliveries: Path,
    dbt_manifest: Path,
    cut: str | dt.date | None = None,
) -> Path:
    """Write `<deliveries>/<kind>/<cut>/` from the served `warehouse` file and return its path.

    Tables `<kind>_*` of schema marts, filtered to the year (and month, for tables that have one), as
    CSV and Parquet; delivery.xlsx; manifest.json; diff.json against the previous delivery of the
    kind; report.html. Written to a temporary folder and renamed, so a folder is whole or absent. A
    cut that was already delivered gets a `_v2`, `_v3` ... folder: a sent delivery is never rewritten.
    Deliveries of a kind are written one at a time (an flock on the kind's folder), so two at
    once get two folders, and temporary folders of dead processes are removed. A period without a
    row in any table raises DeliveryError and writes nothing. The manifest lists the files of the
    `lake`'s ledger by name, SHA-256 and status; `dbt_manifest` gives each table's grain.
    """
    if kind not in KINDS:
        raise DeliveryError(f"unknown delivery kind {kind!r}: expected one of {', '.join(KINDS)}")
    if month is not None and not 1 <= month <= 12:
        raise DeliveryError(f"month must be 1-12, got {month}")
    if not warehouse.is_file():
        raise DeliveryError(f"no served warehouse at {warehouse}: run `stralebruk run` first")
    try:
        cut_date = cut if isinstance(cut, dt.date) else dt.date.fromisoformat(str(cut or dt.date.today()))
    except ValueError as exc:
        raise DeliveryError(f"cut must be a date (YYYY-MM-DD), got {cut!r}") from exc
    docs = grain_keys(dbt_manifest)
    with open_warehouse(warehouse) as con:
        tables = _read_tables(con, kind, year, month, docs)
        parameters = _parameters(con)
        all_years = {t.name: con.sql(f"select * from {SCHEMA}.{t.name}").to_arrow_table() for t in tables}
    period = f"{year}" + (f"-{month:02d}" if month else "")
    if not any(t.data.num_rows for t in tables):
        years = sorted(
            {y for t in all_years.values() if "year" in t.column_names for y in t["year"].to_pylist()}
        )
        raise DeliveryError(
            f"no {kind} data for {period} in {warehouse}: nothing written"
            + (f" (years with data: {', '.join(map(str, years))})" if years else " (the tables are empty)")
        )

    kind_dir = deliveries / kind
    kind_dir.mkdir(parents=True, exist_ok=True)
    with _kind_lock(kind_dir):
        return _write(
            kind, year, month, period, cut_date, tables, parameters, all_years, kind_dir, warehouse, lake
        )


def _write(
    kind: str,
    year: int,
    month: int | None,
    period: str,
    cut_date: dt.date,
    tables: list[DeliveryTable],
    parameters: dict,
    all_years: dict[str, pa.Table],
    kind_dir: Path,
    warehouse: Path,
    lake: Path,
) -> Path:
    remove_leftovers(kind_dir.parent)
    previous = _previous_delivery(kind_dir, year, month)
    final = kind_dir / _folder_name(kind_dir, cut_date.isoformat())
    tmp = kind_dir / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        files = {}
        for t in tables:
            pa_csv.write_csv(t.data, tmp / f"{t.name}.csv")
            pq.write_table(t.data, tmp / f"{t.name}.parquet")
            files[t.name] = {"csv": f"{t.name}.csv", "parquet": f"{t.name}.parquet"}
        manifest: dict[str, Any] = {
            "kind": kind,
            "year": year,
            "month": month,
            "period": period,
            "cut": cut_date.isoformat(),
            "folder": final.name,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "code_version": _code_version(),
            "dbt_version": _version("dbt-core"),
            "dbt_duckdb_version": _version("dbt-duckdb"),
            "duckdb_version": duckdb.__version__,
            "warehouse": {"path": str(warehouse), "sha256": _sha256(warehouse)},
            "parameters": parameters,
            "tables": {
                t.name: {
                    "rows": t.data.num_rows,
                    "grain": t.grain,
                    "datatap": t.datatap,
                    "files": files[t.name],
                    "description": t.description,
                }
                for t in tables
            },
            "input_files": _ledger_inputs(lake),
            "previous_delivery": previous.name if previous else None,
            # as the build flagged it (dbt var cut_date): the year is complete after April of the next
            "provisional": any(
                any(t.data.column("is_provisional").to_pylist())
                for t in tables
                if "is_provisional" in t.data.column_names
            ),
        }
        for t in tables:
            for fmt, fname in files[t.name].items():
                manifest["tables"][t.name]["files"][fmt] = {"name": fname, "sha256": _sha256(tmp / fname)}
        diff = diff_deliveries(previous, {t.name: (t.grain, t.data) for t in tables})
        (tmp / "diff.json").write_text(json.dumps(diff, indent=2, default=str), encoding="utf-8")
        _write_xlsx(tmp / "delivery.xlsx", tables, manifest)
        write_report(tmp / "report.html", manifest, tables, all_years, diff)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        pause_point("deliver")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final

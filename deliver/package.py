"""Package one delivery folder from the served warehouse: tables, spreadsheet, manifest, diff, report.

Pure Python (no Dagster, no settings of its own): the CLI and the Dagster delivery assets call
`make_delivery` (or `deliver`, which returns only the folder) with the served warehouse, the lake,
the deliveries folder and dbt's manifest, the one source of each delivery model's grain
(`config.meta.grain`), time-series flag (`config.meta.time_series`) and documentation. A new folder
is written only when the content differs from the period's latest delivery (deliver/diff.py).
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
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import xlsxwriter

from deliver import warehouse_stamp
from deliver.diff import Comparison, compare_with_latest, content_fingerprint, diff_deliveries
from deliver.report import write_report
from deliver.warehouse import schema_tables
from extract.inbox import file_hash
from extract.lake import read_ledger
from extract.paths import PROJECT_ROOT

KINDS = ("dsa", "rhf")
SCHEMA = "marts"
MANIFEST = "manifest.json"
# A time-series delivery table (config.meta.time_series) holds the delivery year and this many before it.
# years a time-series table shows when the build recorded no `trend_years` delivery parameter
DEFAULT_TREND_YEARS = 5
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
    years: tuple[int, int] | None = None  # (first, last): a time-series table; None: the year alone
    rows_of_year: int = 0  # rows of the delivery year itself


@dataclass(frozen=True)
class Delivery:
    """What `make_delivery` did. `new`: it wrote `folder`; otherwise the content equals the period's
    latest delivery and `folder` is that existing folder (nothing was written). `supersedes`: the
    period's previous folder a new one replaces (None for the period's first delivery, and when not
    new). `warehouse`: the served file read, as `warehouse_stamp` gives it."""

    kind: str
    year: int
    month: int | None
    period: str
    folder: Path
    new: bool
    supersedes: str | None
    content_sha256: str
    warehouse: dict[str, Any]

    @property
    def unchanged(self) -> bool:
        return not self.new


def grain_keys(dbt_manifest: Path) -> dict[str, dict]:
    """Grain (`config.meta.grain`), time-series flag (`config.meta.time_series`), description and
    column descriptions of every model of the project, by model name, from dbt's manifest.json (what
    `dbt parse` made of the models' YAML)."""
    if not dbt_manifest.is_file():
        raise DeliveryError(f"no dbt manifest at {dbt_manifest}: run `make prepare` (dbt parse) first")
    manifest = json.loads(dbt_manifest.read_text(encoding="utf-8"))
    project = manifest["metadata"]["project_name"]
    found: dict[str, dict] = {}
    for node in manifest["nodes"].values():
        # the project's own models only: an installed package's model of the same name is not ours
        if node["resource_type"] != "model" or node["package_name"] != project:
            continue
        meta = node["config"].get("meta") or {}
        found[node["name"]] = {
            "grain": meta.get("grain"),
            "time_series": meta.get("time_series") is True,
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
    con: duckdb.DuckDBPyConnection,
    kind: str,
    year: int,
    month: int | None,
    docs: dict[str, dict],
    trend_years: int = DEFAULT_TREND_YEARS,
) -> list[DeliveryTable]:
    """The rows of every `<kind>_*` table for the delivery: the year (and the month, for a table that
    has one, when one is asked for); a time-series table (`meta.time_series`) the year and the
    `trend_years` - 1 years before it (the build's delivery parameter), never by month. Ordered by
    grain."""
    names = schema_tables(con, SCHEMA, [f"{kind}_"])
    if not names:
        raise DeliveryError(
            f"the served warehouse has no {SCHEMA}.{kind}_* tables: run `stralebruk run` first"
        )
    tables = []
    for name in names:
        cols = [r[0] for r in con.execute(f"describe {SCHEMA}.{name}").fetchall()]
        doc = docs.get(name, {})
        years = (year - trend_years + 1, year) if doc.get("time_series") else None
        if years is not None:
            where, params = ["year between ? and ?"], list(years)
        else:
            where, params = ["year = ?"], [year]
            if month is not None and "month" in cols:
                where.append("month = ?")
                params.append(month)
        grain = [c for c in (doc.get("grain") or cols) if c in cols]
        order = ", ".join(f'"{c}"' for c in grain)
        data = con.sql(
            f"select * from {SCHEMA}.{name} where {' and '.join(where)} order by {order}", params=params
        ).to_arrow_table()
        # datatap is constant per partition (year, or year x breakdown): the delivery year's largest
        in_year = data.filter(pc.field("year") == year)
        losses = (
            [v for v in in_year.column("datatap").to_pylist() if v is not None] if "datatap" in cols else []
        )
        datatap = max(losses, default=None)
        description, columns = doc.get("description", ""), doc.get("columns", {})
        tables.append(
            DeliveryTable(name, grain, data, description, datatap, columns, years, in_year.num_rows)
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
    """Delete what deliveries whose process is gone left: temporary folders (`<kind>/.tmp-*-<pid>`)
    and half-written check records (`.tmp-checked-<kind>-<pid>`); returns what was removed."""
    removed = []
    for kind_dir in (deliveries, *(deliveries / k for k in KINDS)):
        for tmp in kind_dir.glob(".tmp-*") if kind_dir.is_dir() else ():
            m = _TMP.match(tmp.name)
            if m and not _pid_alive(int(m["pid"])):
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)
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
    """`make_delivery`, returning only the folder that holds the period's delivery now: the one it
    wrote, or the latest existing one when the content is unchanged."""
    return make_delivery(
        kind,
        year=year,
        month=month,
        warehouse=warehouse,
        lake=lake,
        deliveries=deliveries,
        dbt_manifest=dbt_manifest,
        cut=cut,
    ).folder


def make_delivery(
    kind: str,
    *,
    year: int,
    month: int | None = None,
    warehouse: Path,
    lake: Path,
    deliveries: Path,
    dbt_manifest: Path,
    cut: str | dt.date | None = None,
) -> Delivery:
    """Write `<deliveries>/<kind>/<cut>/` from the served `warehouse` file when its content is new.

    Tables `<kind>_*` of schema marts, filtered to the year (and month, for tables that have one);
    a time-series table (dbt `meta.time_series`) to the year and the four before it, never by
    month. As CSV and Parquet; delivery.xlsx; manifest.json; diff.json against the previous delivery
    of the kind (the same period's latest if there is one); report.html.

    Content is every table's rows and the delivery parameters (not the cut, the time, the warehouse
    file, the code version or the input files). When it equals that of the latest delivery of the
    same kind and period (the manifest's `content_sha256` over rows rounded to 12 significant
    digits, else the row-level diff with its float tolerance), nothing is written and the result
    names that folder with `new` False. Otherwise the new folder's manifest `supersedes` the
    period's previous folder, and diff.json says what changed.

    Written to a temporary folder and renamed, so a folder is whole or absent. A cut that was
    already delivered gets a `_v2`, `_v3` ... folder: a sent delivery is never rewritten.
    Deliveries of a kind are decided and written one at a time (an flock on the kind's folder), so
    two at once with the same content give one folder, and temporary folders of dead processes are
    removed. A period without a row of its year in any table raises DeliveryError and writes
    nothing. The manifest lists the files of the `lake`'s ledger by name, SHA-256 and status;
    `dbt_manifest` gives each table's grain and time-series flag.
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
    stamp = warehouse_stamp(warehouse)  # before reading: a publish meanwhile makes the record stale
    with open_warehouse(warehouse) as con:
        parameters = _parameters(con)
        tables = _read_tables(
            con, kind, year, month, docs, int(parameters.get("trend_years", DEFAULT_TREND_YEARS))
        )
        all_years = {t.name: con.sql(f"select * from {SCHEMA}.{t.name}").to_arrow_table() for t in tables}
    period = f"{year}" + (f"-{month:02d}" if month else "")
    if not any(t.rows_of_year for t in tables):
        years = sorted(
            {y for t in all_years.values() if "year" in t.column_names for y in t["year"].to_pylist()}
        )
        raise DeliveryError(
            f"no {kind} data for {period} in {warehouse}: nothing written"
            + (f" (years with data: {', '.join(map(str, years))})" if years else " (the tables are empty)")
        )
    fingerprint = content_fingerprint({t.name: t.data for t in tables}, parameters)

    kind_dir = deliveries / kind
    kind_dir.mkdir(parents=True, exist_ok=True)
    with _kind_lock(kind_dir):
        remove_leftovers(deliveries)
        grains_and_rows = {t.name: (t.grain, t.data) for t in tables}
        found = compare_with_latest(kind_dir, year, month, grains_and_rows, parameters, fingerprint)
        if found.unchanged and found.latest is not None:
            return Delivery(kind, year, month, period, found.latest, False, None, fingerprint, stamp)
        content = _Content(tables, parameters, all_years, fingerprint, found)
        folder = _write(kind, year, month, period, cut_date, content, kind_dir, warehouse, lake)
        supersedes = found.latest.name if found.latest is not None else None
        return Delivery(kind, year, month, period, folder, True, supersedes, fingerprint, stamp)


@dataclass
class _Content:
    """What a new folder holds, and how it compares with the deliveries before it."""

    tables: list[DeliveryTable]
    parameters: dict
    all_years: dict[str, pa.Table]
    fingerprint: str
    compared: Comparison


def _write(
    kind: str,
    year: int,
    month: int | None,
    period: str,
    cut_date: dt.date,
    content: _Content,
    kind_dir: Path,
    warehouse: Path,
    lake: Path,
) -> Path:
    tables, previous, diff = content.tables, content.compared.previous, content.compared.diff
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
            "parameters": content.parameters,
            "content_sha256": content.fingerprint,
            "tables": {
                t.name: {
                    "rows": t.data.num_rows,
                    "grain": t.grain,
                    "datatap": t.datatap,
                    "files": files[t.name],
                    "description": t.description,
                    **({"time_series": True, "years": list(t.years)} if t.years else {}),
                }
                for t in tables
            },
            "input_files": _ledger_inputs(lake),
            # the delivery diff.json compares with; `supersedes`: the same period's, which this replaces
            "previous_delivery": previous.name if previous else None,
            "supersedes": content.compared.latest.name if content.compared.latest else None,
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
        if diff is None:  # against another period's delivery, or the period's first
            diff = diff_deliveries(previous, {t.name: (t.grain, t.data) for t in tables}, content.parameters)
        (tmp / "diff.json").write_text(json.dumps(diff, indent=2, default=str), encoding="utf-8")
        _write_xlsx(tmp / "delivery.xlsx", tables, manifest)
        write_report(tmp / "report.html", manifest, tables, content.all_years, diff)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        pause_point("deliver")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final

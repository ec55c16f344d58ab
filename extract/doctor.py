"""The lake's doctor: check every lake and ledger part in full, say what is wrong and what will be
done, quarantine the bad parts and re-ingest their files from the inbox, so the lake ends in the
state of one clean run. `python -m extract.doctor --inbox DIR --lake DIR [--build FILE] [--check]`.

- Every part (table, findings, ledger) is read in full with its page checksums verified
  (`extract.lake.verify_part`; parts written before page checksums were on are only decoded), and
  its schema compared with the one it must have.
- Every committed batch is reconciled: the rows of its parts per table, and its findings, must be
  what its ledger part says its loaded files gave (a lost part shows here).
- A bad batch (a bad ledger part or a bad or missing part of it) is quarantined whole: its ledger
  part and every part of it move to `<lake>/_quarantine/<when>/` (kept for inspection, never read
  again). Its files are then no longer in the ledger, so the ingest that follows reads them again
  from the inbox (a copy of such a file recorded as duplicate stays a duplicate: the original is
  loaded again, since a duplicate counts only against a loaded file). A bad zero-row schema part
  is quarantined and written anew.
- `build`: a DuckDB file (the build warehouse) that does not open or whose tables cannot be read
  through is deleted: the next build makes it anew.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from extract import lake as lk
from extract.model.faults import LOADED
from extract.model.messages import MODULES, lake_tables
from extract.model.plan import arrow_schema

QUARANTINE_DIR = "_quarantine"


@dataclass
class Problem:
    path: str  # relative to the lake (or the build file's path)
    what: str
    action: str

    def __str__(self) -> str:
        return f"{self.path}: {self.what} -> {self.action}"


@dataclass
class DoctorReport:
    problems: list[Problem] = field(default_factory=list)
    parts_checked: int = 0
    quarantined: list[str] = field(default_factory=list)
    quarantine: str | None = None
    reingested: dict[str, int] = field(default_factory=dict)  # loaded / rejected / duplicate

    @property
    def healthy(self) -> bool:
        return not self.problems


def _error(e: Exception) -> str:
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]


def _check(part: Path, schema: pa.Schema) -> tuple[pa.Table | None, str | None]:
    try:
        table = lk.verify_part(part)
    except Exception as e:  # any failure to read is the finding
        return None, f"unreadable ({_error(e)})"
    if not table.schema.equals(schema):
        return None, "schema differs from the lake's"
    return table, None


def _table_folders(lake: Path) -> list[tuple[str, Path, pa.Schema]]:
    out = [
        (f"{m}/{t}", lk.table_dir(lake, m, t), arrow_schema(m, t)) for m in MODULES for t in lake_tables(m)
    ]
    out.append((lk.FINDINGS_DIR, lk.findings_dir(lake), lk.FINDINGS_SCHEMA))
    return out


def examine(lake: Path) -> tuple[list[Problem], set[str], int]:
    """(problems, bad batches, parts checked): reads only."""
    problems: list[Problem] = []
    bad: set[str] = set()
    checked = 0
    expected: Counter[tuple[str, str]] = Counter()  # (batch, table label) -> rows
    committed: set[str] = set()
    for part in sorted(lk.ledger_dir(lake).glob("*.parquet")):
        checked += 1
        table, why = _check(part, lk.LEDGER_SCHEMA)
        rel = part.relative_to(lake).as_posix()
        if part.name == lk.SCHEMA_PART:
            if why:
                problems.append(Problem(rel, why, "quarantine; written anew"))
            continue
        batch = part.name.split(".", 1)[0]
        if table is None:
            bad.add(batch)
            problems.append(
                Problem(rel, why or "", "quarantine with the batch's parts; its files are read again")
            )
            continue
        committed.add(batch)
        for r in table.select(["module", "status", "rows", "findings"]).to_pylist():
            if r["status"] != LOADED:
                continue
            for name, n in json.loads(r["rows"] or "{}").items():
                expected[(batch, f"{r['module']}/{name}")] += n
            expected[(batch, lk.FINDINGS_DIR)] += r["findings"] or 0
    actual: Counter[tuple[str, str]] = Counter()
    orphans: set[str] = set()
    for label, folder, schema in _table_folders(lake):
        for part in sorted(folder.glob("*.parquet")) if folder.exists() else []:
            checked += 1
            table, why = _check(part, schema)
            rel = part.relative_to(lake).as_posix()
            if part.name == lk.SCHEMA_PART:
                if why or (table is not None and table.num_rows):
                    problems.append(Problem(rel, why or "rows in a schema part", "quarantine; written anew"))
                continue
            batch = part.name.split(".", 1)[0]
            if table is None:
                bad.add(batch)
                problems.append(Problem(rel, why or "", "quarantine the batch; its files are read again"))
                continue
            if batch not in committed and batch not in bad:
                orphans.add(batch)
                problems.append(
                    Problem(
                        rel,
                        "no ledger part commits it (an interrupted run, or its ledger part is lost)",
                        "quarantine; its files are read again",
                    )
                )
                continue
            actual[(batch, label)] += table.num_rows
    for batch in sorted(committed - bad):
        labels = {lb for b, lb in expected if b == batch} | {lb for b, lb in actual if b == batch}
        wrong = [lb for lb in sorted(labels) if expected[(batch, lb)] != actual[(batch, lb)]]
        if wrong:
            bad.add(batch)
            detail = ", ".join(
                f"{lb}: {actual[(batch, lb)]} rows, ledger {expected[(batch, lb)]}" for lb in wrong
            )
            problems.append(
                Problem(
                    f"{lk.LEDGER_DIR}/{batch}.parquet",
                    f"rows do not reconcile ({detail})",
                    "quarantine the batch; its files are read again",
                )
            )
    return problems, bad | orphans, checked


def _quarantine(lake: Path, part: Path, dest: Path) -> str:
    rel = part.relative_to(lake)
    target = dest / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(part), str(target))
    return rel.as_posix()


def check_build(build: Path) -> str | None:
    """Why a DuckDB file cannot be used (None when it opens and every table reads through)."""
    import duckdb  # here: the lake side of the doctor needs no DuckDB

    try:
        with duckdb.connect(str(build), read_only=True) as con:
            tables = con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
            ).fetchall()
            for schema, name in tables:
                con.execute(f'select count(*), bit_xor(hash(columns(*))) from "{schema}"."{name}"').fetchall()
    except Exception as e:  # any failure to open or read is the finding
        return f"does not open or read ({_error(e)})"
    return None


def doctor(
    lake: Path,
    inbox: Path | None = None,
    *,
    build: Path | None = None,
    repair: bool = True,
    workers: int | None = None,
) -> DoctorReport:
    """Check the lake (and `build`); with `repair`, quarantine what is bad and re-ingest from `inbox`."""
    from extract.ingest import ingest

    lake = Path(lake)
    report = DoctorReport()
    with lk.lake_lock(lake):
        problems, bad, report.parts_checked = examine(lake)
        report.problems = problems
        if repair and problems:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
            dest = lake / QUARANTINE_DIR / stamp
            report.quarantine = str(dest)
            for p in problems:
                part = lake / p.path
                if part.name == lk.SCHEMA_PART and part.exists():
                    report.quarantined.append(_quarantine(lake, part, dest))
            for folder in [lk.ledger_dir(lake), *(f for _, f, _ in _table_folders(lake))]:
                for part in sorted(folder.glob("*.parquet")) if folder.exists() else []:
                    if part.name != lk.SCHEMA_PART and part.name.split(".", 1)[0] in bad:
                        report.quarantined.append(_quarantine(lake, part, dest))
    if build is not None and Path(build).exists():
        why = check_build(Path(build))
        if why is not None:
            report.problems.append(
                Problem(str(build), why, "delete; the next build makes it anew" if repair else "delete")
            )
            if repair:
                Path(build).unlink()
                Path(f"{build}.wal").unlink(missing_ok=True)
    if (
        repair
        and inbox is not None
        and bad | {p.path for p in report.problems if p.path.endswith(lk.SCHEMA_PART)}
    ):
        s = ingest(
            Path(inbox), lake, workers=workers
        )  # orphans go, schema parts come back, files are read again
        report.reingested = {"loaded": s.loaded, "rejected": s.rejected, "duplicate": s.duplicates}
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m extract.doctor",
        description="Check every lake and ledger part in full (page checksums, schemas, rows against the "
        "ledger); quarantine bad parts and re-ingest their files from the inbox.",
    )
    p.add_argument("--lake", type=Path, required=True)
    p.add_argument("--inbox", type=Path, required=True)
    p.add_argument(
        "--build", type=Path, default=None, help="the build warehouse file: deleted if it does not open"
    )
    p.add_argument("--check", action="store_true", help="only report; change nothing")
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args(argv)
    report = doctor(args.lake, args.inbox, build=args.build, repair=not args.check, workers=args.workers)
    print(f"{report.parts_checked} parts checked; {len(report.problems)} problems")
    for problem in report.problems:
        print(f"  {problem}")
    if report.quarantined:
        print(f"{len(report.quarantined)} parts moved to {report.quarantine}")
    if report.reingested:
        r = report.reingested
        print(
            f"read again from the inbox: {r['loaded']} loaded, {r['rejected']} rejected, "
            f"{r['duplicate']} duplicate"
        )
    return 1 if report.problems and args.check else 0


if __name__ == "__main__":
    from extract.doctor import main as _main  # workers pickle `extract.*`, not `__main__.*`

    raise SystemExit(_main())

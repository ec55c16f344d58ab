"""Feedback to the senders (docs/domain.md section 8): one folder per reporting institution and year,
`<deliveries>/qa/<orgnr>/<cut>/`, so an institution can fix its data at source.

It holds the institution's files of the year from the lake's ledger (loaded; rejected, with the
reason and the line; duplicates, with the file they repeat), its findings by class with examples
and every finding (record numbers and episode ids, never a person's identifier), its completeness
month by month beside the national share, and its ZXM coding and double reporting when the served
warehouse has `dsa_zxm_completeness` and `dsa_double_reporting` (a section is left out, and the
manifest says so, when a table is absent). Every table as CSV and Parquet, `manifest.json`, and
`report.html` with charts (deliver/qa_report.py). What is read, and how a file is attributed to an
institution and a year: deliver/qa_sources.py.

Like a delivery folder (deliver/package.py): written to a temporary folder and renamed (whole or
absent), one at a time per institution (an flock on its folder), never rewritten (`<cut>_v2`, ...),
and not written at all when its content equals the institution's latest folder of the same year.
Pure Python: the CLI calls `make_qa` / `make_all_qa` with every path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from deliver import qa_sources as src
from deliver.package import (
    _TMP,
    MANIFEST,
    DeliveryError,
    _code_version,
    _folder_name,
    _kind_lock,
    _pid_alive,
    _sha256,
    open_warehouse,
    pause_point,
)
from deliver.qa_report import render_qa_report

KIND = "qa"
ORGNR = re.compile(r"\d{9}")  # names the institution's folder
# The tables of a QA folder, in reading order, with what each holds.
DESCRIPTIONS = {
    "files": "Every file of the year the ledger has from the institution: loaded, rejected (reason and "
    "line) or duplicate (the same bytes as the loaded file named in duplicate_of).",
    "findings_by_class": "Findings by class, most first, with examples (episode id or record key, record "
    "number, file). Source 'file checks': the extractor's record rules; 'warehouse': found across files.",
    "findings": "Every record-level finding of the institution's loaded files of the year.",
    "completeness": "Month by month: ionising procedures, how many have a dose indicator, and the national "
    "share of that month (dsa_reporting_completeness).",
    "zxm_completeness": "ZXM coding of image-guided procedures (dsa_zxm_completeness), with the "
    "national share.",
    "double_reporting": "Procedures reported both as imaging activity and as a ZXM procedure "
    "(dsa_double_reporting), with the national share.",
}
# served tables of the optional sections: (QA table, marts table, share, part, whole)
OPTIONAL = (
    ("zxm_completeness", "dsa_zxm_completeness", "share_with_zxm", "n_with_zxm", "n_procedures"),
    (
        "double_reporting",
        "dsa_double_reporting",
        "share_double_reported",
        "n_double_reported",
        "n_procedures",
    ),
)


class QAError(DeliveryError):
    """A QA folder cannot be written: unknown institution, no files that year, no served warehouse."""


@dataclass(frozen=True)
class QAFolder:
    """What `make_qa` did: `new`, it wrote `folder`; else the content equals the institution's latest
    folder of the year, `folder`, and nothing was written."""

    institution: str
    name: str | None
    year: int
    folder: Path
    new: bool
    content_sha256: str


def qa_dir(deliveries: Path, orgnr: str) -> Path:
    return deliveries / KIND / orgnr


def _fingerprint(orgnr: str, year: int, tables: dict[str, pa.Table], skipped: list[str]) -> str:
    body = {
        "institution": orgnr,
        "year": year,
        "skipped": skipped,
        "tables": {name: t.to_pylist() for name, t in tables.items()},
    }
    text = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _latest_of_year(folder: Path, year: int) -> tuple[Path, dict] | None:
    """The institution's newest folder (by creation in its manifest) for `year`."""
    found = []
    for child in folder.iterdir() if folder.is_dir() else ():
        if child.name.startswith(".") or not (child / MANIFEST).is_file():
            continue
        try:
            manifest = json.loads((child / MANIFEST).read_text(encoding="utf-8"))
        except ValueError:
            continue
        if manifest.get("year") == year:
            found.append((str(manifest.get("created_at", "")), child, manifest))
    if not found:
        return None
    _, child, manifest = max(found, key=lambda f: (f[0], f[1].name))
    return child, manifest


def _remove_leftovers(folder: Path) -> None:
    for tmp in folder.glob(".tmp-*"):
        m = _TMP.match(tmp.name)
        if m and not _pid_alive(int(m["pid"])):
            shutil.rmtree(tmp, ignore_errors=True)


def _check_known(record: src.LakeRecord, orgnr: str, name: str | None, year: int) -> None:
    years = record.years(orgnr)
    if name is None and not years:
        raise QAError(
            f"unknown institution {orgnr}: not in marts.dim_institution and no file in the ledger "
            "names it; nothing written"
        )
    if year not in years:
        who = f"{orgnr} ({name})" if name else orgnr
        raise QAError(
            f"institution {who} sent no files for {year}: nothing written"
            + (f" (years with files: {', '.join(map(str, years))})" if years else " (no files at all)")
        )


def _gather(
    con: duckdb.DuckDBPyConnection, record: src.LakeRecord, orgnr: str, year: int
) -> tuple[dict[str, pa.Table], list[str]]:
    """The folder's tables and the sections left out (with why)."""
    files = record.files(orgnr, year)
    tables = {"files": src.files_table(files, orgnr, record.findings_by_file)}
    findings = src.findings_table(files, orgnr, record.findings_by_file)
    completeness = src.completeness_table(con, orgnr, year)
    skipped = []
    reused = None
    if completeness is None:
        skipped.append("completeness: the served warehouse has no marts.dsa_reporting_completeness")
    elif "n_reused_episode_ids" in completeness.column_names:
        reused = sum(v or 0 for v in completeness.column("n_reused_episode_ids").to_pylist())
    examples = src.reused_examples(con, orgnr, year) if reused else []
    tables["findings_by_class"] = src.by_class_table(findings, reused, examples)
    tables["findings"] = findings
    if completeness is not None:
        tables["completeness"] = completeness
    for name, served, share, part, whole in OPTIONAL:
        table = src.with_national(con, served, orgnr, year, share, part, whole)
        if table is None:
            skipped.append(f"{name}: the served warehouse has no marts.{served}")
        else:
            tables[name] = table
    return tables, skipped


def make_qa(
    institution: str,
    *,
    year: int,
    warehouse: Path,
    lake: Path,
    deliveries: Path,
    cut: str | dt.date | None = None,
    record: src.LakeRecord | None = None,
) -> QAFolder:
    """Write `<deliveries>/qa/<institution>/<cut>/` for the institution's `year`, unless its content
    equals the institution's latest folder of that year. Raises QAError (nothing written) for an
    institution neither the served warehouse's dim_institution nor the ledger knows, for one
    without files that year, and without a served warehouse. `record`: the lake's ledger and
    findings, when the caller has read them already (`make_all_qa`)."""
    if not ORGNR.fullmatch(institution):
        raise QAError(f"{institution!r} is not an organisation number (nine digits)")
    if not warehouse.is_file():
        raise QAError(f"no served warehouse at {warehouse}: run `stralebruk run` first")
    try:
        cut_date = cut if isinstance(cut, dt.date) else dt.date.fromisoformat(str(cut or dt.date.today()))
    except ValueError as exc:
        raise QAError(f"cut must be a date (YYYY-MM-DD), got {cut!r}") from exc
    record = record or src.LakeRecord.read(lake)
    with open_warehouse(warehouse) as con:
        name = src.institution_name(con, institution)
        _check_known(record, institution, name, year)
        tables, skipped = _gather(con, record, institution, year)
        provisional = src.is_provisional(con, year)
        charts = {
            "zxm": src.monthly_national(
                con, "dsa_zxm_completeness", institution, year, "n_with_zxm", "n_procedures"
            )
        }
    fingerprint = _fingerprint(institution, year, tables, skipped)
    folder = qa_dir(deliveries, institution)
    folder.mkdir(parents=True, exist_ok=True)
    with _kind_lock(folder):
        _remove_leftovers(folder)
        latest = _latest_of_year(folder, year)
        if latest is not None and latest[1].get("content_sha256") == fingerprint:
            return QAFolder(institution, name, year, latest[0], False, fingerprint)
        manifest: dict[str, Any] = {
            "kind": KIND,
            "institution": institution,
            "institution_name": name,
            "year": year,
            "cut": cut_date.isoformat(),
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
            "code_version": _code_version(),
            "warehouse": {"path": str(warehouse), "sha256": _sha256(warehouse)},
            "content_sha256": fingerprint,
            "provisional": provisional,
            "files": src.status_counts(tables["files"]),
            "findings": tables["findings"].num_rows,
            "skipped": skipped,
            "supersedes": latest[0].name if latest else None,
        }
        written = _write(folder, cut_date, manifest, tables, charts)
    return QAFolder(institution, name, year, written, True, fingerprint)


def _write(
    folder: Path, cut_date: dt.date, manifest: dict, tables: dict[str, pa.Table], charts: dict
) -> Path:
    final = folder / _folder_name(folder, cut_date.isoformat())
    tmp = folder / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        manifest["folder"] = final.name
        manifest["tables"] = {}
        for name, table in tables.items():
            pa_csv.write_csv(table, tmp / f"{name}.csv")
            pq.write_table(table, tmp / f"{name}.parquet")
            manifest["tables"][name] = {
                "rows": table.num_rows,
                "description": DESCRIPTIONS.get(name, ""),
                "files": {
                    fmt: {"name": f"{name}.{fmt}", "sha256": _sha256(tmp / f"{name}.{fmt}")}
                    for fmt in ("csv", "parquet")
                },
            }
        html = render_qa_report(manifest, tables, DESCRIPTIONS, charts)
        (tmp / "report.html").write_text(html, encoding="utf-8")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
        pause_point("deliver-qa")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def make_all_qa(
    *,
    year: int,
    warehouse: Path,
    lake: Path,
    deliveries: Path,
    cut: str | dt.date | None = None,
    progress: Callable[[int, int, QAFolder], None] | None = None,
) -> list[QAFolder]:
    """`make_qa` for every institution with a file of `year` in the ledger, one after the other;
    `progress(i, n, done)` after each. Raises QAError when no institution sent a file that year."""
    record = src.LakeRecord.read(lake)
    senders = record.institutions(year)
    if not senders:
        years = sorted({y for r in record.ledger for y in r["_years"]})
        raise QAError(
            f"no institution sent files for {year}: nothing written"
            + (f" (years with files: {', '.join(map(str, years))})" if years else " (the ledger is empty)")
        )
    done = []
    for i, orgnr in enumerate(senders, start=1):
        result = make_qa(
            orgnr, year=year, warehouse=warehouse, lake=lake, deliveries=deliveries, cut=cut, record=record
        )
        done.append(result)
        if progress is not None:
            progress(i, len(senders), result)
    return done

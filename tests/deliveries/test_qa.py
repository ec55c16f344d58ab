"""Feedback to the senders (`stralebruk deliver qa`), through the real pipeline: a tiny generated year
(the generator plants rejected files, duplicates and record-level findings), ingested, built and
served, then one institution's QA folder and every sender's, checked against the lake's own ledger
and findings; no fødselsnummer anywhere; the report rendered by headless Chromium."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import duckdb
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from deliver.qa import QAError, make_qa
from extract.lake import read_findings, read_ledger
from orchestration.cli import main as cli_main
from tests.deliveries.test_report import ARTIFACTS, _charts, _run, chromium  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]

YEAR = 2025
# an 11-digit number standing alone (a SHA-256 in hex is no match), or DDMMYY NNNNN
FNR_LIKE = re.compile(r"(?<![0-9A-Za-z])(\d{11}|\d{6} \d{5})(?![0-9A-Za-z])")
TEXT_SUFFIXES = {".csv", ".json", ".html"}


class Run(NamedTuple):
    data_dir: Path
    inbox: Path

    @property
    def lake(self) -> Path:
        return self.data_dir / "lake"

    @property
    def qa(self) -> Path:
        return self.data_dir / "deliveries" / "qa"

    def cli(self, *args: str) -> int:
        return cli_main(["deliver", "qa", *args, "--data-dir", str(self.data_dir)])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    """A tiny generated year through `stralebruk run` (its own data directory)."""
    from orchestration.run import run_pipeline
    from synth import generate

    root = tmp_path_factory.mktemp("qa")
    inbox, data_dir = root / "inbox", root / "data"
    generate(inbox, year=YEAR, scale=0.001, seed=7, workers=1, progress=False)
    assert run_pipeline(inbox=inbox, data_dir=data_dir) == 0
    return Run(data_dir, inbox)


def _sender(path: str) -> str:
    """The generator writes each institution's files under `<orgnr>/`."""
    return path.split("/", 1)[0]


def _ledger_of_year(run: Run) -> list[dict]:
    """The ledger rows of YEAR: by the header's period, or (rejected: no header) by the file name."""
    rows = read_ledger(run.lake).to_pylist()
    return [
        r
        for r in rows
        if (r["period_from"] or "").startswith(str(YEAR))
        or (r["status"] == "rejected" and f"_{YEAR}T" in r["path"])
    ]


def _lake_findings_by_class(run: Run, orgnr: str) -> Counter:
    """The lake's findings of the institution's loaded files of YEAR, by class."""
    files = {
        r["file_id"]
        for r in _ledger_of_year(run)
        if r["status"] == "loaded" and orgnr in (r["institutions"] or "").split(",")
    }
    return Counter(f["finding_class"] for f in read_findings(run.lake).to_pylist() if f["file_id"] in files)


def _csv(folder: Path, name: str) -> list[dict]:
    return pa_csv.read_csv(folder / f"{name}.csv").to_pylist()


def _pick_institution(run: Run) -> str:
    """The sender with the most rejected files of YEAR, then the most findings."""
    rejected = Counter(_sender(r["path"]) for r in _ledger_of_year(run) if r["status"] == "rejected")
    assert rejected, "the generated year has no rejected file"
    return max(rejected, key=lambda o: (rejected[o], sum(_lake_findings_by_class(run, o).values())))


@pytest.fixture(scope="module")
def all_folders(run: Run) -> tuple[dict[str, Path], str]:
    """`deliver qa --all` once: each sender's folder, and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run.cli("--all", "--year", str(YEAR)) == 0
    folders = {p.name: max(p.iterdir()) for p in run.qa.iterdir() if p.is_dir()}
    return folders, out.getvalue()


def test_one_institution_lists_its_files_as_the_ledger_has_them(run, capsys):
    orgnr = _pick_institution(run)
    assert run.cli("--institution", orgnr, "--year", str(YEAR)) == 0
    folder = Path(capsys.readouterr().out.strip())
    assert folder.parent == run.qa / orgnr and folder.is_dir()
    assert not list(folder.parent.glob(".tmp-*"))
    for name in ("files", "findings_by_class", "findings", "completeness"):
        assert (folder / f"{name}.csv").is_file() and (folder / f"{name}.parquet").is_file(), name
    assert (folder / "report.html").is_file()

    ledger = [r for r in _ledger_of_year(run) if _sender(r["path"]) == orgnr]
    files = _csv(folder, "files")
    assert sorted(f["file"] for f in files) == sorted(r["path"] for r in ledger)
    # rejected files with the ledger's reason class and (already redacted) reason, and the line
    want = sorted((r["path"], r["reason_class"], r["reason"]) for r in ledger if r["status"] == "rejected")
    got = sorted((f["file"], f["reason_class"], f["reason"]) for f in files if f["status"] == "rejected")
    assert got == want and got
    for f in files:
        if f["status"] == "rejected" and "(line " in f["reason"]:
            assert f"(line {f['line']})" in f["reason"]
    # a duplicate names the loaded file with the same bytes
    loaded = {r["file_id"]: r["path"] for r in read_ledger(run.lake).to_pylist() if r["status"] == "loaded"}
    for f in files:
        if f["status"] == "duplicate":
            assert f["duplicate_of"] == loaded[f["file_id"]]
    # no file of another year
    assert all(str(YEAR) in str(f["period_from"] or f["file"]) for f in files)

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["institution"] == orgnr and manifest["year"] == YEAR
    assert manifest["files"] == {
        s: sum(f["status"] == s for f in files) for s in ("loaded", "rejected", "duplicate")
    }
    for name, entry in manifest["tables"].items():
        assert entry["rows"] == pq.read_metadata(folder / f"{name}.parquet").num_rows

    # the same content again: nothing new written, the folder named
    assert run.cli("--institution", orgnr, "--year", str(YEAR)) == 0
    assert Path(capsys.readouterr().out.strip()) == folder
    assert [p for p in (run.qa / orgnr).iterdir()] == [folder]


def test_findings_by_class_equal_the_lakes_for_every_sender(run, all_folders):
    folders, _ = all_folders
    some = 0
    for orgnr, folder in folders.items():
        by_class = {r["finding_class"]: r for r in _csv(folder, "findings_by_class")}
        from_files = {c: r["n_findings"] for c, r in by_class.items() if r["source"] == "file checks"}
        assert from_files == dict(_lake_findings_by_class(run, orgnr)), orgnr
        findings = _csv(folder, "findings")
        assert Counter(f["finding_class"] for f in findings) == Counter(from_files), orgnr
        for r in by_class.values():
            if r["source"] == "file checks":
                assert r["examples"] and "(record " in r["examples"], (orgnr, r)
        some += len(findings)
    assert some, "the generated year has no findings"


def test_all_writes_one_folder_per_sending_institution(run, all_folders):
    folders, out = all_folders
    senders = {_sender(r["path"]) for r in _ledger_of_year(run)}
    assert set(folders) == senders
    progress = [line for line in out.splitlines() if line.startswith("[")]
    assert len(progress) == len(senders)
    assert progress[-1].startswith(f"[{len(senders)}/{len(senders)}]")
    for orgnr, folder in folders.items():
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["institution"] == orgnr and manifest["year"] == YEAR
        months = _csv(folder, "completeness")
        assert [m["month"] for m in months] == list(range(1, 13))


def test_completeness_is_the_served_marts_beside_the_national_share(run, all_folders):
    folders, _ = all_folders
    con = duckdb.connect(str(run.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        national = dict(
            con.execute(
                "select month, sum(n_with_dose) / sum(n_ionising_procedures) "
                "from marts.dsa_reporting_completeness where year = ? group by month",
                [YEAR],
            ).fetchall()
        )
        orgnr, folder = next(iter(sorted(folders.items())))
        own = {
            m: (n, w)
            for m, n, w in con.execute(
                "select month, n_ionising_procedures, n_with_dose from marts.dsa_reporting_completeness "
                "where year = ? and institution_orgnr = ?",
                [YEAR, orgnr],
            ).fetchall()
        }
    finally:
        con.close()
    for row in _csv(folder, "completeness"):
        share = national.get(row["month"])
        assert row["national_share_with_dose"] == (None if share is None else pytest.approx(share))
        n, with_dose = own.get(row["month"], (0, 0))
        assert (row["n_ionising_procedures"], row["n_with_dose"]) == (n, with_dose)


def _fnrs_sent(inbox: Path) -> set[str]:
    return {
        m for p in inbox.rglob("*.xml") for m in re.findall(r"(?<!\d)\d{11}(?!\d)", p.read_text("latin-1"))
    }


def test_no_fodselsnummer_anywhere_in_the_folders(run, all_folders):
    folders, _ = all_folders
    sent = _fnrs_sent(run.inbox)
    assert sent, "the generated inbox has no fødselsnummer to hide"
    for folder in folders.values():
        for path in folder.iterdir():
            if path.suffix in TEXT_SUFFIXES:
                text = path.read_text(encoding="utf-8")
            else:
                table = pq.read_table(path)
                text = "\n".join(str(v) for c in table.columns for v in c.to_pylist())
            assert not FNR_LIKE.search(text), (path, FNR_LIKE.search(text))
            assert not any(fnr in text for fnr in sent), path


def test_bad_requests_exit_1_and_write_nothing(run, all_folders, capsys):
    before = sorted(p.relative_to(run.qa) for p in run.qa.rglob("*"))
    assert run.cli("--institution", "123456789", "--year", str(YEAR)) == 1
    assert "unknown institution 123456789" in capsys.readouterr().err
    sender = sorted(all_folders[0])[0]
    assert run.cli("--institution", sender, "--year", "2019") == 1
    err = capsys.readouterr().err
    assert "sent no files for 2019" in err and str(YEAR) in err and "Traceback" not in err
    con = duckdb.connect(str(run.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        silent = con.execute(
            "select orgnr from marts.dim_institution "
            "where orgnr not in (select unnest(?)) order by 1 limit 1",
            [sorted(all_folders[0])],
        ).fetchone()
    finally:
        con.close()
    assert silent is not None
    assert run.cli("--institution", silent[0], "--year", str(YEAR)) == 1
    assert "sent no files" in capsys.readouterr().err
    assert run.cli("--all", "--year", "2019") == 1
    assert "no institution sent files for 2019" in capsys.readouterr().err
    assert sorted(p.relative_to(run.qa) for p in run.qa.rglob("*")) == before
    for argv in (["--institution", "12345", "--year", "2025"], ["--year", "2025"]):
        with pytest.raises(SystemExit) as exit_:
            run.cli(*argv)
        assert exit_.value.code == 2
    with pytest.raises(SystemExit):
        cli_main(["deliver", "dsa", "--year", "2025", "--all"])
    with pytest.raises(QAError, match="no served warehouse"):
        make_qa(
            sender, year=YEAR, warehouse=run.data_dir / "none.duckdb", lake=run.lake, deliveries=run.qa.parent
        )


def test_zxm_and_double_reporting_are_included_when_served(run, all_folders, tmp_path):
    """On a copy of the served warehouse with both tables (as docs/marts.md names their columns)."""
    folders, _ = all_folders
    orgnr, other = sorted(folders)[:2]
    served = json.loads((folders[orgnr] / "manifest.json").read_text())
    with duckdb.connect(str(run.data_dir / "warehouse.duckdb"), read_only=True) as con:
        present = {
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    for name in ("zxm_completeness", "double_reporting"):
        assert (name in served["tables"]) == (f"dsa_{name}" in present)
        assert any(s.startswith(name) for s in served["skipped"]) == (f"dsa_{name}" not in present)

    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(run.data_dir / "warehouse.duckdb", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            """
            create or replace table marts.dsa_zxm_completeness as
            select * from (values
                (2025, 3, $a, 'ZXM10', 10, 8, 6, 0.8), (2025, 3, $b, 'ZXM10', 30, 12, 9, 0.4),
                (2025, 3, $a, 'ZXM20', 5, 5, 5, 1.0), (2024, 3, $a, 'ZXM10', 9, 0, 0, 0.0)
            ) as t(year, month, institution_orgnr, code_group, n_procedures, n_with_zxm,
                   n_with_ionising_zxm, share_with_zxm)
            """,
            {"a": orgnr, "b": other},
        )
        con.execute(
            """
            create or replace table marts.dsa_double_reporting as
            select * from (values (2025, $a, 100, 3, 0.03), (2025, $b, 300, 1, 1 / 300))
                as t(year, institution_orgnr, n_procedures, n_double_reported, share_double_reported)
            """,
            {"a": orgnr, "b": other},
        )
    done = make_qa(orgnr, year=YEAR, warehouse=warehouse, lake=run.lake, deliveries=tmp_path / "deliveries")
    zxm = {r["code_group"]: r for r in _csv(done.folder, "zxm_completeness")}
    assert set(zxm) == {"ZXM10", "ZXM20"}
    assert zxm["ZXM10"]["national_share_with_zxm"] == pytest.approx(20 / 40)
    assert zxm["ZXM20"]["national_share_with_zxm"] == pytest.approx(1.0)
    (double,) = _csv(done.folder, "double_reporting")
    assert double["n_double_reported"] == 3
    assert double["national_share_double_reported"] == pytest.approx(4 / 400)
    manifest = json.loads((done.folder / "manifest.json").read_text())
    assert not [s for s in manifest["skipped"] if s.startswith(("zxm", "double"))]
    charts = _charts((done.folder / "report.html").read_text())
    assert "Share of image-guided procedures with a ZXM code, by month" in charts


def test_qa_report_renders_in_chromium(chromium, run, all_folders, tmp_path):  # noqa: F811
    folders, _ = all_folders
    orgnr = _pick_institution(run)
    folder = folders[orgnr]
    html = (folder / "report.html").read_text()
    written = _charts(html)
    assert "Share of ionising procedures with a dose indicator, by month" in written
    assert "Files of the year by module and status" in written
    if _lake_findings_by_class(run, orgnr):
        assert "Findings by class" in written
    url = (folder / "report.html").as_uri()
    dom = _run(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>Feedback to" in dom.stdout and "</html>" in dom.stdout
    assert not re.search(r"Uncaught|CONSOLE\(\d+\).*error", dom.stderr, re.IGNORECASE), dom.stderr[-2000:]
    rendered = re.findall(r'<svg\b[^>]*class="chart"[^>]*aria-label="([^"]*)"', dom.stdout)
    assert len(rendered) == len(written) >= 2
    assert re.search(r'<g id="qa-(completeness-line|files-bar)-', dom.stdout)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = tmp_path / "report-qa.png"
    proc = _run(chromium, tmp_path / "profile-shot", "--window-size=1200,2400", f"--screenshot={shot}", url)
    assert proc.returncode == 0 and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    shutil.copy(shot, ARTIFACTS / shot.name)

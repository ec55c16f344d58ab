"""One small generated year, ingested and built by dbt into a temporary data dir (shared by the
warehouse tests of a session)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import DBT_PROJECT_DIR, Paths

DBT = Path(sys.executable).parent / "dbt"
# The core warehouse only: the delivery models are another helper's and tested on their own.
# The delivery inputs (intermediate/deliveries) read the delivery seeds, so they go with them.
CORE_SELECTION = [
    "--exclude",
    "path:models/deliveries",
    "path:models/intermediate/deliveries",
    "path:seeds/deliveries",
    "path:seeds/synthetic",
]


def run_dbt(paths: Paths, *args: str, target_dir: Path) -> subprocess.CompletedProcess:
    """`dbt <args>` on the project with the data dir's lake and build warehouse."""
    paths.build_warehouse.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **paths.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "0"}
    return subprocess.run(
        [
            str(DBT),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target_dir / "target"),
            "--log-path",
            str(target_dir / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def copied_data(source: Paths, root: Path) -> Paths:
    """A data dir at root holding a copy of source's lake and build warehouse (for tests that change
    them)."""
    paths = Paths.from_env(root)
    shutil.copytree(source.lake, paths.lake)
    paths.build_warehouse.parent.mkdir(parents=True)
    shutil.copy(source.build_warehouse, paths.build_warehouse)
    return paths


def run_models(paths: Paths, target_dir: Path, *args: str) -> None:
    """`dbt run <args>` on the data dir; fails the test when dbt fails."""
    proc = run_dbt(paths, "run", *args, target_dir=target_dir)
    assert proc.returncode == 0, proc.stdout[-4000:]


def query(paths: Paths, sql: str) -> list[tuple]:
    """The rows of a query on the data dir's build warehouse (read-only)."""
    with duckdb.connect(str(paths.build_warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def raa_examination_with_doses(paths: Paths) -> tuple[str, str, str, int]:
    """(examination_id, institution, episode id, year of its episode group) of the first raa
    examination with rad dose events whose episode id is not a reused one."""
    return query(
        paths,
        "select examination_id, institution_orgnr, episode_id, year"
        " from intermediate.int_imaging__examinations"
        " where source_module = 'raa' and n_dose_events > 0 and episode_id not like '%#%'"
        " order by examination_id limit 1",
    )[0]


def change_patient_sex(paths: Paths, institution: str, patient: str, sex: str) -> str:
    """Give a patient the other sex in the staging Pasient records of every module (whichever file
    is the latest holds the record), as later files would; returns the new sex."""
    other = "2" if sex == "1" else "1"
    with duckdb.connect(str(paths.build_warehouse)) as con:
        for module in ("str", "raa", "rad", "ord"):
            con.execute(
                f"update staging.stg_npr_{module}__patients set sex = ?"
                " where institution_orgnr = ? and patient_local_id = ?",
                [other, institution, patient],
            )
    return other


@dataclass
class Built:
    paths: Paths
    truth: dict
    truth_dir: Path
    build: subprocess.CompletedProcess
    docs: subprocess.CompletedProcess  # `dbt docs generate` after the build
    target_dir: Path  # where docs generate wrote manifest.json and catalog.json


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> Built:
    from extract.ingest import ingest
    from synth import generate

    data = tmp_path_factory.mktemp("warehouse_data")
    paths = Paths.from_env(data)
    manifest = generate(paths.inbox, year=2025, scale=0.002, seed=1, progress=False)
    ingest(paths.inbox, paths.lake)
    build = run_dbt(paths, "build", *CORE_SELECTION, target_dir=data)
    docs_dir = data / "docs"
    docs = run_dbt(paths, "docs", "generate", *CORE_SELECTION, target_dir=docs_dir)
    return Built(
        paths, json.loads(Path(manifest).read_text()), Path(manifest).parent, build, docs, docs_dir / "target"
    )


def dict_rows(con, sql: str) -> list[dict]:
    """The rows of a query as {column: value} dicts."""
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

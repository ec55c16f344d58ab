"""A scratch dbt project holding only the delivery models, on a hand-built warehouse (handmade.py).

The delivery models, macros and seeds are copied from dbt_project/; the marts they read are views
over the hand-built tables. So these tests exercise the delivery logic and packaging on their own,
whatever state the rest of the pipeline is in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.settings import DBT_PROJECT_DIR
from tests.deliveries import handmade

DBT = Path(sys.executable).parent / "dbt"
YEAR = 2025
STUBS = [
    "dim_procedure",
    "fct_imaging_examination",
    "fct_imaging_dose",
    "fct_rt_series",
    "fct_rt_attendance",
    "fct_rt_dose_plan",
    "dim_institution",
    "dim_municipality",
    "stg_npr__files",
    "population",
]

PROJECT_YML = """\
name: stralebruk
version: "0.1.0"
config-version: 2
profile: deliveries_test
models:
  stralebruk:
    stub: {+schema: marts, +materialized: view}
    deliveries: {+schema: marts, +materialized: table}
seeds:
  stralebruk: {+schema: reference}
flags:
  send_anonymous_usage_stats: false
"""
PROFILES_YML = """\
deliveries_test:
  target: test
  outputs:
    test:
      type: duckdb
      path: "{{ env_var('DELIVERIES_TEST_DB') }}"
      threads: 2
"""


@dataclass
class Harness:
    project: Path
    db: Path

    def dbt(self, *args: str, db: Path | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "DELIVERIES_TEST_DB": str(db or self.db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "0"}
        proc = subprocess.run(
            [str(DBT), *args, "--project-dir", str(self.project), "--profiles-dir", str(self.project)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise AssertionError(
                f"dbt {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
            )
        return proc


def make_project(root: Path) -> Path:
    project = root / "project"
    for sub in ("models", "macros", "seeds"):
        shutil.copytree(DBT_PROJECT_DIR / sub / "deliveries", project / sub / "deliveries")
    (project / "models" / "stub").mkdir(parents=True)
    for name in STUBS:
        (project / "models" / "stub" / f"{name}.sql").write_text(f"select * from handmade.{name}\n")
    (project / "macros" / "generate_schema_name.sql").write_text(
        "{% macro generate_schema_name(custom_schema_name, node) -%}"
        "{%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}"
        "{%- endif -%}{%- endmacro %}\n"
    )
    (project / "dbt_project.yml").write_text(PROJECT_YML)
    (project / "profiles.yml").write_text(PROFILES_YML)
    return project


@pytest.fixture(scope="session")
def harness(tmp_path_factory) -> Harness:
    """dbt build (models, data tests and unit tests) of the delivery models on the hand-built warehouse."""
    root = tmp_path_factory.mktemp("deliveries")
    h = Harness(make_project(root), root / "warehouse.duckdb")
    handmade.build(h.db, year=YEAR)
    h.dbt("build")
    return h

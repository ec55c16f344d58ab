"""A scratch dbt project holding only the delivery models, on a hand-built warehouse (handmade.py).

The delivery models (and their intermediate inputs), macros, seeds and dbt_project.yml are copied
from dbt_project/; every other model they ref is a view over the hand-built table of that name. So
these tests exercise the delivery logic and packaging on their own, whatever state the rest of the
pipeline is in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from extract.paths import DBT_PROJECT_DIR
from tests.deliveries import handmade

DBT = Path(sys.executable).parent / "dbt"
YEAR = 2025
# What the delivery tables are built from, besides the marts: copied as they are.
COPIED = [
    "models/deliveries",
    "models/intermediate/deliveries",
    "macros/deliveries",
    "macros/build_partitions.sql",
    "macros/npr_modules.sql",
    "macros/generate_schema_name.sql",
    "tests/generic",
    "seeds/deliveries",
    "dbt_project.yml",
]
REF = re.compile(r"""\b(?:ref|build_partition_input)\(\s*['"](\w+)['"]""")
# The real project's profile name, pointing at the test's own DuckDB file.
PROFILES_YML = """\
stralebruk:
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

    @property
    def manifest(self) -> Path:
        """dbt's manifest of the scratch project: the grain and docs a delivery reads."""
        return self.project / "target" / "manifest.json"

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


def stub_names(project: Path) -> list[str]:
    """Models the copied SQL refs that the copy does not define: the marts and the like."""
    files = [*(project / "models").rglob("*.sql"), *(project / "seeds").rglob("*.csv")]
    used = {name for p in files if p.suffix == ".sql" for name in REF.findall(p.read_text(encoding="utf-8"))}
    return sorted(used - {p.stem for p in files})


def make_project(root: Path) -> Path:
    project = root / "project"
    for rel in COPIED:
        source = DBT_PROJECT_DIR / rel
        if source.is_dir():
            shutil.copytree(source, project / rel)
        elif source.is_file():
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, project / rel)
    (project / "models" / "stub").mkdir(parents=True)
    for name in stub_names(project):
        (project / "models" / "stub" / f"{name}.sql").write_text(f"select * from handmade.{name}\n")
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

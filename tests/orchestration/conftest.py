"""Shared fixtures: dbt's manifest, one tiny generated inbox, and one full pipeline run over it."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, Paths

SCALE = 0.001
YEAR = 2025


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """dagster-dbt needs target/manifest.json before the definitions load (`make setup` makes it)."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        subprocess.run([DBT_EXECUTABLE, "parse", "--quiet"], cwd=DBT_PROJECT_DIR, check=True)
    return manifest


@pytest.fixture(scope="session")
def generated_inbox(tmp_path_factory) -> Path:
    """A tiny synthetic year (read-only for tests: copy it before adding files)."""
    from synth import generate

    out = tmp_path_factory.mktemp("generated") / "inbox"
    generate(out, year=YEAR, scale=SCALE, seed=7, workers=1, progress=False)
    return out


@pytest.fixture(scope="session")
def defs(dbt_manifest):
    from orchestration.definitions import defs as load

    return load()


@dataclass
class PipelineRun:
    paths: Paths
    exit_code: int
    output: str


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, generated_inbox, dbt_manifest) -> PipelineRun:
    """`stralebruk run` over a copy of the generated inbox, in its own data directory."""
    from orchestration.run import run_pipeline

    paths = Paths.from_env(tmp_path_factory.mktemp("data"))
    shutil.copytree(generated_inbox, paths.inbox)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = run_pipeline(data_dir=paths.data_dir)
    return PipelineRun(paths, code, output.getvalue())

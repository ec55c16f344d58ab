"""When a build may be incremental (orchestration/incremental.py): only when the lake only grew and
the dbt project did not change since the last successful build. (That an incremental build equals a
full one, row for row, is shown end to end by tests/orchestration/test_replay.py.)"""

from __future__ import annotations

import shutil

import pytest

from orchestration import incremental
from orchestration.settings import Paths


@pytest.fixture
def built(tmp_path, monkeypatch):
    """A data dir whose last build read two lake parts; the dbt project is a small copy."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1\n")
    (project / "dbt_project.yml").write_text("name: x\n")
    monkeypatch.setattr(incremental, "DBT_PROJECT_DIR", project)
    paths = Paths.from_env(tmp_path / "data")
    for part in ("raa/episode/b1-x-00001.parquet", "rad/dose_event/b1-x-00001.parquet"):
        (paths.lake / part).parent.mkdir(parents=True, exist_ok=True)
        (paths.lake / part).write_bytes(b"PAR1")
    (paths.lake / "_ledger").mkdir()
    (paths.lake / "_ledger" / "b1.parquet").write_bytes(b"PAR1")
    paths.build_warehouse.parent.mkdir(parents=True)
    paths.build_warehouse.write_bytes(b"")
    incremental.record_build(paths, incremental.lake_parts(paths.lake))
    return paths, project


def test_lake_parts_are_the_message_tables_only(built):
    paths, _ = built
    assert incremental.lake_parts(paths.lake) == [
        "raa/episode/b1-x-00001.parquet",
        "rad/dose_event/b1-x-00001.parquet",
    ]


def test_a_lake_that_only_grew_builds_incrementally_without_unit_tests(built):
    paths, _ = built
    (paths.lake / "raa" / "episode" / "b2-y-00001.parquet").write_bytes(b"PAR1")
    args, reasons = incremental.dbt_build_args(paths, full_refresh=False)
    assert reasons == []
    assert args == ["build", "--exclude-resource-type", "unit_test"]


def test_asked_for_full_refresh(built):
    paths, _ = built
    args, reasons = incremental.dbt_build_args(paths, full_refresh=True)
    assert args == ["build", "--full-refresh"] and reasons == ["asked for (--full-refresh)"]


def test_a_removed_or_rewritten_part_forces_a_full_refresh(built):
    """doctor quarantines parts and re-ingests their files; rotate-key rewrites every part."""
    paths, _ = built
    (paths.lake / "rad" / "dose_event" / "b1-x-00001.parquet").unlink()
    args, reasons = incremental.dbt_build_args(paths, full_refresh=False)
    assert args[-1] == "--full-refresh"
    assert reasons == ["1 lake parts were removed or rewritten (doctor, rotate-key)"]


def test_a_changed_model_forces_a_full_refresh(built):
    paths, project = built
    (project / "models" / "a.sql").write_text("select 2\n")
    assert incremental.full_refresh_reasons(paths) == ["the dbt project changed since the last build"]


def test_a_discarded_build_file_or_a_build_that_did_not_finish_forces_a_full_refresh(built):
    paths, _ = built
    incremental.forget_build(paths)  # what a build does before dbt starts writing
    assert incremental.full_refresh_reasons(paths) == ["no record of the last build"]
    paths.build_warehouse.unlink()  # recovery discards the half-written file after a crash
    assert incremental.full_refresh_reasons(paths) == ["no build warehouse yet"]


def test_another_lake_folder_forces_a_full_refresh(built, tmp_path):
    paths, _ = built
    moved = Paths.from_env(tmp_path / "elsewhere")
    shutil.copytree(paths.data_dir, moved.data_dir)
    assert incremental.full_refresh_reasons(moved) == ["the lake folder changed"]

"""The imaging tables behind the facts are partitioned by the year of the episode group
(dbt_project/macros/build_partitions.sql, stage 'imaging'): a build with nothing changed leaves them as
they are; a changed patient rebuilds the years of the patient's raa and ord episodes; an episode
moved to another year gives what a full refresh gives; a partial build clears the stage's record so
that the next build recomputes every year.

A year that is not recomputed keeps its rows as they are, so the tests mark the rows (an impossible
care level) and look for the mark afterwards."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.settings import Paths
from tests.warehouse.conftest import (
    CORE_SELECTION,
    change_patient_sex,
    copied_data,
    query,
    raa_examination_with_doses,
    run_models,
)

pytestmark = pytest.mark.slow

MARK = -1  # care_level of every examination: survives only where the year was not recomputed


@pytest.fixture
def built(built_warehouse) -> Paths:
    assert built_warehouse.build.returncode == 0, built_warehouse.build.stdout[-3000:]
    return built_warehouse.paths


@pytest.fixture
def copy(built, tmp_path) -> Paths:
    """The session's built warehouse and lake, copied (these tests change them), every examination
    marked."""
    paths = copied_data(built, tmp_path / "data")
    with duckdb.connect(str(paths.build_warehouse)) as con:
        con.execute(f"update intermediate.int_imaging__examinations set care_level = {MARK}")
    return paths


def _marked(paths: Paths) -> int:
    sql = f"select count(*) from intermediate.int_imaging__examinations where care_level = {MARK}"
    return query(paths, sql)[0][0]


def _years(paths: Paths, where: str) -> set[int]:
    sql = f"select distinct year from intermediate.int_imaging__examinations where {where}"
    return {y for (y,) in query(paths, sql)}


def test_a_build_with_nothing_changed_leaves_the_imaging_tables_as_they_are(copy, tmp_path):
    total = query(copy, "select count(*) from intermediate.int_imaging__examinations")[0][0]
    assert total > 0
    run_models(copy, tmp_path, *CORE_SELECTION)
    assert _marked(copy) == total


def test_a_changed_patient_rebuilds_the_years_of_the_patients_episodes(copy, tmp_path):
    """Another sex in the patient's Pasient records (as later files would bring) reaches their
    examinations through the patient fingerprint of the years of their raa and ord episodes, though
    no episode changed."""
    institution, patient, sex = query(
        copy,
        "select institution_orgnr, patient_local_id, sex from intermediate.int_imaging__examinations"
        " where sex in ('1', '2') and source_module = 'raa' order by examination_id limit 1",
    )[0]
    other = change_patient_sex(copy, institution, patient, sex)
    run_models(copy, tmp_path, *CORE_SELECTION)
    of_patient = (
        "from intermediate.int_imaging__examinations"
        f" where institution_orgnr = '{institution}' and patient_local_id = '{patient}'"
    )
    assert query(copy, f"select distinct sex {of_patient}") == [(other,)]
    # every year of the patient's raa and ord episode groups was recomputed, and only those
    patient_years = {
        y
        for (y,) in query(
            copy,
            "select distinct year from intermediate.int_imaging__episode_groups"
            f" where module in ('raa', 'ord') and institution_orgnr = '{institution}'"
            f" and patient_local_id = '{patient}'",
        )
    }
    marked_years = _years(copy, f"care_level = {MARK}")
    assert patient_years and not patient_years & marked_years
    assert marked_years == _years(copy, "true") - patient_years


@pytest.mark.parametrize(
    "selection",
    [
        ["int_imaging__procedures"],  # a partitioned table without the fingerprints
        ["int_imaging__build_fingerprints", "int_imaging__examinations"],  # without every table
    ],
)
def test_a_partial_build_forgets_the_record_and_the_next_one_recomputes_every_year(copy, tmp_path, selection):
    record = "select count(*) from intermediate.int_imaging__build_fingerprints"
    assert query(copy, record)[0][0] > 0
    run_models(copy, tmp_path, "--select", *selection)
    assert query(copy, record) == [(0,)]
    run_models(copy, tmp_path, *CORE_SELECTION)
    assert _marked(copy) == 0
    assert query(copy, record)[0][0] > 0


IMAGING_TABLES = (
    "int_imaging__procedures",
    "int_imaging__examinations",
    "int_imaging__dose_indicators",
    "int_imaging__doses",
)


# and the stage after it, by the year of the examination or dose date
FACT_TABLES = ("int_imaging__double_reports", "marts.fct_imaging_examination", "marts.fct_imaging_dose")


def _rows(paths: Paths, table: str) -> list[tuple]:
    relation = table if "." in table else f"intermediate.{table}"
    return sorted(query(paths, f"select * from {relation}"), key=repr)


def test_an_episode_moved_to_another_year_gives_what_a_full_refresh_gives(built, tmp_path):
    """An E change that moves a raa episode a year back takes its group (the rad doses too) to that
    year: the incremental build rebuilds both years, and its tables equal a full refresh, and so
    do the imaging facts after them."""
    incremental = copied_data(built, tmp_path / "incremental")
    _, institution, episode, year = raa_examination_with_doses(incremental)
    with duckdb.connect(str(incremental.build_warehouse)) as con:
        con.execute(
            "update staging.stg_npr_raa__episodes set episode_date = episode_date - interval 1 year"
            " where institution_orgnr = ? and episode_id = ?",
            [institution, episode],
        )
    full = copied_data(incremental, tmp_path / "full")
    run_models(incremental, tmp_path / "incremental_target", *CORE_SELECTION)
    # a full refresh of everything after the staging tables (which would reload the lake's rows)
    assert CORE_SELECTION[0] == "--exclude"
    run_models(full, tmp_path / "full_target", *CORE_SELECTION, "path:models/staging", "--full-refresh")
    of_episode = f"institution_orgnr = '{institution}' and split_part(episode_id, '#', 1) = '{episode}'"
    for table in ("int_imaging__examinations", "int_imaging__doses"):
        assert query(incremental, f"select distinct year from intermediate.{table} where {of_episode}") == [
            (year - 1,)
        ], table
    for table in IMAGING_TABLES + FACT_TABLES:
        assert _rows(incremental, table) == _rows(full, table), table

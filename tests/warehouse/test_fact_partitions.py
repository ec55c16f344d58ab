"""The imaging facts and their double reports are partitioned by the year of the examination or
dose date (stage 'imaging_facts', dbt_project/macros/build_partitions.sql): a build with nothing
changed leaves them as they are; a change to one patient recomputes the years of that patient's
examinations and nothing else. (That an episode moved to another year gives what a full refresh
gives, facts included, is test_imaging_partitions.py's.)

Rows not recomputed keep their values, so the tests mark every row (a value no file gives) and look
for the mark afterwards."""

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

# table: (schema, marked column, mark, the row's year)
MARKS = {
    "fct_imaging_examination": ("marts", "care_level", "-1", "extract(year from examination_date)"),
    "fct_imaging_dose": ("marts", "unit_as_sent", "'M'", "extract(year from dose_date)"),
    "int_imaging__double_reports": ("intermediate", "institution_orgnr", "'M'", "year"),
}


@pytest.fixture
def copy(built_warehouse, tmp_path) -> Paths:
    """The session's built warehouse and lake, copied, every row of the stage's tables marked."""
    assert built_warehouse.build.returncode == 0, built_warehouse.build.stdout[-3000:]
    paths = copied_data(built_warehouse.paths, tmp_path / "data")
    with duckdb.connect(str(paths.build_warehouse)) as con:
        for table, (schema, column, mark, _) in MARKS.items():
            con.execute(f"update {schema}.{table} set {column} = {mark}")
    return paths


def _years(paths: Paths, table: str, marked: bool) -> set[int]:
    schema, column, mark, year = MARKS[table]
    condition = f"{column} = {mark}" if marked else f"{column} is distinct from {mark}"
    sql = f"select distinct {year} from {schema}.{table} where {condition}"
    return {int(y) for (y,) in query(paths, sql)}


def _counts(paths: Paths) -> dict[str, tuple[int, int]]:
    """(rows, marked rows) per table."""
    out = {}
    for table, (schema, column, mark, _) in MARKS.items():
        sql = f"select count(*), count(*) filter (where {column} = {mark}) from {schema}.{table}"
        out[table] = query(paths, sql)[0]
    return out


def test_a_build_with_nothing_changed_leaves_the_facts_as_they_are(copy, tmp_path):
    before = _counts(copy)
    assert all(rows > 0 and marked == rows for rows, marked in before.values()), before
    run_models(copy, tmp_path, *CORE_SELECTION)
    assert _counts(copy) == before


@pytest.fixture
def two_years(built_warehouse, tmp_path) -> tuple[Paths, str]:
    """The copy with one raa examination and its doses moved a year back (its episode, its
    procedure's measure time and its rad dose events, as an E change would), built, then every row
    of the stage's tables marked. Returns the paths and the moved examination."""
    assert built_warehouse.build.returncode == 0, built_warehouse.build.stdout[-3000:]
    paths = copied_data(built_warehouse.paths, tmp_path / "data")
    examination, institution, episode, _ = raa_examination_with_doses(paths)
    with duckdb.connect(str(paths.build_warehouse)) as con:
        for table, column in (
            ("stg_npr_raa__episodes", "episode_date"),
            ("stg_npr_raa__procedure_codes", "measure_started_at"),
            ("stg_npr_rad__dose_events", "started_at"),
        ):
            con.execute(
                f"update staging.{table} set {column} = {column} - interval 1 year"
                " where institution_orgnr = ? and episode_id = ?",
                [institution, episode],
            )
    run_models(paths, tmp_path / "moved", *CORE_SELECTION)
    with duckdb.connect(str(paths.build_warehouse)) as con:
        for table, (schema, column, mark, _) in MARKS.items():
            con.execute(f"update {schema}.{table} set {column} = {mark}")
    return paths, examination


def test_a_changed_patient_recomputes_the_years_of_the_patients_examinations_only(two_years, tmp_path):
    """Another sex in the patient's Pasient records reaches the facts through that patient's
    examinations: the years of those are recomputed, in every table of the stage (the facts and
    the double reports), and every other year keeps its rows."""
    paths, moved = two_years
    fact = "fct_imaging_examination"
    all_years = {t: _years(paths, t, marked=True) for t in MARKS}
    (moved_year,) = query(
        paths,
        f"select extract(year from examination_date) from marts.{fact} where examination_id = '{moved}'",
    )[0]
    assert len(all_years[fact]) == 2 and int(moved_year) == min(all_years[fact])
    assert int(moved_year) in all_years["fct_imaging_dose"]
    institution, patient, sex = query(
        paths,
        "select institution_orgnr, patient_local_id, any_value(sex)"
        " from intermediate.int_imaging__examinations"
        " where sex in ('1', '2') and source_module = 'raa' group by all"
        f" having min(examination_date) > (select max(examination_date) from marts.{fact}"
        f" where examination_id = '{moved}') order by all limit 1",
    )[0]
    other = change_patient_sex(paths, institution, patient, sex)
    run_models(paths, tmp_path / "changed", *CORE_SELECTION)
    patient_years = {
        int(y)
        for (y,) in query(
            paths,
            "select distinct extract(year from examination_date) from intermediate.int_imaging__examinations"
            f" where institution_orgnr = '{institution}' and patient_local_id = '{patient}'",
        )
    }
    assert patient_years == all_years[fact] - {int(moved_year)}
    for table in MARKS:
        assert _years(paths, table, marked=False) <= patient_years, table
        assert _years(paths, table, marked=True) == all_years[table] - patient_years, table
    assert query(
        paths,
        f"select distinct f.sex from marts.{fact} as f"
        " inner join intermediate.int_imaging__examinations as e using (examination_id)"
        f" where e.institution_orgnr = '{institution}' and e.patient_local_id = '{patient}'",
    ) == [(other,)]

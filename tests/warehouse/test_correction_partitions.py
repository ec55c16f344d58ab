"""The tables of stage 'corrections' (the episode versions, the patient keys, the imaging episode
groups and the referral chain behind fct_referral) are partitioned by institution
(dbt_project/macros/build_partitions.sql): a build with nothing changed leaves them as they are; a
change in one institution's files recomputes that institution only, and the result equals a full
refresh; a partial build clears the stage's record.

An institution that is not recomputed keeps its rows as they are, so the tests mark every row (a
value no file gives) and look for the mark afterwards."""

from __future__ import annotations

import duckdb
import pytest

from tests.warehouse.conftest import CORE_SELECTION, copied_data, query, run_models

pytestmark = pytest.mark.slow

# a value no file gives, per table: survives only in the institutions not recomputed
MARKS = {
    "int_episode_versions": ("message_type", "'M'"),
    "int_patient_keys": ("birth_year", "-1"),
    "int_imaging__episode_groups": ("patient_local_id", "'M'"),
    "int_referrals__periods": ("referral_type", "'M'"),
    "int_referrals__episodes": ("seniority_date", "date '1900-01-01'"),
    "fct_referral": ("referral_type", "'M'"),
}
SCHEMAS = {"fct_referral": "marts"}


@pytest.fixture
def built(built_warehouse):
    assert built_warehouse.build.returncode == 0, built_warehouse.build.stdout[-3000:]
    return built_warehouse.paths


def _mark(paths) -> None:
    with duckdb.connect(str(paths.build_warehouse)) as con:
        for table, (column, value) in MARKS.items():
            con.execute(f"update {_relation(table)} set {column} = {value}")


def _marked_institutions(paths, table: str) -> dict[str, int]:
    """Marked rows per institution."""
    column, value = MARKS[table]
    sql = f"select institution_orgnr, count(*) from {_relation(table)} where {column} = {value} group by 1"
    return dict(query(paths, sql))


def _rows(paths, table: str, where: str) -> list[tuple]:
    return sorted(query(paths, f"select * from {_relation(table)} where {where}"), key=repr)


def _relation(table: str) -> str:
    return f"{SCHEMAS.get(table, 'intermediate')}.{table}"


def test_a_build_with_nothing_changed_leaves_the_correction_tables_as_they_are(built, tmp_path):
    copy = copied_data(built, tmp_path / "data")
    _mark(copy)
    before = {table: _marked_institutions(copy, table) for table in MARKS}
    assert all(before.values())
    run_models(copy, tmp_path, *CORE_SELECTION)
    assert {table: _marked_institutions(copy, table) for table in MARKS} == before


def test_a_change_in_one_institution_recomputes_it_alone_as_a_full_refresh_would(built, tmp_path):
    """An E change would move a raa episode a year back and give its patient another sex: the
    institution's rows are recomputed, every other institution keeps its rows, and every table of
    the stage equals a full refresh."""
    incremental = copied_data(built, tmp_path / "incremental")
    institution, episode, patient, sex = query(
        incremental,
        "select v.institution_orgnr, v.episode_id, v.patient_local_id, k.sex"
        " from intermediate.int_episode_versions as v"
        " inner join intermediate.int_patient_keys as k using (institution_orgnr, patient_local_id)"
        " where v.module = 'raa' and v.is_current and k.sex in ('1', '2')"
        " order by v.institution_orgnr, v.episode_id limit 1",
    )[0]
    of_institution = f"institution_orgnr = '{institution}'"
    of_others = f"institution_orgnr <> '{institution}'"
    others = {table: len(_rows(incremental, table, of_others)) for table in MARKS}
    _mark(incremental)
    with duckdb.connect(str(incremental.build_warehouse)) as con:
        con.execute(
            "update staging.stg_npr_raa__episodes set episode_date = episode_date - interval 1 year"
            " where institution_orgnr = ? and episode_id = ?",
            [institution, episode],
        )
        for module in ("str", "raa", "rad", "ord"):  # whichever file is the latest holds the record
            con.execute(
                f"update staging.stg_npr_{module}__patients set sex = ?"
                " where institution_orgnr = ? and patient_local_id = ?",
                ["2" if sex == "1" else "1", institution, patient],
            )
    full = copied_data(incremental, tmp_path / "full")
    run_models(incremental, tmp_path / "incremental_target", *CORE_SELECTION)
    # a full refresh of everything after the staging tables (which would reload the lake's rows)
    assert CORE_SELECTION[0] == "--exclude"
    run_models(full, tmp_path / "full_target", *CORE_SELECTION, "path:models/staging", "--full-refresh")

    for table in MARKS:
        # the changed institution recomputed, every row of the others untouched
        marked = _marked_institutions(incremental, table)
        assert institution not in marked, table
        assert sum(marked.values()) == others[table], table
        # the recomputed rows are a full refresh's
        assert _rows(incremental, table, of_institution) == _rows(full, table, of_institution), table
        # the kept rows are the ones a full refresh gives
        assert _rows(full, table, of_others) == _rows(built, table, of_others), table
    for table in ("int_episode_versions", "int_patient_keys", "int_imaging__episode_groups"):  # changed
        assert _rows(full, table, of_institution) != _rows(built, table, of_institution), table


def test_a_partial_build_forgets_the_corrections_record(built, tmp_path):
    """int_episode_versions built without the fingerprints recomputes every institution; the record
    is cleared, so the next build recomputes every institution of every table of the stage."""
    copy = copied_data(built, tmp_path / "data")
    record = "select count(*) from intermediate.int_corrections__build_fingerprints"
    assert query(copy, record)[0][0] > 0
    run_models(copy, tmp_path, "--select", "int_episode_versions")
    assert query(copy, record) == [(0,)]
    _mark(copy)
    run_models(copy, tmp_path, *CORE_SELECTION)
    assert not any(_marked_institutions(copy, table) for table in MARKS)
    assert query(copy, record)[0][0] > 0

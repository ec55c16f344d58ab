"""Year-partitioned delivery tables (dbt_project/macros/build_partitions.sql) on the hand-built warehouse:
a later build recomputes exactly the years whose inputs changed, and the result equals a full
rebuild; a parameter change recomputes every year; a partial build forgets the record.

A year that is not recomputed keeps its rows as they are, so the tests mark the built year's rows
(an impossible n_facilities) and look for the mark afterwards."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.deliveries.conftest import YEAR, Harness

MARK = 1_000_000  # added to dsa_drl.n_facilities of the built year: survives only if not recomputed


def _partitioned(harness: Harness) -> list[str]:
    """The year-partitioned models, as schema.table."""
    nodes = json.loads(harness.manifest.read_text())["nodes"].values()
    return sorted(
        f"{n['schema']}.{n['name']}"
        for n in nodes
        if n["resource_type"] == "model" and n["config"].get("meta", {}).get("partitioned_by") == "year"
    )


def _add_the_year_before(db: Path) -> None:
    """The hand-built year's examinations, their doses, waits and population again one year earlier
    (new ids)."""
    shifted = "cast({col} - interval 1 year as date)"
    with duckdb.connect(str(db)) as con:
        con.execute(f"""
            insert into handmade.fct_imaging_examination
            select * replace (examination_id || '-before' as examination_id,
                double_report_of || '-before' as double_report_of,
                {shifted.format(col="examination_date")} as examination_date)
            from handmade.fct_imaging_examination""")
        con.execute(f"""
            insert into handmade.fct_imaging_dose
            select * replace (dose_id || '-before' as dose_id, examination_id || '-before' as examination_id,
                {shifted.format(col="dose_date")} as dose_date)
            from handmade.fct_imaging_dose
            -- a dose without an examination counts in the year of its date: kept out, so that
            -- the built year's inputs stay exactly as they were
            where examination_id is not null""")
        con.execute(f"""
            insert into handmade.int_referrals__examination_waits
            select * replace (examination_id || '-before' as examination_id,
                {shifted.format(col="examination_date")} as examination_date)
            from handmade.int_referrals__examination_waits""")
        con.execute(
            "insert into handmade.population select * replace (year - 1 as year) from handmade.population"
        )


def _mark_built_year(db: Path) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute(f"update marts.dsa_drl set n_facilities = n_facilities + {MARK} where year = {YEAR}")


def _marked_rows(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        query = f"select count(*) from marts.dsa_drl where n_facilities >= {MARK}"
        return con.execute(query).fetchall()[0][0]


def _rows(db: Path, tables: list[str]) -> dict[str, list[tuple]]:
    """Each table's rows in a stable order (doubles to six digits for the order only)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: sorted(
                (tuple(row) for row in con.execute(f"select * from {t}").fetchall()),
                key=lambda row: repr(tuple(float(f"{v:.6g}") if isinstance(v, float) else v for v in row)),
            )
            for t in tables
        }


def _equal(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> list[str]:
    """The tables that differ; doubles equal to a relative 1e-9 (parallel sums differ in the last bits)."""

    def same(x: object, y: object) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)
        return x == y

    return [
        t
        for t in a
        if len(a[t]) != len(b[t])
        or not all(len(r) == len(q) and all(map(same, r, q)) for r, q in zip(a[t], b[t], strict=True))
    ]


def _years(db: Path, table: str) -> set[int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0] for r in con.execute(f"select distinct year from {table}").fetchall()}


@pytest.fixture(scope="module")
def two_years(harness: Harness, tmp_path_factory) -> tuple[Path, Path, list[str]]:
    """`incremental`: the harness's build, the year before added, built again (incrementally);
    `full`: the same inputs built with --full-refresh."""
    root = tmp_path_factory.mktemp("build_years")
    incremental, full = root / "incremental.duckdb", root / "full.duckdb"
    shutil.copy(harness.db, incremental)
    _add_the_year_before(incremental)
    shutil.copy(incremental, full)
    _mark_built_year(incremental)
    harness.dbt("run", db=incremental)
    harness.dbt("run", "--full-refresh", db=full)
    return incremental, full, _partitioned(harness)


def test_the_heavy_per_year_delivery_tables_are_partitioned_by_year(harness):
    heavy = {
        "dsa_population_dose",
        "dsa_drl",
        "rhf_imaging_activity",
        "rhf_imaging_waiting_times",
        "dsa_cumulative_dose",
    }
    intermediate = {"int_deliveries__examination_effective_doses", "int_deliveries__person_cumulative_doses"}
    assert {f"marts.{t}" for t in heavy} | {f"intermediate.{t}" for t in intermediate} <= set(
        _partitioned(harness)
    )


def test_a_new_year_is_built_and_the_unchanged_year_is_left_as_it_was(two_years):
    incremental, _, tables = two_years
    assert _marked_rows(incremental) > 0  # the built year was not recomputed
    for table in tables:
        assert YEAR - 1 in _years(incremental, table), table


def test_the_incremental_result_equals_a_full_rebuild(two_years):
    incremental, full, tables = two_years
    with duckdb.connect(str(incremental)) as con:  # take the mark away again
        con.execute(f"update marts.dsa_drl set n_facilities = n_facilities - {MARK} where year = {YEAR}")
    assert not _equal(_rows(incremental, tables), _rows(full, tables))


def test_a_parameter_change_recomputes_every_year(harness, two_years, tmp_path):
    incremental, _, tables = two_years
    changed, full = tmp_path / "changed.duckdb", tmp_path / "full.duckdb"
    shutil.copy(incremental, changed)
    shutil.copy(incremental, full)
    _mark_built_year(changed)
    harness.dbt("run", "--vars", "{small_cell_max_patients: 2}", db=changed)
    harness.dbt("run", "--full-refresh", "--vars", "{small_cell_max_patients: 2}", db=full)
    assert _marked_rows(changed) == 0
    assert not _equal(_rows(changed, tables), _rows(full, tables))


def test_a_partial_build_recomputes_every_year_and_forgets_the_record(harness, two_years, tmp_path):
    incremental, _, _ = two_years
    partial = tmp_path / "partial.duckdb"
    shutil.copy(incremental, partial)
    _mark_built_year(partial)
    harness.dbt("run", "--select", "dsa_drl", "--vars", "{drl_min_facilities: 2}", db=partial)
    assert _marked_rows(partial) == 0
    with duckdb.connect(str(partial), read_only=True) as con:
        record = "select count(*) from intermediate.int_deliveries__build_fingerprints"
        assert con.execute(record).fetchall() == [(0,)]
    # so the next whole build (default parameters again) recomputes every year of every table
    _mark_built_year(partial)
    harness.dbt("run", db=partial)
    assert _marked_rows(partial) == 0


def test_data_tests_of_a_partitioned_table_see_only_the_rebuilt_years(harness, tmp_path):
    """An incremental build tests the years it recomputed; the unchanged year's rows were tested by
    the build that made them. A plain `dbt test` (no fingerprints in it) still tests every row."""
    db = tmp_path / "tested.duckdb"
    shutil.copy(harness.db, db)
    _add_the_year_before(db)
    with duckdb.connect(str(db)) as con:  # a row of the unchanged year that breaks a data test
        con.execute(f"update marts.dsa_drl set n_facilities = null where year = {YEAR}")
    harness.dbt("build", "--exclude-resource-type", "unit_test", db=db)
    compiled = next(harness.project.glob("target/run/**/not_null_dsa_drl_n_facilities.sql")).read_text()
    assert f"year in ({YEAR - 1})" in compiled
    # and so do the two views that declare it (meta partitioned_by) for their tests
    nodes = json.loads(harness.manifest.read_text())["nodes"].values()
    for view in ("int_deliveries__examination_doses", "int_deliveries__facility_typical_values"):
        (test,) = [
            n
            for n in nodes
            if n.get("attached_node") == f"model.stralebruk.{view}"
            and n.get("test_metadata", {}).get("name") == "unique_combination"
        ]
        compiled = harness.project / "target/run/stralebruk" / test["original_file_path"] / test["path"]
        assert f"year in ({YEAR - 1})" in compiled.read_text(), view
    assert _years(db, "marts.dsa_drl") == {YEAR - 1, YEAR}
    with pytest.raises(AssertionError, match="not_null_dsa_drl_n_facilities"):
        harness.dbt("test", "--select", "dsa_drl", db=db)

"""The functions behind the asset checks and the serving asset, on hand-made inputs."""

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deliver.checks import (
    delivery_suppression_max,
    parquet_tables,
    small_cells,
    warehouse_suppression_max,
)
from extract.model.messages import MODULES, lake_tables
from orchestration.checks import latest_period
from orchestration.publish import publish


def test_small_cells_flags_only_patient_counts_from_1_to_4():
    table = pa.table(
        {
            "n_patients": [0, 1, 4, 5, None],
            "n_new_patients": [5, 6, 7, 8, 2],
            "n_series": [1, 2, 3, 4, 1],  # counts series, not patients: not suppressed
        }
    )
    assert small_cells({"rhf_rt_activity": table}) == {
        "rhf_rt_activity.n_patients": 2,
        "rhf_rt_activity.n_new_patients": 1,
    }
    assert small_cells({"ok": pa.table({"n_patients": [0, 5, 100]})}) == {}


def test_small_cells_flags_person_counts_too():
    """dsa_cumulative_dose counts persons: n_persons and its "of which" columns are checked alike."""
    table = pa.table(
        {
            "n_persons": [5, 3],
            "n_persons_100msv_or_more": [0, 2],
            "n_persons_top_group": [None, 1],
            "n_examinations": [1, 2],  # not a count of persons
        }
    )
    assert small_cells({"dsa_cumulative_dose": table}) == {
        "dsa_cumulative_dose.n_persons": 1,
        "dsa_cumulative_dose.n_persons_100msv_or_more": 1,
        "dsa_cumulative_dose.n_persons_top_group": 1,
    }


def test_parquet_tables_reads_a_delivery_folder(tmp_path):
    pq.write_table(pa.table({"n_patients": [3]}), tmp_path / "rhf_rt_migration.parquet")
    (tmp_path / "rhf_rt_migration.csv").write_text("n_patients\n3\n")
    assert small_cells(parquet_tables(tmp_path)) == {"rhf_rt_migration.parquet.n_patients": 1}


def test_latest_period_reads_the_message_tables(tmp_path):
    assert latest_period(tmp_path) is None
    for module, period_to in (("str", "2025-11-30"), ("raa", "2025-12-31"), ("ide", None)):
        folder = tmp_path / module / "message"
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"period_to": pa.array([period_to], pa.string())}), folder / "p.parquet")
    assert latest_period(tmp_path) == (2025, 12)


def _warehouse(path, n):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table marts.fct_x as select range as id from range({n})")


def test_publish_swaps_atomically_under_an_open_reader(tmp_path):
    build, served = tmp_path / "build" / "warehouse.duckdb", tmp_path / "warehouse.duckdb"
    build.parent.mkdir()
    _warehouse(build, 3)
    assert publish(build, served) == {"fct_x": 3}
    reader = duckdb.connect(str(served), read_only=True)
    try:
        _warehouse(build, 7)
        assert publish(build, served) == {"fct_x": 7}
        # The open reader still sees the complete old file, not a mixture.
        assert reader.execute("select count(*) from marts.fct_x").fetchall() == [(3,)]
    finally:
        reader.close()
    with duckdb.connect(str(served), read_only=True) as again:
        assert again.execute("select count(*) from marts.fct_x").fetchall() == [(7,)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "warehouse.duckdb"]  # no temp left


def test_publish_without_a_build_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="dbt build first"):
        publish(tmp_path / "missing.duckdb", tmp_path / "warehouse.duckdb")


def test_run_without_an_inbox_says_how_to_make_one(tmp_path, capsys):
    from orchestration.run import run_pipeline

    assert run_pipeline(data_dir=tmp_path) == 2
    assert "stralebruk generate --out" in capsys.readouterr().out
    assert not (tmp_path / "dagster").exists()  # nothing started, nothing written


def test_small_cell_threshold_is_the_one_the_build_used(tmp_path):
    table = pa.table({"n_patients": [6, 12]})
    assert small_cells({"t": table}) == {}
    assert small_cells({"t": table}, max_patients=10) == {"t.n_patients": 1}
    folder = tmp_path / "delivery"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"parameters": {"small_cell_max_patients": 10}}')
    assert delivery_suppression_max(folder) == 10
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema marts")
    con.execute("create table marts.delivery_parameters (parameter varchar, value_json varchar)")
    con.execute("insert into marts.delivery_parameters values ('small_cell_max_patients', '7')")
    con.close()
    assert warehouse_suppression_max(db) == 7


def test_one_extract_step_ingests_the_modules_of_its_selection():
    import dagster as dg

    from orchestration.defs.extract.assets import FINDINGS, LEDGER, extract_lake, modules_to_ingest, table_key

    assert set(extract_lake.keys) == {
        *(table_key(m, t) for m in MODULES for t in lake_tables(m)),
        LEDGER,
        FINDINGS,
    }
    assert extract_lake.can_subset and extract_lake.op.pool == "lake"
    assert modules_to_ingest({table_key("str", "episode"), table_key("raa", "message")}) == {"str", "raa"}
    assert modules_to_ingest({table_key("str", "episode"), LEDGER}) is None
    assert modules_to_ingest({FINDINGS}) is None
    assert extract_lake.group_names_by_key[table_key("rad", "message")] == "npr_rad"
    assert extract_lake.group_names_by_key[LEDGER] == "lake"
    assert isinstance(LEDGER, dg.AssetKey)

"""Issue 13: a new delivery version only when its content changed, time-series tables, and the record
of which served warehouse the deliveries were checked against. On toy warehouses (no dbt): a
`marts` schema with a few `dsa_`/`rhf_` tables and a dbt manifest naming their grain and meta."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from deliver import (
    Delivery,
    DeliveryError,
    delivery_checked,
    grain_keys,
    make_delivery,
    record_check,
    warehouse_stamp,
)
from deliver.diff import canonical, content_fingerprint
from deliver.package import remove_leftovers

CUT = "2026-03-31"
YEAR = 2025


def _manifest(path: Path, models: dict[str, dict]) -> Path:
    nodes = {
        f"model.toy.{name}": {
            "name": name,
            "resource_type": "model",
            "package_name": "toy",
            "config": {"meta": meta},
            "description": f"the {name} table",
            "columns": {},
        }
        for name, meta in models.items()
    }
    path.write_text(json.dumps({"metadata": {"project_name": "toy"}, "nodes": nodes}))
    return path


@pytest.fixture
def toy(tmp_path) -> Path:
    """A data directory: a served warehouse with two dsa_ tables and the delivery parameters, an
    empty ledger, a dbt manifest with their grains."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema marts")
    con.execute(
        "create table marts.dsa_dose as select 2025 as year, 'P' || i as code, i * 10 as n, "
        "i / 3.0 as median from range(1, 20) t(i)"
    )
    con.execute("create table marts.dsa_count as select 2025 as year, i as k, i * 2 as n from range(5) t(i)")
    con.execute(
        "create table marts.delivery_parameters as select * from (values "
        "('small_cell_max_patients', '4', '4'), ('drl_min_patients', '20', '20')) "
        "t(parameter, value_json, default_json)"
    )
    con.close()
    (tmp_path / "lake" / "_ledger").mkdir(parents=True)
    _manifest(
        tmp_path / "manifest.json",
        {"dsa_dose": {"grain": ["year", "code"]}, "dsa_count": {"grain": ["year", "k"]}},
    )
    return tmp_path


def _deliver(data_dir: Path, kind: str = "dsa", **kwargs) -> Delivery:
    return make_delivery(
        kind,
        year=kwargs.pop("year", YEAR),
        warehouse=kwargs.pop("warehouse", data_dir / "warehouse.duckdb"),
        lake=data_dir / "lake",
        deliveries=data_dir / "deliveries",
        dbt_manifest=data_dir / "manifest.json",
        cut=kwargs.pop("cut", CUT),
        **kwargs,
    )


def _execute(data_dir: Path, sql: str, params: list | None = None) -> None:
    """Change the served warehouse in place (a new modification time, as a publish gives)."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute(sql, params or [])


def _folders(data_dir: Path, kind: str = "dsa") -> list[str]:
    return sorted(p.name for p in (data_dir / "deliveries" / kind).iterdir())


def _json(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


def test_delivering_twice_from_the_same_warehouse_writes_one_folder(toy):
    first = _deliver(toy)
    assert first.new and first.folder == toy / "deliveries" / "dsa" / CUT and first.supersedes is None
    manifest = _json(first.folder, "manifest.json")
    assert manifest["content_sha256"] == first.content_sha256 and manifest["supersedes"] is None
    created = manifest["created_at"]

    again = _deliver(toy)
    assert (again.new, again.unchanged, again.folder) == (False, True, first.folder)
    assert again.content_sha256 == first.content_sha256
    # another cut date, a republished copy of the warehouse: the content is the same all the same
    shutil.copy(toy / "warehouse.duckdb", toy / "republished.duckdb")
    later = _deliver(toy, cut="2026-04-30", warehouse=toy / "republished.duckdb")
    assert (later.new, later.folder) == (False, first.folder)
    assert _folders(toy) == [CUT]
    assert _json(first.folder, "manifest.json")["created_at"] == created  # a sent folder stays as it is


def test_changed_content_gets_a_new_version_that_supersedes_the_last(toy):
    first = _deliver(toy)
    _execute(toy, "update marts.dsa_dose set median = 99.5 where code = 'P7'")
    second = _deliver(toy)
    assert second.new and second.folder.name == f"{CUT}_v2" and second.supersedes == CUT
    manifest = _json(second.folder, "manifest.json")
    assert (manifest["supersedes"], manifest["previous_delivery"]) == (CUT, CUT)
    assert manifest["content_sha256"] != _json(first.folder, "manifest.json")["content_sha256"]
    diff = _json(second.folder, "diff.json")
    assert diff["previous"] == CUT and diff["parameters_changed"] == {} and diff["tables_dropped"] == []
    assert diff["tables"]["dsa_count"]["changed"] == 0
    dose = diff["tables"]["dsa_dose"]
    assert (dose["added"], dose["removed"], dose["changed"]) == (0, 0, 1)
    (row,) = dose["changed_rows"]
    assert row["key"] == {"year": YEAR, "code": "P7"}
    assert row["columns"] == {"median": {"old": pytest.approx(7 / 3), "new": 99.5}}

    # the same content again: v2 stays the latest; back to the first content: a v3 (v2 was sent)
    assert _deliver(toy).folder == second.folder
    _execute(toy, "update marts.dsa_dose set median = 7 / 3.0 where code = 'P7'")
    third = _deliver(toy)
    assert third.new and third.folder.name == f"{CUT}_v3" and third.supersedes == f"{CUT}_v2"
    assert third.content_sha256 == first.content_sha256
    assert _folders(toy) == [CUT, f"{CUT}_v2", f"{CUT}_v3"]


def test_a_changed_parameter_a_new_column_or_a_new_row_is_a_change(toy):
    _deliver(toy)
    _execute(
        toy,
        "update marts.delivery_parameters set value_json = '5' where parameter = 'small_cell_max_patients'",
    )
    second = _deliver(toy)
    assert second.new
    assert _json(second.folder, "diff.json")["parameters_changed"] == {
        "small_cell_max_patients": {"old": 4, "new": 5}
    }
    _execute(toy, "alter table marts.dsa_count add column note varchar")  # all null: only the column is new
    third = _deliver(toy)
    assert third.new and _json(third.folder, "diff.json")["tables"]["dsa_count"]["columns_added"] == ["note"]
    _execute(toy, "insert into marts.dsa_count values (2025, 99, 1, null)")
    fourth = _deliver(toy)
    assert fourth.new and _json(fourth.folder, "diff.json")["tables"]["dsa_count"]["added"] == 1
    assert fourth.supersedes == third.folder.name


def test_a_float_differing_in_the_15th_significant_digit_is_no_new_version(toy):
    first = _deliver(toy)
    _execute(toy, "update marts.dsa_dose set median = median * (1 + 3e-15)")
    with duckdb.connect(str(toy / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select median from marts.dsa_dose where code = 'P7'").fetchone()[0] != 7 / 3.0
    again = _deliver(toy)
    assert (again.new, again.folder) == (False, first.folder)
    assert again.content_sha256 == first.content_sha256  # rounded to 12 digits: the same fingerprint

    # next to a rounding boundary of the fingerprint the two round apart: the diff's tolerance decides
    below, above = 1.000000000005 - 2e-15, 1.000000000005 + 2e-15
    assert canonical(below) != canonical(above)
    _execute(toy, "update marts.dsa_dose set median = ? where code = 'P1'", [below])
    boundary = _deliver(toy)
    assert boundary.new and boundary.folder.name == f"{CUT}_v2"
    _execute(toy, "update marts.dsa_dose set median = ? where code = 'P1'", [above])
    across = _deliver(toy)
    assert across.content_sha256 != boundary.content_sha256
    assert (across.new, across.folder) == (False, boundary.folder)
    # a change in the 8th digit is a change
    _execute(toy, "update marts.dsa_dose set median = median * (1 + 1e-7) where code = 'P3'")
    assert _deliver(toy).new


def test_the_fingerprint_ignores_row_order_and_last_bits():
    import pyarrow as pa

    rows = pa.table({"year": [2025, 2025], "k": [1, 2], "v": [0.1 + 0.2, 1 / 3]})
    shuffled = pa.table({"year": [2025, 2025], "k": [2, 1], "v": [1 / 3, 0.3]})
    params = {"small_cell_max_patients": 4}
    assert content_fingerprint({"t": rows}, params) == content_fingerprint({"t": shuffled}, params)
    assert content_fingerprint({"t": rows}, params) != content_fingerprint(
        {"t": rows}, {"small_cell_max_patients": 5}
    )
    assert content_fingerprint({"t": rows}, params) != content_fingerprint({"u": rows}, params)
    assert canonical(-0.0) == canonical(0.0) == 0.0


def test_another_period_is_a_new_delivery_not_a_version(toy):
    _execute(toy, "insert into marts.dsa_count values (2024, 1, 5)")
    a = _deliver(toy)
    b = _deliver(toy, year=2024)
    assert b.new and b.supersedes is None and b.folder.name == f"{CUT}_v2"
    manifest = _json(b.folder, "manifest.json")
    assert (manifest["supersedes"], manifest["previous_delivery"]) == (None, a.folder.name)
    assert _deliver(toy, year=2024).folder == b.folder and _deliver(toy).folder == a.folder


TIME_SERIES_MODELS = {
    "rhf_trend": {"grain": ["year", "month", "region"], "time_series": True},
    "rhf_monthly": {"grain": ["year", "month", "region"]},
    "rhf_yearly": {"grain": ["year", "region"], "time_series": False},
}


@pytest.fixture
def series(toy) -> Path:
    """rhf_ tables over 2018-2026 by month: one time series, one monthly, one yearly."""
    with duckdb.connect(str(toy / "warehouse.duckdb")) as con:
        for name in ("rhf_trend", "rhf_monthly"):
            con.execute(
                f"create table marts.{name} as select y as year, m as month, r as region, y * 100 + m as n "
                "from range(2018, 2027) a(y), range(1, 13) b(m), (values ('Nord'), ('Vest')) c(r)"
            )
        con.execute(
            "create table marts.rhf_yearly as "
            "select y as year, 'Nord' as region, y as n from range(2018, 2027) a(y)"
        )
    _manifest(toy / "manifest.json", TIME_SERIES_MODELS)
    return toy


def test_time_series_tables_hold_the_year_and_the_four_before_never_by_month(series):
    docs = grain_keys(series / "manifest.json")
    assert [docs[n]["time_series"] for n in TIME_SERIES_MODELS] == [True, False, False]

    month = _deliver(series, "rhf", month=3).folder
    trend = pq.read_table(month / "rhf_trend.parquet")
    assert sorted(set(trend["year"].to_pylist())) == [2021, 2022, 2023, 2024, 2025]
    assert set(trend["month"].to_pylist()) == set(range(1, 13)) and trend.num_rows == 5 * 12 * 2
    monthly = pq.read_table(month / "rhf_monthly.parquet")
    assert set(monthly["year"].to_pylist()) == {YEAR} and set(monthly["month"].to_pylist()) == {3}
    assert pq.read_table(month / "rhf_yearly.parquet")["year"].to_pylist() == [YEAR]
    tables = _json(month, "manifest.json")["tables"]
    assert (tables["rhf_trend"]["time_series"], tables["rhf_trend"]["years"]) == (True, [2021, 2025])
    assert "time_series" not in tables["rhf_monthly"] and "years" not in tables["rhf_yearly"]

    whole_year = _deliver(series, "rhf").folder
    assert pq.read_table(whole_year / "rhf_monthly.parquet").num_rows == 12 * 2
    assert pq.read_table(whole_year / "rhf_trend.parquet").num_rows == 5 * 12 * 2
    early = _deliver(series, "rhf", year=2019).folder
    assert sorted(set(pq.read_table(early / "rhf_trend.parquet")["year"].to_pylist())) == [2018, 2019]


def test_a_year_with_only_earlier_years_of_a_time_series_has_no_data(series):
    # 2029's window (2025-2029) holds rows of rhf_trend, but no table has a row of 2029 itself
    with pytest.raises(DeliveryError, match="no rhf data for 2029"):
        _deliver(series, "rhf", year=2029)
    assert not (series / "deliveries").exists()


def test_the_check_record_names_the_served_file_the_deliveries_were_checked_against(toy):
    deliveries, served = toy / "deliveries", toy / "warehouse.duckdb"
    assert not delivery_checked(deliveries, "dsa", served)
    delivery = _deliver(toy)
    assert delivery.warehouse == warehouse_stamp(served)
    assert not delivery_checked(deliveries, "dsa", served)  # make_delivery alone records nothing
    record = record_check(deliveries, delivery)
    assert record == deliveries / ".checked-dsa.json" and json.loads(record.read_text())["new"] is True
    assert delivery_checked(deliveries, "dsa", served) and not delivery_checked(deliveries, "rhf", served)
    # a copy keeping its times (copytree of the data directory) is the same file
    shutil.copy2(served, toy / "copy.duckdb")
    assert delivery_checked(deliveries, "dsa", toy / "copy.duckdb")

    time.sleep(0.01)
    shutil.copy(served, toy / ".publishing")  # a publish: the same content in another file
    os.replace(toy / ".publishing", served)
    assert not delivery_checked(deliveries, "dsa", served)
    unchanged = _deliver(toy)
    assert unchanged.unchanged and not delivery_checked(deliveries, "dsa", served)
    record_check(deliveries, unchanged)
    assert delivery_checked(deliveries, "dsa", served)
    assert json.loads(record.read_text())["new"] is False
    assert not delivery_checked(deliveries, "dsa", toy / "missing.duckdb")
    record.write_text("{not json")
    assert not delivery_checked(deliveries, "dsa", served)
    assert [p.name for p in deliveries.iterdir() if p.name.startswith(".tmp")] == []


def test_a_dead_process_half_written_check_record_is_removed(toy):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    deliveries = toy / "deliveries"
    deliveries.mkdir()
    left = deliveries / f".tmp-checked-dsa-{dead.pid}"
    left.write_text("{")
    mine = deliveries / f".tmp-checked-rhf-{os.getpid()}"
    mine.write_text("{")
    assert remove_leftovers(deliveries) == [left]
    assert not left.exists() and mine.exists()

"""The time-series delivery tables (issue 13 item 4) on a hand-built warehouse of five years.

Each year is handmade.py's world drawn with its own seed (ids made unique per year; persons and
equipment the same), and one X-ray room given doses far above DSA's reference value from the second
year on, so it is on the follow-up list. Asserted: every year is there and marked provisional or final
by the one rule; each change is the difference of the two years' published numbers; the yearly imaging
numbers are the sum of the months (suppression off) and never reveal a blanked month (suppression
on); the radiotherapy trend is the sum of rhf_rt_activity's cells; the follow-up list is the
facilities above the reference two years running; the DRL trend is dsa_drl over the years.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml

from orchestration.settings import DBT_PROJECT_DIR
from tests.deliveries import handmade
from tests.deliveries.conftest import Harness, make_project

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

YEARS = list(range(2021, 2026))
LAST = YEARS[-1]
# the facility on the follow-up list: one X-ray room of Oslo universitetssykehus, chest X-ray DAP
HOT_ROOM, HOT_CODE, HOT_FACTOR = "993467049-EQ0", "SSC0AA", 10.0
# every column that holds an id, prefixed with its year so five years of handmade ids do not collide
ID_COLUMNS = {
    "fct_imaging_examination": ["examination_id", "double_report_of"],
    "fct_imaging_dose": ["dose_id", "examination_id", "source_file_id"],
    "int_files": ["file_id"],
    "fct_rt_series": ["series_id"],
    "fct_rt_attendance": ["attendance_id", "series_id"],
    "fct_rt_dose_plan": ["dose_plan_id", "series_id"],
}
TIME_SERIES = {
    "rhf_imaging_activity_trend": "rhf_imaging_activity",
    "rhf_rt_activity_trend": "rhf_rt_activity",
    "dsa_drl_trend": "dsa_drl",
    "dsa_facility_dose_trend": "dsa_facility_dose",
    "dsa_population_dose_trend": "dsa_population_dose",
}


def build_years(db_path: Path, years: list[int] = YEARS, n_exams: int = 5000, n_series: int = 300) -> Path:
    """handmade.py's tables for each year in one schema `handmade` (the population of every year)."""
    tables: dict[str, tuple[list[str], list[tuple]]] = {}
    for i, year in enumerate(years):
        drawn = handmade._tables(7 + i, year, n_exams + 150 * i, n_series + 10 * i)
        ecols, erows = drawn["fct_imaging_examination"]
        hot = {
            r[ecols.index("examination_id")]
            for r in erows
            if i > 0
            and r[ecols.index("equipment_id")] == HOT_ROOM
            and r[ecols.index("procedure_code")] == HOT_CODE
        }
        for name, (cols, rows) in drawn.items():
            if name == "fct_imaging_dose":  # the hot room: far above the reference from the second year
                rows = [_hot(row, cols, hot) for row in rows]
            prefixed = {cols.index(c) for c in ID_COLUMNS.get(name, [])}
            rows = [
                tuple(f"{year}-{v}" if j in prefixed and v is not None else v for j, v in enumerate(row))
                for row in rows
            ]
            if name not in tables:
                tables[name] = (cols, [])
            if i == 0 or name not in ("dim_institution", "dim_municipality", "dim_procedure"):
                tables[name][1].extend(rows)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("create schema if not exists handmade")
        for name, (cols, rows) in tables.items():
            arrow = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
            if "year" in cols:
                arrow = arrow.set_column(cols.index("year"), "year", arrow.column("year").cast(pa.int32()))
            con.execute(f"create or replace table handmade.{name} as select * from arrow")
        con.execute(
            "create or replace table handmade.population (year integer, municipality_number varchar, "
            "sex varchar, age_group varchar, population integer)"
        )
        for year in years:
            con.executemany(
                "insert into handmade.population values (?, ?, ?, ?, ?)", handmade.population_rows(year)
            )
    finally:
        con.close()
    return db_path


def _hot(row: tuple, cols: list[str], hot: set[str]) -> tuple:
    """A DAP dose row of an examination in `hot`, multiplied by HOT_FACTOR."""
    value = row[cols.index("value")]
    if (
        row[cols.index("examination_id")] in hot
        and row[cols.index("dose_type")] == "DAP"
        and value is not None
    ):
        return tuple(value * HOT_FACTOR if c == "value" else v for c, v in zip(cols, row, strict=True))
    return row


_BUILT: dict[str, Harness] = {}


def five_year_harness(tmp_path_factory: pytest.TempPathFactory) -> Harness:
    """dbt build (models, data tests, unit tests) of the trend models and everything upstream of them on
    five hand-built years, once per session (test_report.py charts the same warehouse)."""
    if "harness" not in _BUILT:
        root = tmp_path_factory.mktemp("deliveries_years")
        h = Harness(make_project(root), root / "warehouse.duckdb")
        build_years(h.db)
        trends = [f"+{name}" for name in [*TIME_SERIES, "dsa_facility_follow_up"]]
        h.dbt("build", "--select", *trends, "delivery_parameters")
        _BUILT["harness"] = h
    return _BUILT["harness"]


@pytest.fixture(scope="session")
def years_harness(tmp_path_factory) -> Harness:
    return five_year_harness(tmp_path_factory)


def _rows(db: Path, sql: str) -> list[dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _models() -> dict[str, dict]:
    return {
        m["name"]: m
        for folder in ("dsa", "rhf")
        for path in sorted((DBT_PROJECT_DIR / "models" / "deliveries" / folder).glob("*.yml"))
        for m in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", [])
    }


def test_time_series_models_are_declared_with_grain_contract_and_flag():
    """Each trend model: grain in config.meta.grain (tested unique), time_series: true (packaging
    delivers its year and the four before), a data_type for every column, is_provisional, year."""
    models = _models()
    flagged = {n for n, m in models.items() if m.get("config", {}).get("meta", {}).get("time_series")}
    assert set(TIME_SERIES) <= flagged and "dsa_facility_follow_up" not in flagged  # its year's list
    for name in [*TIME_SERIES, "dsa_facility_follow_up"]:
        model = models[name]
        grain = model["config"]["meta"]["grain"]
        tested = [
            t["unique_combination"]["arguments"]["columns"]
            for t in model["data_tests"]
            if "unique_combination" in t
        ]
        assert tested == [grain], name
        columns = {c["name"]: c for c in model["columns"]}
        assert {"year", "is_provisional"} <= set(columns) and set(grain) <= set(columns), name
        assert all(c.get("data_type") for c in columns.values()), name
        assert model["description"].startswith("Grain: "), name


def test_every_year_is_there_and_marked_provisional_or_final(years_harness, tmp_path):
    """One rule: a year is provisional until the cut date reaches 1 May of the next year."""
    for table in TIME_SERIES:
        rows = _rows(years_harness.db, f"select distinct year, is_provisional from marts.{table}")
        assert {r["year"] for r in rows} == set(YEARS), table
        assert all(r["is_provisional"] is False for r in rows), table  # built today: every year final
    cut = dt.date(LAST + 1, 4, 30)
    db = tmp_path / "cut.duckdb"
    shutil.copy(years_harness.db, db)
    selection = " ".join([*TIME_SERIES, "dsa_facility_follow_up"])
    years_harness.dbt("run", "--select", selection, "--vars", f"{{cut_date: '{cut}'}}", db=db)
    for table in [*TIME_SERIES, "dsa_facility_follow_up"]:
        rows = _rows(
            db,
            "select year, bool_and(is_provisional) as p, bool_or(is_provisional) as q "
            f"from marts.{table} group by year",
        )
        assert rows and all(r["p"] == r["q"] == (r["year"] == LAST) for r in rows), table


def test_no_published_count_rests_on_1_to_4_patients(years_harness):
    """Every patient-derived number of the time series and the follow-up list, over every year: never 1
    to 4 (a change is a difference of two published numbers, not a count); datatap in [0, 1]."""
    for table in [*TIME_SERIES, "dsa_facility_follow_up"]:
        rows = _rows(years_harness.db, f"select * from marts.{table}")
        assert rows, table
        counts = [
            c
            for c in rows[0]
            if c.startswith("n_")
            and c not in ("n_cells_suppressed", "n_cells_total", "n_facilities", "n_years_in_trend")
            and not c.startswith("n_records_excluded")
            and not c.endswith(("_change", "_change_pct"))
        ]
        for column in counts:
            assert all(r[column] is None or not 1 <= r[column] <= 4 for r in rows), (table, column)
        assert all(r["datatap"] is None or 0 <= r["datatap"] <= 1 for r in rows if "datatap" in r), table


def _keyed(rows: list[dict], keys: list[str]) -> dict[tuple, dict]:
    return {tuple(r[k] for k in keys): r for r in rows}


@pytest.mark.parametrize(
    ("table", "keys", "measures"),
    [
        (
            "rhf_imaging_activity_trend",
            ["month", "region_basis", "rhf_name", "hf_name", "modality"],
            ["n_examinations", "n_patients"],
        ),
        ("rhf_rt_activity_trend", ["rhf_name", "hf_name"], ["n_patients", "n_series", "n_attendances"]),
        ("dsa_drl_trend", ["procedure_code", "dose_type"], ["p75"]),
        ("dsa_facility_dose_trend", ["facility_id", "procedure_code", "dose_type"], ["median"]),
        (
            "dsa_population_dose_trend",
            ["modality"],
            ["n_examinations", "collective_dose_mansv", "per_caput_msv"],
        ),
    ],
)
def test_change_is_the_difference_of_published_numbers(years_harness, table, keys, measures):
    rows = _rows(years_harness.db, f"select * from marts.{table}")
    by_key = _keyed(rows, ["year", *keys])
    compared = 0
    for row in rows:
        before = by_key.get((row["year"] - 1, *(row[k] for k in keys)))
        for m in measures:
            if before is None or before[m] is None or row[m] is None:
                assert row[f"{m}_change"] is None, (table, row)
                continue
            compared += 1
            assert row[f"{m}_change"] == pytest.approx(row[m] - before[m]), (table, m, row)
            if before[m]:
                assert row[f"{m}_change_pct"] == pytest.approx(100 * (row[m] - before[m]) / before[m])
    assert compared > 0, table


@pytest.fixture(scope="module")
def open_db(years_harness, tmp_path_factory) -> Path:
    """The activity tables and their trends rebuilt with suppression off: the truth."""
    db = tmp_path_factory.mktemp("open") / "open.duckdb"
    shutil.copy(years_harness.db, db)
    selection = "rhf_imaging_activity rhf_imaging_activity_trend rhf_rt_activity rhf_rt_activity_trend"
    years_harness.dbt("run", "--select", selection, "--vars", "{small_cell_max_patients: 0}", db=db)
    return db


IMAGING_CELL = ["year", "region_basis", "rhf_name", "hf_name", "modality"]


def _months(rows: list[dict]) -> dict[tuple, dict[int, dict]]:
    months: dict[tuple, dict[int, dict]] = defaultdict(dict)
    for r in rows:
        if r["month"] is not None:
            months[tuple(r[k] for k in IMAGING_CELL)][r["month"]] = r
    return months


def test_trend_numbers_are_the_detail_tables_totals(open_db):
    """Suppression off: a yearly imaging number is the sum of its months (patients: the year's unique
    patients, at most the sum), and a hospital's radiotherapy numbers the sum of rhf_rt_activity's cells."""
    trend = _rows(open_db, "select * from marts.rhf_imaging_activity_trend")
    months = _months(trend)
    yearly = [r for r in trend if r["month"] is None]
    assert {r["year"] for r in yearly} == set(YEARS)
    for r in yearly:
        parts = months[tuple(r[k] for k in IMAGING_CELL)].values()
        assert r["n_examinations"] == sum(p["n_examinations"] for p in parts)
        assert r["n_ionising_examinations"] == sum(p["n_ionising_examinations"] for p in parts)
        assert max(p["n_patients"] for p in parts) <= r["n_patients"] <= sum(p["n_patients"] for p in parts)

    measures = ("n_patients", "n_series", "n_attendances")
    cells: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(measures, 0))
    for r in _rows(open_db, "select * from marts.rhf_rt_activity"):
        for m in measures:
            cells[(r["year"], r["rhf_name"], r["hf_name"])][m] += r[m]
    rt = {
        (r["year"], r["rhf_name"], r["hf_name"]): {m: r[m] for m in measures}
        for r in _rows(open_db, "select * from marts.rhf_rt_activity_trend")
    }
    assert rt == dict(cells) and {k[0] for k in rt} == set(YEARS)


def test_a_published_year_never_reveals_a_blanked_month(years_harness, open_db):
    """rhf_imaging_activity treats each yearly number of the trend as the total of its months: where
    the year is published, never exactly one of its non-zero months is blanked or removed."""
    published = _rows(years_harness.db, "select * from marts.rhf_imaging_activity_trend")
    shown = _months(published)
    truth = _months(_rows(open_db, "select * from marts.rhf_imaging_activity_trend"))
    checked = blanked_months = 0
    for r in (r for r in published if r["month"] is None):
        cell = tuple(r[k] for k in IMAGING_CELL)
        for m in ("n_examinations", "n_ionising_examinations"):
            if r[m] is None:
                continue
            hidden = [
                month
                for month, true in truth[cell].items()
                if true[m] and (month not in shown[cell] or shown[cell][month][m] is None)
            ]
            assert len(hidden) != 1, (m, r, hidden)
            checked += 1
            blanked_months += len(hidden)
    assert checked > 0 and blanked_months > 0  # the check had something to check


def test_follow_up_lists_the_facilities_above_the_reference_two_years_running(years_harness):
    facilities = _rows(
        years_harness.db, "select * from marts.dsa_facility_dose where exceeds_reference and meets_minimum"
    )
    above = {(r["year"], r["facility_id"], r["procedure_code"], r["dose_type"]) for r in facilities}
    expected = {k for k in above if (k[0] - 1, *k[1:]) in above}
    listed = _rows(years_harness.db, "select * from marts.dsa_facility_follow_up")
    assert {(r["year"], r["facility_id"], r["procedure_code"], r["dose_type"]) for r in listed} == expected
    hot = [r for r in listed if r["facility_id"] == HOT_ROOM and r["procedure_code"] == HOT_CODE]
    assert [r["year"] for r in hot] == YEARS[2:]  # above from the second year: listed from the third
    assert [r["years_running"] for r in hot] == list(range(2, len(YEARS)))
    assert all(r["first_year_above"] == YEARS[1] and r["median"] > r["national_reference_value"] for r in hot)


def test_drl_trend_is_dsa_drl_over_the_years_with_a_slope(years_harness):
    drl = _keyed(
        _rows(years_harness.db, "select * from marts.dsa_drl"), ["year", "procedure_code", "dose_type"]
    )
    trend = _rows(years_harness.db, "select * from marts.dsa_drl_trend")
    assert set(_keyed(trend, ["year", "procedure_code", "dose_type"])) == set(drl)
    for r in trend:
        d = drl[(r["year"], r["procedure_code"], r["dose_type"])]
        assert (r["p75"], r["p75_ci_low"], r["p75_ci_high"]) == (d["p75"], d["p75_ci_low"], d["p75_ci_high"])
    full = [r for r in trend if r["year"] == LAST and r["n_years_in_trend"] == len(YEARS)]
    assert full
    for r in full:
        points = [(y - LAST, drl[(y, r["procedure_code"], r["dose_type"])]["p75"]) for y in YEARS]
        mx = sum(x for x, _ in points) / len(points)
        my = sum(y for _, y in points) / len(points)
        slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
        assert r["p75_trend_per_year"] == pytest.approx(slope)
        assert r["p75_trend_pct_per_year"] == pytest.approx(100 * slope / my)

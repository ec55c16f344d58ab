"""The delivery models on the hand-built warehouse: dbt unit and data tests, reproducible bootstrap,
population dose recomputed by hand, suppression visible in the tables."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict

import duckdb
import pytest
import yaml

from orchestration.settings import DBT_PROJECT_DIR
from tests.contract import DELIVERY_MODELS
from tests.deliveries.conftest import YEAR

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


DELIVERY_YAML_DIRS = (
    DBT_PROJECT_DIR / "models" / "deliveries",
    DBT_PROJECT_DIR / "models" / "intermediate" / "deliveries",
)


def _delivery_yaml(kind: str) -> list[dict]:
    """Every entry of `kind` (models, unit_tests) in the YAML of the delivery folders."""
    return [
        entry
        for folder in DELIVERY_YAML_DIRS
        for path in sorted(folder.rglob("*.yml"))
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(kind, [])
    ]


# the time series (issue 13 item 4) that publish patient-derived counts (one year here; five years and
# the follow-up list in test_time_series.py)
TREND_TABLES_WITH_COUNTS = (
    "rhf_imaging_activity_trend",
    "rhf_rt_activity_trend",
    "dsa_facility_dose_trend",
    "dsa_population_dose_trend",
)


def test_unit_tests_run_and_pass(harness):
    n = len(_delivery_yaml("unit_tests"))
    out = harness.dbt("test", "--select", "test_type:unit").stdout
    # from the run's results, not the summary line: that also counts the project's on-run-end hook
    results = json.loads((harness.project / "target" / "run_results.json").read_text(encoding="utf-8"))
    unit_tests = {
        r["unique_id"]: r["status"] for r in results["results"] if r["unique_id"].startswith("unit_test.")
    }
    assert n >= 9 and len(unit_tests) == n, out[-2000:]
    assert set(unit_tests.values()) == {"pass"}, {k: v for k, v in unit_tests.items() if v != "pass"}


def test_delivery_models_state_grain_contract_and_types():
    """Every dsa_*/rhf_* model: its grain in config.meta.grain (what packaging reads), the same
    list tested unique, an enforced contract (dbt_project.yml) and a data_type for every column."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["models"]["stralebruk"]["deliveries"]["+contract"] == {"enforced": True}
    models = {m["name"]: m for m in _delivery_yaml("models")}
    assert set(DELIVERY_MODELS) <= set(models)
    for name in DELIVERY_MODELS:
        model = models[name]
        grain = model["config"]["meta"]["grain"]
        tested = [
            t["unique_combination"]["arguments"]["columns"]
            for t in model.get("data_tests", [])
            if isinstance(t, dict) and "unique_combination" in t
        ]
        assert tested == [grain], name
        columns = [c["name"] for c in model["columns"]]
        assert set(grain) <= set(columns), name
        assert all(c.get("data_type") for c in model["columns"]), name


def test_every_delivery_model_marks_its_years_provisional_or_final():
    """Issue 13 item 4: one rule (macro is_provisional) on every row of every delivery table, the time
    series (config.meta.time_series) included, and a year column to deliver it by."""
    models = {m["name"]: m for m in _delivery_yaml("models") if m["name"].startswith(("dsa_", "rhf_"))}
    time_series = [n for n, m in models.items() if m.get("config", {}).get("meta", {}).get("time_series")]
    assert time_series
    for name in [*DELIVERY_MODELS, *time_series]:
        columns = {c["name"] for c in models[name]["columns"]}
        assert {"year", "is_provisional"} <= columns, name
        sql = next((DBT_PROJECT_DIR / "models" / "deliveries").rglob(f"{name}.sql")).read_text(
            encoding="utf-8"
        )
        assert "is_provisional(" in sql, name


def test_every_delivery_table_is_built_with_rows(harness):
    # the harness holds one year: no facility is above the reference value two years running, and no
    # person reaches 100 mSv (dsa_cumulative_dose_by_group has rows in test_cumulative_dose.py)
    empty = ("dsa_facility_follow_up", "dsa_cumulative_dose_by_group")
    for table in (m for m in DELIVERY_MODELS if m not in empty):
        (row,) = _rows(harness.db, f"select count(*) as n from marts.{table}")
        assert row["n"] > 0, table


def test_patient_cells_are_suppressed_and_datatap_reported(harness):
    for table in [
        "rhf_rt_activity",
        "rhf_rt_dose_plans",
        "rhf_rt_migration",
        "rhf_imaging_activity",
        "dsa_population_dose",
        "dsa_facility_dose",
        *TREND_TABLES_WITH_COUNTS,
    ]:
        rows = _rows(harness.db, f"select * from marts.{table}")
        # every published patient-derived number rests on 5 or more patients (issue #12): never 1 to 4;
        # a change from the year before is a difference of two such numbers, not a count
        counts = [
            c
            for c in rows[0]
            if c.startswith("n_")
            and c not in ("n_cells_suppressed", "n_cells_total")
            and not c.endswith(("_change", "_change_pct"))
        ]
        for column in counts:
            if column.startswith("n_records_excluded"):
                continue  # data-quality figures, not patient counts
            assert all(r[column] is None or not 1 <= r[column] <= 4 for r in rows), (table, column)
        assert all(0 <= r["datatap"] <= 1 for r in rows), table
    # the hand-built world is small, so the region x hospital x diagnosis x intent grid loses cells
    activity = _rows(harness.db, "select datatap, n_cells_suppressed from marts.rhf_rt_activity limit 1")[0]
    assert activity["n_cells_suppressed"] > 0 and activity["datatap"] > 0


def test_bootstrap_interval_is_reproducible_and_depends_on_the_seed(harness, tmp_path):
    query = (
        "select procedure_code, dose_type, p75, p75_ci_low, p75_ci_high from marts.dsa_drl "
        "where is_published order by all"
    )
    first = _rows(harness.db, query)
    assert first and all(r["p75_ci_low"] <= r["p75_ci_high"] for r in first)
    again, other = tmp_path / "again.duckdb", tmp_path / "other.duckdb"
    shutil.copy(harness.db, again)
    shutil.copy(harness.db, other)
    harness.dbt("run", "--select", "dsa_drl", db=again)
    harness.dbt("run", "--select", "dsa_drl", "--vars", "{drl_bootstrap_seed: 7}", db=other)
    assert _rows(again, query) == first
    reseeded = _rows(other, query)
    assert [r["p75"] for r in reseeded] == [r["p75"] for r in first]
    assert [(r["p75_ci_low"], r["p75_ci_high"]) for r in reseeded] != [
        (r["p75_ci_low"], r["p75_ci_high"]) for r in first
    ]


def test_drl_compares_with_dsa_published_values(harness):
    rows = {
        (r["procedure_code"], r["dose_type"]): r for r in _rows(harness.db, "select * from marts.dsa_drl")
    }
    assert rows[("SAA0AD", "DLP")]["national_reference_value"] == 1000
    assert rows[("SSD0AD", "CTDIVOL")]["national_reference_value"] == 18
    flagged = _rows(
        harness.db, "select * from marts.dsa_facility_dose where national_reference_value is not null"
    )
    assert flagged and all(
        r["exceeds_reference"] == (r["median"] > r["national_reference_value"]) for r in flagged
    )


def test_population_dose_matches_a_hand_computation(harness):
    """CT collective dose recomputed from the raw hand-built rows: DLP x k (head 0.0021, abdomen 0.015),
    examinations without DLP take their code's mean effective dose."""
    k = {"SAA0AD": 0.0021, "SSD0AD": 0.015}
    exams = _rows(
        harness.db,
        "select examination_id, procedure_code from handmade.fct_imaging_examination "
        "where modality_group = 'CT'",
    )
    dlp = {
        r["examination_id"]: r["value"]
        for r in _rows(
            harness.db,
            "select examination_id, value from handmade.fct_imaging_dose "
            "where dose_type = 'DLP' and value is not null",
        )
    }
    by_code = defaultdict(list)
    for e in exams:
        if e["examination_id"] in dlp:
            by_code[e["procedure_code"]].append(dlp[e["examination_id"]] * k[e["procedure_code"]])
    mean = {c: sum(v) / len(v) for c, v in by_code.items()}
    expected_msv = sum(
        dlp[e["examination_id"]] * k[e["procedure_code"]]
        if e["examination_id"] in dlp
        else mean[e["procedure_code"]]
        for e in exams
    )
    population = _rows(
        harness.db, f"select sum(population) as p from handmade.population where year = {YEAR}"
    )[0]["p"]
    (row,) = _rows(
        harness.db, "select * from marts.dsa_population_dose where modality = 'CT' and breakdown = 'total'"
    )
    assert row["n_examinations"] == len(exams)
    assert row["collective_dose_mansv"] == pytest.approx(expected_msv / 1000, rel=1e-9)
    assert row["per_caput_msv"] == pytest.approx(expected_msv / population, rel=1e-9)
    assert row["per_1000_inhabitants"] == pytest.approx(1000 * len(exams) / population, rel=1e-9)
    xr = _rows(
        harness.db, "select * from marts.dsa_population_dose where modality = 'X-ray' and breakdown = 'total'"
    )[0]
    # angiography has a published coefficient, plain radiography has none in the seed: counted, not dosed
    assert 0 < xr["n_examinations_with_coefficient"] < xr["n_examinations"]


def test_population_dose_patients_equal_a_plain_count_distinct(harness):
    """n_patients of every published cell of dsa_population_dose equals count(distinct person_key) of
    its examinations, counted here one breakdown at a time with a plain GROUP BY (the model counts
    one row per grouping set and patient instead, for speed)."""
    columns = {
        "total": "'all'",
        "sex": "e.sex",
        "age_group": "e.age_group",
        "residence_rhf": "e.residence_rhf_name",
        "examination_group": "d.examination_group",
    }
    queries = [
        f"select e.year, {modality} as modality, '{breakdown}' as breakdown, "
        f"cast({value} as varchar) as breakdown_value, count(distinct e.person_key) as n_patients "
        "from intermediate.int_deliveries__imaging_examinations as e "
        "inner join intermediate.int_deliveries__examination_effective_doses as d "
        "on d.examination_id = e.examination_id group by all"
        for breakdown, value in columns.items()
        for modality in ("e.modality_group", "'all'")
    ]
    expected = {
        (r["year"], r["modality"], r["breakdown"], r["breakdown_value"]): r["n_patients"]
        for r in _rows(harness.db, " union all ".join(queries))
    }
    published = _rows(
        harness.db,
        "select year, modality, breakdown, breakdown_value, n_patients from marts.dsa_population_dose "
        "where n_patients is not null",
    )
    assert len(published) >= 5 and {r["breakdown"] for r in published} >= {"total", "sex"}
    for r in published:
        key = (r["year"], r["modality"], r["breakdown"], r["breakdown_value"])
        assert r["n_patients"] == expected[key], key


def test_completeness_counts_dose_without_activity_and_unknown_units(harness):
    totals = _rows(
        harness.db,
        "select sum(n_dose_without_activity) as orphans, sum(n_uninterpretable_units) "
        "as units, sum(n_ionising_procedures) as n from marts.dsa_reporting_completeness",
    )[0]
    raw = _rows(
        harness.db,
        "select count(*) filter (where not has_activity) as orphans, count(*) filter "
        "(where not is_unit_known) as units from handmade.fct_imaging_dose",
    )[0]
    ionising = _rows(
        harness.db,
        "select count(*) as n from handmade.fct_imaging_examination "
        "where is_ionising and not is_double_reported",
    )[0]
    doubles = _rows(
        harness.db, "select count(*) as n from handmade.fct_imaging_examination where is_double_reported"
    )[0]
    assert doubles["n"] > 0  # the hand-made year has double reports, so counting them once is tested
    assert (totals["orphans"], totals["units"], totals["n"]) == (raw["orphans"], raw["units"], ionising["n"])
    assert raw["orphans"] > 0 and raw["units"] > 0


@pytest.mark.parametrize(
    "bounds",
    ["[0, 30, 18]", "[18, 30, 40]", "[0, 18, 18, 30]"],
    ids=["not ascending", "not from 0", "repeated"],
)
def test_bad_age_bands_fail_loudly(harness, bounds):
    """Issue #12 item 11: age bands (var age_group_lower_bounds) that are not ascending distinct
    integers from 0 stop the build with a message naming the var, never silently mislabel ages
    ('30-17') or leave ages without a band."""
    with pytest.raises(AssertionError, match="age_group_lower_bounds must be ascending distinct integers"):
        harness.dbt(
            "compile",
            "--select",
            "int_deliveries__imaging_examinations",
            "--vars",
            f"{{age_group_lower_bounds: {bounds}}}",
        )

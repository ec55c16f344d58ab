"""Waiting times end to end: the generator's referral periods and waits (`_truth/`: per series and
examination in `current/*.parquet`, the medians per RT intent and modality in truth.json
`waiting_times`) must come out of the warehouse: in fct_referral, in the per-series and
per-examination waits, and in the RHF delivery tables rhf_rt_waiting_times and
rhf_imaging_waiting_times (built here on a copy of the session's warehouse, once with small-cell
suppression off so every cell can be recomputed from the truth, once as delivered)."""

from __future__ import annotations

import math
import shutil

import duckdb
import pytest

from orchestration.settings import Paths
from tests.warehouse.conftest import dict_rows, run_dbt

pytestmark = pytest.mark.slow

# The delivery tables and the two delivery inputs they read (the session build leaves deliveries out).
SELECTION = [
    "int_deliveries__rt_series",
    "int_deliveries__imaging_examinations",
    "rhf_rt_waiting_times",
    "rhf_imaging_waiting_times",
]
FIGURES = [
    "median_days",
    "p80_days",
    "share_within_14_days",
    "share_within_28_days",
]

RT_TRUTH_CELLS = """
    select cast(extract(year from cast(t.start_date as date)) as integer) as year,
        coalesce(i.rhf_name, 'unknown') as rhf_name, coalesce(i.hf_name, 'unknown') as hf_name,
        coalesce(d.diagnosis_group, 'unknown') as diagnosis_group, t.intent,
        count(t.wait_days) as n_series, count(*) - count(t.wait_days) as n_series_without_referral,
        count(*) filter (where t.wait_days <= 14) as n_series_within_14_days,
        count(*) filter (where t.wait_days <= 28) as n_series_within_28_days,
        quantile_cont(t.wait_days, 0.5) as median_days, quantile_cont(t.wait_days, 0.8) as p80_days,
        count(*) filter (where t.wait_days <= 14) / nullif(count(t.wait_days), 0) as share_within_14_days,
        count(*) filter (where t.wait_days <= 28) / nullif(count(t.wait_days), 0) as share_within_28_days
    from {rt_series} as t
    left join marts.dim_institution as i on i.orgnr = t.institution
    left join marts.dim_diagnosis as d on d.diagnosis_code = t.diagnosis_code
    group by all"""
IMAGING_TRUTH_CELLS = """
    select cast(extract(year from cast(t.date as date)) as integer) as year,
        cast(extract(month from cast(t.date as date)) as integer) as month,
        coalesce(i.rhf_name, 'unknown') as rhf_name, coalesce(i.hf_name, 'unknown') as hf_name,
        coalesce(l.modality, 'unknown') as modality,
        count(t.wait_days) as n_examinations,
        count(*) - count(t.wait_days) as n_examinations_without_referral,
        count(*) filter (where t.wait_days <= 14) as n_examinations_within_14_days,
        count(*) filter (where t.wait_days <= 28) as n_examinations_within_28_days,
        quantile_cont(t.wait_days, 0.5) as median_days, quantile_cont(t.wait_days, 0.8) as p80_days,
        count(*) filter (where t.wait_days <= 14) / nullif(count(t.wait_days), 0) as share_within_14_days,
        count(*) filter (where t.wait_days <= 28) / nullif(count(t.wait_days), 0) as share_within_28_days
    from {examinations} as t
    left join marts.dim_institution as i on i.orgnr = t.institution
    left join reference.ncrp_modality_letters as l on l.modality_letter = t.modality
    where t.module = 'raa'
    group by all"""
RT_KEYS = ["year", "rhf_name", "hf_name", "diagnosis_group", "intent"]
IMAGING_KEYS = ["year", "month", "rhf_name", "hf_name", "modality"]


def _build(built, tmp_path_factory, name: str, *args: str) -> Paths:
    """A copy of the session's build file (lake shared) with the waiting-time tables built in it."""
    data = tmp_path_factory.mktemp(name)
    paths = Paths.from_env(data)
    paths.build_warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(built.paths.build_warehouse, paths.build_warehouse)
    paths.lake.symlink_to(built.paths.lake, target_is_directory=True)
    proc = run_dbt(paths, "build", "--select", *SELECTION, *args, target_dir=data)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return paths


@pytest.fixture(scope="module")
def truth_tables(built_warehouse) -> dict[str, str]:
    current = built_warehouse.truth_dir / "current"
    return {name: f"read_parquet('{current / name}.parquet')" for name in ("examinations", "rt_series")}


@pytest.fixture(scope="module")
def open_con(built_warehouse, tmp_path_factory):
    """The waiting-time tables with small-cell suppression off: every cell published."""
    assert built_warehouse.build.returncode == 0, built_warehouse.build.stdout[-6000:]
    paths = _build(built_warehouse, tmp_path_factory, "waits_open", "--vars", "{small_cell_max_patients: 0}")
    con = duckdb.connect(str(paths.build_warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def delivered_con(built_warehouse, tmp_path_factory):
    """The waiting-time tables as delivered (default small-cell threshold)."""
    assert built_warehouse.build.returncode == 0, built_warehouse.build.stdout[-6000:]
    paths = _build(built_warehouse, tmp_path_factory, "waits_delivered")
    con = duckdb.connect(str(paths.build_warehouse), read_only=True)
    yield con
    con.close()


def _by_key(rows: list[dict], keys: list[str]) -> dict[tuple, dict]:
    out = {tuple(r[k] for k in keys): r for r in rows}
    assert len(out) == len(rows), "cells are not unique on their grain"
    return out


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def test_every_referral_period_sent_is_in_fct_referral(open_con, built_warehouse):
    current = built_warehouse.truth["current"]
    sent = {m: current[m]["referral_periods"] for m in ("str", "raa", "ord")}
    assert all(sent.values()), sent  # every module that carries referrals has some
    in_mart = dict(
        open_con.execute("select source_module, count(*) from marts.fct_referral group by all").fetchall()
    )
    assert in_mart == sent
    n_ids, n_rows = open_con.execute(
        "select count(distinct referral_id), count(*) from marts.fct_referral"
    ).fetchone()
    assert n_ids == n_rows


def test_every_series_and_examination_has_the_generated_wait(open_con, truth_tables):
    series = """
        select institution_orgnr, split_part(series_id, ':', 2), referral_local_id, wait_days
        from intermediate.int_referrals__rt_series_waits"""
    truth = "select institution, series_id, referral_id, wait_days from {rt_series}"
    assert set(open_con.execute(series).fetchall()) == set(
        open_con.execute(truth.format(**truth_tables)).fetchall()
    )
    exams = """
        select source_module, institution_orgnr, episode_id, referral_local_id, wait_days, count(*)
        from intermediate.int_referrals__examination_waits group by all"""
    truth = """
        select module, institution, episode_id, referral_id, wait_days, count(*)
        from {examinations} group by all"""
    assert set(open_con.execute(exams).fetchall()) == set(
        open_con.execute(truth.format(**truth_tables)).fetchall()
    )
    # some of each: with a referral, and without one (counted apart downstream)
    statuses = dict(
        open_con.execute(
            "select referral_status, count(*) from intermediate.int_referrals__examination_waits group by all"
        ).fetchall()
    )
    assert statuses.get("linked", 0) > 0 and statuses.get("none", 0) > 0


def test_national_medians_match_the_truth_manifest(open_con, built_warehouse):
    """truth.json's medians per RT intent and per modality, recomputed from the warehouse."""
    summary = built_warehouse.truth["waiting_times"]["by_year"]
    rt = dict_rows(
        open_con,
        """select cast(s.year as varchar) as year, s.intent, count(w.wait_days) as n,
            count(*) - count(w.wait_days) as n_without_referral,
            quantile_cont(w.wait_days, 0.5) as median_days, quantile_cont(w.wait_days, 0.8) as p80_days
        from intermediate.int_deliveries__rt_series as s
        left join intermediate.int_referrals__rt_series_waits as w using (series_id)
        group by all""",
    )
    imaging = dict_rows(
        open_con,
        """select cast(e.year as varchar) as year, coalesce(e.modality, 'unknown') as modality,
            count(w.wait_days) as n, count(*) - count(w.wait_days) as n_without_referral,
            quantile_cont(w.wait_days, 0.5) as median_days, quantile_cont(w.wait_days, 0.8) as p80_days
        from intermediate.int_deliveries__imaging_examinations as e
        left join intermediate.int_referrals__examination_waits as w using (examination_id)
        where e.source_module = 'raa'
        group by all""",
    )
    assert len(rt) == sum(len(y["rt_by_intent"]) for y in summary.values())
    assert len(imaging) == sum(len(y["imaging_by_modality"]) for y in summary.values())
    for rows, part, key in ((rt, "rt_by_intent", "intent"), (imaging, "imaging_by_modality", "modality")):
        for r in rows:
            expected = summary[r["year"]][part][r[key]]
            for name in ("n", "n_without_referral", "median_days", "p80_days"):
                assert _same(r[name], expected[name]), (part, r, expected)
    # the generator's shape (docs/domain.md section 8): curative waits longer than palliative, MR
    # the longest imaging wait
    year = str(built_warehouse.truth["year"])
    by_intent = summary[year]["rt_by_intent"]
    assert by_intent["1"]["median_days"] > by_intent["2"]["median_days"]
    assert 7 <= by_intent["1"]["median_days"] <= 28
    modalities = summary[year]["imaging_by_modality"]
    assert modalities["MR"]["median_days"] > modalities["CT"]["median_days"] > modalities["XR"]["median_days"]


@pytest.mark.parametrize(
    ("table", "truth", "keys"),
    [
        ("rhf_rt_waiting_times", RT_TRUTH_CELLS, RT_KEYS),
        ("rhf_imaging_waiting_times", IMAGING_TRUTH_CELLS, IMAGING_KEYS),
    ],
)
def test_delivered_cells_equal_the_truth_without_suppression(open_con, truth_tables, table, truth, keys):
    expected = _by_key(dict_rows(open_con, truth.format(**truth_tables)), keys)
    delivered = _by_key(dict_rows(open_con, f"select * from marts.{table}"), keys)
    assert delivered.keys() == expected.keys()  # a cell of ord procedures alone is no radiology cell
    for key, row in delivered.items():
        want = expected[key]
        assert row["datatap"] == 0
        for column in want:
            if column not in keys:
                assert _same(row[column], want[column]), (table, key, column, row[column], want[column])


@pytest.mark.parametrize(
    ("table", "truth", "keys"),
    [
        ("rhf_rt_waiting_times", RT_TRUTH_CELLS, RT_KEYS),
        ("rhf_imaging_waiting_times", IMAGING_TRUTH_CELLS, IMAGING_KEYS),
    ],
)
def test_delivered_cells_are_suppressed_and_what_is_published_is_true(
    delivered_con, truth_tables, table, truth, keys
):
    expected = _by_key(dict_rows(delivered_con, truth.format(**truth_tables)), keys)
    rows = dict_rows(delivered_con, f"select * from marts.{table}")
    counts = [c for c in rows[0] if c.startswith("n_") and c not in ("n_cells_suppressed", "n_cells_total")]
    n_published = 0
    for row in rows:
        key = tuple(row[k] for k in keys)
        for column in counts:
            # a count rests on at least as many series/examinations as patients: never 1 to 4
            assert row[column] is None or not 1 <= row[column] <= 4, (table, key, column)
        want = expected[key]
        for column in [*counts, *FIGURES]:
            if row[column] is not None:
                n_published += 1
                assert _same(row[column], want[column]), (table, key, column)
        assert 0 <= row["datatap"] <= 1
    assert n_published > 0  # something survives suppression even at this small scale

"""Cumulative dose from recurrent imaging end to end (issue 14 item 7): a five-year synthetic history
(2021-2025) is generated, ingested and built up to dsa_cumulative_dose and
dsa_cumulative_dose_by_group, with small-cell suppression off and the threshold lowered to
THRESHOLD mSv (a small history has no one at 100 mSv).

What comes from where: the generator's truth knows which synthetic person had each examination
(`_truth/current/examinations.parquet`, `person_id`: one person across institutions and years), but
not the effective doses (the RP 154 estimate is the warehouse's: coefficients, code means, typical
doses). So the expected figures take the persons and the examinations from the truth and each
examination's effective dose and attributes (age group, sex, RHF of residence) at the finest grain
from the warehouse (int_deliveries__examination_effective_doses, int_deliveries__imaging_examinations),
and recompute in Python the windows, the per-person sums, the attributes of the last examination, the
threshold, the cube of cells and the percentiles, independently of the SQL. Also checked: the
warehouse's person keys link a truth person's examinations across institutions into one person."""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import product
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import Paths
from tests.warehouse.conftest import dict_rows, run_dbt

pytestmark = pytest.mark.slow

YEARS = (2021, 2025)
THRESHOLD = 20
WINDOWS = (1, 5)
SELECTION = ["+dsa_cumulative_dose", "+dsa_cumulative_dose_by_group"]
# every current truth examination, with the warehouse's examination it is (by sender, episode and
# procedure number), its effective dose and the attributes the deliveries group by
EXAMINATIONS = """
    select t.person_id, e.examination_id, e.person_key, e.year, e.examination_date, e.age_group, e.sex,
        e.residence_rhf_name, e.institution_orgnr, d.examination_group, d.effective_dose_msv
    from read_parquet('{truth}') as t
    inner join marts.fct_imaging_examination as f
        on f.source_module = t.module and f.institution_orgnr = t.institution
            and f.episode_id = t.episode_id and f.procedure_no = t.procedure_number
    inner join intermediate.int_deliveries__imaging_examinations as e on e.examination_id = f.examination_id
    inner join intermediate.int_deliveries__examination_effective_doses as d
        on d.examination_id = e.examination_id
    where d.effective_dose_msv is not null"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Paths, Path]:
    from extract.ingest import ingest
    from synth import generate

    data = tmp_path_factory.mktemp("cumulative_dose")
    paths = Paths.from_env(data)
    manifest = generate(paths.inbox, years=YEARS, scale=0.001, seed=4, workers=1, progress=False)
    ingest(paths.inbox, paths.lake)
    proc = run_dbt(
        paths,
        "build",
        "--select",
        *SELECTION,
        *("--exclude", "test_type:unit", "test_type:data"),  # the data tests expect suppression
        "--vars",
        f"{{small_cell_max_patients: 0, cumulative_dose_threshold_msv: {THRESHOLD}, cut_date: '2026-06-01'}}",
        target_dir=data,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    return paths, Path(manifest).parent / "current" / "examinations.parquet"


@pytest.fixture(scope="module")
def con(built):
    c = duckdb.connect(str(built[0].build_warehouse), read_only=True)
    yield c
    c.close()


def _quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (DuckDB's quantile_cont)."""
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@pytest.fixture(scope="module")
def expected(con, built) -> dict[tuple, dict]:
    """(year, window, person_key) -> the person's window, recomputed from the truth's examinations."""
    exams = dict_rows(con, EXAMINATIONS.format(truth=built[1]))
    assert exams
    years = dict_rows(con, "select year from intermediate.int_deliveries__imaging_examinations")
    first = min(r["year"] for r in years)
    by_person: dict[str, list[dict]] = defaultdict(list)
    for e in exams:
        by_person[e["person_key"]].append(e)
    out = {}
    for (key, person), window, year in product(by_person.items(), WINDOWS, range(first, YEARS[1] + 1)):
        start = max(year - window + 1, first)
        inside = [e for e in person if start <= e["year"] <= year]
        if not inside:
            continue
        last = max(inside, key=lambda e: (e["examination_date"], e["examination_id"]))
        groups: dict[str, float] = defaultdict(float)
        for e in inside:
            groups[e["examination_group"]] += e["effective_dose_msv"]
        dose = sum(e["effective_dose_msv"] for e in inside)
        out[(year, window, key)] = {
            "person_id": {e["person_id"] for e in inside},
            "institutions": {e["institution_orgnr"] for e in inside},
            "exams": inside,
            "years_in_window": year - start + 1,
            "n_examinations": len(inside),
            "cumulative_dose_msv": dose,
            "is_at_or_above_threshold": round(dose, 6) >= THRESHOLD,
            "age_group": last["age_group"],
            "sex": last["sex"],
            "residence_rhf_name": last["residence_rhf_name"],
            "top_examination_group": min(groups, key=lambda g: (-groups[g], g)),
        }
    return out


def test_person_keys_link_each_truth_person_across_institutions(expected):
    """One warehouse person per truth person: a person_key never holds two synthetic persons, and
    persons with examinations at several institutions in a window exist (what a hospital's own dose
    monitor cannot add up)."""
    assert all(len(p["person_id"]) == 1 for p in expected.values())
    keys_of: dict[int, set[str]] = defaultdict(set)
    for (_, _, key), p in expected.items():
        keys_of[next(iter(p["person_id"]))].add(key)
    split = [pid for pid, keys in keys_of.items() if len(keys) > 1]
    # only persons without an NPR-IDE match keep a sender-local key per sender
    assert len(split) <= 0.01 * len(keys_of), split[:5]
    assert sum(1 for (_, w, _), p in expected.items() if w == 5 and len(p["institutions"]) > 1) > 0


def test_per_person_windows_match_the_truth(con, expected):
    rows = dict_rows(con, "select * from intermediate.int_deliveries__person_cumulative_doses")
    got = {(r["year"], r["window_years"], r["person_key"]): r for r in rows}
    assert set(got) == set(expected)
    for key, want in expected.items():
        r = got[key]
        assert r["years_in_window"] == want["years_in_window"], key
        assert r["is_complete_window"] == (want["years_in_window"] == key[1]), key
        assert r["n_examinations"] == want["n_examinations"], key
        assert math.isclose(r["cumulative_dose_msv"], want["cumulative_dose_msv"], rel_tol=1e-9), key
        for column in ("is_at_or_above_threshold", "age_group", "sex", "residence_rhf_name"):
            assert r[column] == want[column], (key, column)
        assert r["top_examination_group"] == want["top_examination_group"], key
    # a five-year history: complete 5-year windows for 2025, and some person reaching the threshold
    assert any(k[1] == 5 and w["years_in_window"] == 5 for k, w in expected.items())
    assert any(w["is_at_or_above_threshold"] for w in expected.values())
    assert any(k[1] == 5 and w["n_examinations"] > 1 for k, w in expected.items())


def test_cells_match_the_truth(con, expected):
    """Every cell of the cube (age group x sex x region, 'all' for any of them), unsuppressed."""
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for (year, window, _), p in expected.items():
        for age, sex, region in product(
            (p["age_group"], "all"), (p["sex"], "all"), (p["residence_rhf_name"], "all")
        ):
            cells[(year, window, age, sex, region)].append(p)
    rows = dict_rows(con, "select * from marts.dsa_cumulative_dose")
    got = {(r["year"], r["window_years"], r["age_group"], r["sex"], r["residence_rhf_name"]): r for r in rows}
    assert set(got) == set(cells)
    for key, persons in cells.items():
        r = got[key]
        doses = [p["cumulative_dose_msv"] for p in persons]
        n_high = sum(p["is_at_or_above_threshold"] for p in persons)
        assert (r["n_persons"], r["n_persons_100msv_or_more"]) == (len(persons), n_high), key
        assert math.isclose(r["share_100msv_or_more"], n_high / len(persons), rel_tol=1e-12), key
        assert math.isclose(r["median_msv"], _quantile(doses, 0.5), rel_tol=1e-9), key
        assert math.isclose(r["p95_msv"], _quantile(doses, 0.95), rel_tol=1e-9), key
        assert r["threshold_msv"] == THRESHOLD and r["datatap"] == 0
        assert r["years_in_window"] == persons[0]["years_in_window"], key


def test_contributors_match_the_truth(con, expected):
    groups: dict[tuple, dict] = defaultdict(lambda: {"persons": set(), "top": set(), "n": 0, "dose": 0.0})
    for (year, window, key), p in expected.items():
        if not p["is_at_or_above_threshold"]:
            continue
        for e in p["exams"]:
            g = groups[(year, window, e["examination_group"])]
            g["persons"].add(key)
            g["n"] += 1
            g["dose"] += e["effective_dose_msv"]
        groups[(year, window, p["top_examination_group"])]["top"].add(key)
    rows = dict_rows(con, "select * from marts.dsa_cumulative_dose_by_group")
    got = {(r["year"], r["window_years"], r["examination_group"]): r for r in rows}
    assert set(got) == set(groups) and groups
    for key, g in groups.items():
        r = got[key]
        assert (r["n_persons"], r["n_persons_top_group"], r["n_examinations"]) == (
            len(g["persons"]),
            len(g["top"]),
            g["n"],
        ), key
        assert math.isclose(r["dose_msv"], g["dose"], rel_tol=1e-9), key

"""Disclosure control over a generated year (issue #12 item 1, docs/domain.md section 7).

A small synthetic year is generated, ingested and built with every delivery model; the delivery models
are then rebuilt with suppression switched off (small_cell_max_patients 0) into a copy: the truth.
Asserted on the published tables:

1. no number in 1..4 in any patient-derived column of any rhf_*/dsa_* table;
2. no within-row remainder (total - published parts) is 1..4;
3. no suppressed number is recoverable by one subtraction from a margin: in every group of numbers
   that adds up to a published or derivable total, never exactly one non-zero number is blanked
   (unless the group holds that one number only, or its total is 1..4: such a total is itself
   blanked wherever it is published);
4. the routes between tables of the same delivery (which tables share margins):
   - RHF: rhf_rt_activity.n_patients summed over HF x diagnosis x intent per treating RHF = rhf_rt_migration
     summed over residence per treating RHF; rhf_rt_activity.n_series summed over HF x intent per RHF x
     diagnosis group = rhf_rt_dose_plans.n_series of the 'all' row; rhf_imaging_activity shares no margin
     with the radiotherapy tables (other persons, other events); within it, a private institute's
     'residence' rows add up to its 'provider' row (checked under 3);
   - DSA: dsa_population_dose's breakdowns (sex, age group, RHF of residence, examination group) each add
     up to the modality's 'total' row, and the modalities to 'all'; dsa_cumulative_dose's age groups,
     sexes and regions each add up to their 'all' row (a cube), and dsa_cumulative_dose_by_group'
     top-group counts to its persons at the threshold; dsa_reporting_completeness (not
     suppressed, institution quality figures) adds up to the 'all'/'total' examinations; dsa_drl's
     n_examinations adds up dsa_facility_dose rows of facilities with the minimum sample (never small).
   A total published in one table makes the other table's group a margin (covered by 3); a total blanked
   in one table must not be the sum of fully published numbers of the other.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable

import duckdb
import pytest

from orchestration.settings import Paths
from tests.warehouse.conftest import run_dbt

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

THRESHOLD = 4
GRAINS = {
    "rhf_rt_activity": ["year", "rhf_name", "hf_name", "diagnosis_group", "intent"],
    "rhf_rt_migration": ["year", "residence_rhf_name", "treatment_rhf_name"],
    "rhf_rt_dose_plans": ["year", "rhf_name", "planning_code", "diagnosis_group"],
    "rhf_imaging_activity": ["year", "month", "region_basis", "rhf_name", "hf_name", "modality"],
    "dsa_population_dose": ["year", "modality", "breakdown", "breakdown_value"],
    "dsa_facility_dose": ["year", "facility_id", "procedure_code", "dose_type"],
    "dsa_cumulative_dose": ["year", "window_years", "age_group", "sex", "residence_rhf_name"],
    "dsa_cumulative_dose_by_group": ["year", "window_years", "examination_group"],
}
# Every patient-derived count of each table (quality figures such as n_records_excluded_* are not).
MEASURES = {
    "rhf_rt_activity": [
        "n_patients",
        "n_new_patients",
        "n_series",
        "n_attendances",
        "n_attendances_outpatient",
        "n_attendances_inpatient",
    ],
    "rhf_rt_migration": ["n_patients"],
    "rhf_rt_dose_plans": ["n_dose_plans", "n_series", "n_patients"],
    "rhf_imaging_activity": ["n_examinations", "n_ionising_examinations", "n_patients"],
    "dsa_population_dose": [
        "n_examinations",
        "n_patients",
        "n_examinations_with_coefficient",
        "n_examinations_with_measured_dose",
        "n_examinations_with_dose",
        "n_examinations_typical_dose",
    ],
    "dsa_facility_dose": ["n_examinations", "n_patients"],
    "dsa_drl": ["n_examinations"],
    "dsa_cumulative_dose": ["n_persons", "n_persons_100msv_or_more"],
    "dsa_cumulative_dose_by_group": ["n_persons", "n_persons_top_group", "n_examinations"],
}
# Within a row: total = sum of parts + a remainder that is never published.
ROW_SUMS = {
    "rhf_rt_activity": [
        ("n_patients", ["n_new_patients"]),
        ("n_attendances", ["n_attendances_outpatient", "n_attendances_inpatient"]),
    ],
    "rhf_imaging_activity": [("n_examinations", ["n_ionising_examinations"])],
    "dsa_population_dose": [
        ("n_examinations", ["n_examinations_with_coefficient"]),
        ("n_examinations", ["n_examinations_with_measured_dose"]),
        ("n_examinations", ["n_examinations_with_dose"]),
    ],
    "dsa_cumulative_dose": [("n_persons", ["n_persons_100msv_or_more"])],
}
Row = dict
GroupKey = Callable[[Row], tuple | None]


def _breakdown_margin(breakdown: str) -> GroupKey:
    """A breakdown's values add up to the modality's 'total' row."""
    return lambda r: (r["year"], r["modality"], breakdown) if r["breakdown"] in (breakdown, "total") else None


# Across rows, per measure: rows with the same key add up to a total published or derivable elsewhere.
MARGINS: dict[str, list[GroupKey]] = {
    "rhf_rt_activity": [
        lambda r: (r["year"], r["rhf_name"], r["hf_name"]),
        lambda r: (r["year"], r["rhf_name"], r["diagnosis_group"]),
        lambda r: (r["year"], r["rhf_name"]),
        lambda r: (r["year"],),
    ],
    "rhf_rt_migration": [
        lambda r: (r["year"], r["residence_rhf_name"]),
        lambda r: (r["year"], r["treatment_rhf_name"]),
        lambda r: (r["year"],),
    ],
    "rhf_rt_dose_plans": [
        # n_dose_plans of the codes add up to the 'all' row
        lambda r: (r["year"], r["rhf_name"], r["diagnosis_group"]),
        lambda r: (r["year"], r["rhf_name"], r["planning_code"]),
        lambda r: (r["year"], r["planning_code"]),
    ],
    "rhf_imaging_activity": [
        lambda r: (r["year"], r["month"], r["region_basis"], r["rhf_name"], r["hf_name"]),
        lambda r: (r["year"], r["month"], r["region_basis"], r["rhf_name"], r["modality"]),
        lambda r: (r["year"], r["month"], r["region_basis"]),
        # a private institute's rows by RHF of residence add up to its provider row
        lambda r: (r["year"], r["month"], r["hf_name"], r["modality"]) if r["is_private_provider"] else None,
    ],
    "dsa_population_dose": [
        lambda r: (r["year"], r["breakdown"], r["breakdown_value"]),  # modalities add up to 'all'
        *[_breakdown_margin(b) for b in ("sex", "age_group", "residence_rhf", "examination_group")],
    ],
    "dsa_facility_dose": [],
    # the cube: each dimension's values (and its 'all' row) for the same values of the other two
    "dsa_cumulative_dose": [
        lambda r: (r["year"], r["window_years"], r["sex"], r["residence_rhf_name"]),
        lambda r: (r["year"], r["window_years"], r["age_group"], r["residence_rhf_name"]),
        lambda r: (r["year"], r["window_years"], r["age_group"], r["sex"]),
    ],
    # each person at the threshold has one top group: they add up to dsa_cumulative_dose's total
    "dsa_cumulative_dose_by_group": [lambda r: (r["year"], r["window_years"])],
}
# The 'all' rows' n_series of rhf_rt_dose_plans is no sum of its code rows (series started vs planned);
# a person at the threshold is in several examination groups, and their examinations add up to no
# published total.
SKIP = {
    ("rhf_rt_dose_plans", "n_series"),
    ("dsa_cumulative_dose_by_group", "n_persons"),
    ("dsa_cumulative_dose_by_group", "n_examinations"),
}


def _rows(db, sql: str) -> list[Row]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(sql)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def year_built(tmp_path_factory):
    """(published db, truth db): a generated year through every model, and the deliveries unsuppressed."""
    from extract.ingest import ingest
    from synth import generate

    data = tmp_path_factory.mktemp("disclosure")
    paths = Paths.from_env(data)
    generate(paths.inbox, year=2025, scale=0.003, seed=3, progress=False)
    ingest(paths.inbox, paths.lake)
    build = run_dbt(paths, "build", "--vars", "{cut_date: '2026-06-01'}", target_dir=data)
    assert build.returncode == 0, build.stdout[-4000:]
    truth = Paths.from_env(tmp_path_factory.mktemp("truth"))
    truth.build_warehouse.parent.mkdir(parents=True)
    shutil.copy(paths.build_warehouse, truth.build_warehouse)
    run = run_dbt(
        truth,
        "run",
        "--select",
        "path:models/deliveries",
        "--vars",
        "{small_cell_max_patients: 0, cut_date: '2026-06-01'}",
        target_dir=truth.data_dir,
    )
    assert run.returncode == 0, run.stdout[-4000:]
    return paths.build_warehouse, truth.build_warehouse


def _keyed(db, table: str) -> dict[tuple, Row]:
    return {tuple(r[k] for k in GRAINS[table]): r for r in _rows(db, f"select * from marts.{table}")}


def _blanked(
    published: dict[tuple, Row], truth: dict[tuple, Row], measure: str
) -> Iterable[tuple[tuple, Row]]:
    """Truth rows whose number is not published (row removed or number null) and not zero."""
    for key, row in truth.items():
        value = row[measure]
        if value and (key not in published or published[key][measure] is None):
            yield key, row


def test_no_published_number_rests_on_one_to_four(year_built):
    db, _ = year_built
    for table, measures in MEASURES.items():
        rows = _rows(db, f"select * from marts.{table}")
        # a small year may have no facility with the minimum, and no one at 100 mSv
        assert rows or table in ("dsa_drl", "dsa_cumulative_dose_by_group"), table
        for m in measures:
            small = [r for r in rows if r[m] is not None and 1 <= r[m] <= THRESHOLD]
            assert not small, (table, m, small[:3])


def test_no_row_remainder_is_one_to_four(year_built):
    db, _ = year_built
    for table, sums in ROW_SUMS.items():
        for row in _rows(db, f"select * from marts.{table}"):
            for total, parts in sums:
                if row[total] is None or any(row[p] is None for p in parts):
                    continue
                remainder = row[total] - sum(row[p] for p in parts)
                assert not 1 <= remainder <= THRESHOLD, (table, total, parts, row)


def test_no_suppressed_number_is_recoverable_from_a_margin(year_built):
    db, truth_db = year_built
    for table, margins in MARGINS.items():
        published, truth = _keyed(db, table), _keyed(truth_db, table)
        for measure in MEASURES[table]:
            if (table, measure) in SKIP:
                continue
            blanked = list(_blanked(published, truth, measure))
            for margin in margins:
                groups: dict[tuple, int] = defaultdict(int)
                totals: dict[tuple, int] = defaultdict(int)
                members: dict[tuple, int] = defaultdict(int)
                for row in truth.values():
                    group = margin(row)
                    if group is not None and row[measure]:
                        totals[group] += row[measure]
                        members[group] += 1
                for _key, row in blanked:
                    group = margin(row)
                    if group is not None:
                        groups[group] += 1
                # a group of one non-zero number is that number (its total is blanked wherever it is
                # published, by the same rule); so is a total of 1..4
                lone = [g for g, n in groups.items() if n == 1 and members[g] > 1 and totals[g] > THRESHOLD]
                assert not lone, (table, measure, lone[:3])


def test_no_suppressed_number_is_recoverable_from_another_table(year_built):
    db, truth_db = year_built
    activity, activity_truth = _keyed(db, "rhf_rt_activity"), _keyed(truth_db, "rhf_rt_activity")
    # route 1: activity n_series per RHF x diagnosis group = dose plans 'all' n_series
    plans = _keyed(db, "rhf_rt_dose_plans")
    plans_truth = _keyed(truth_db, "rhf_rt_dose_plans")
    series_groups: dict[tuple, list] = defaultdict(list)
    for key, row in activity_truth.items():
        published = activity.get(key, {}).get("n_series")
        series_groups[(row["year"], row["rhf_name"], row["diagnosis_group"])].append(
            (row["n_series"], published)
        )
    for key, row in plans_truth.items():
        if row["planning_code"] != "all" or not row["n_series"]:
            continue
        group = series_groups.get((row["year"], row["rhf_name"], row["diagnosis_group"]), [])
        total_published = plans.get(key, {}).get("n_series") is not None
        n_blank = sum(1 for truth_value, pub in group if truth_value and pub is None)
        if total_published:
            assert n_blank != 1, ("activity n_series recoverable from rhf_rt_dose_plans", key)
        else:
            assert n_blank > 0 or not group, ("rhf_rt_dose_plans 'all' n_series = sum of activity", key)
    # route 2: activity n_patients per treating RHF = migration per treating RHF
    migration = _keyed(db, "rhf_rt_migration")
    migration_truth = _keyed(truth_db, "rhf_rt_migration")
    by_region: dict[tuple, list] = defaultdict(list)
    for key, row in migration_truth.items():
        pub = migration.get(key, {}).get("n_patients")
        by_region[(row["year"], row["treatment_rhf_name"])].append((row["n_patients"], pub))
    activity_by_region: dict[tuple, list] = defaultdict(list)
    for key, row in activity_truth.items():
        pub = activity.get(key, {}).get("n_patients")
        activity_by_region[(row["year"], row["rhf_name"])].append((row["n_patients"], pub))
    for region, cells in by_region.items():
        migration_complete = all(pub is not None for value, pub in cells if value)
        other = activity_by_region.get(region, [])
        activity_blank = sum(1 for value, pub in other if value and pub is None)
        if migration_complete:
            assert activity_blank != 1, ("activity n_patients recoverable from rhf_rt_migration", region)
        activity_complete = activity_blank == 0
        migration_blank = sum(1 for value, pub in cells if value and pub is None)
        if activity_complete:
            assert migration_blank != 1, ("migration recoverable from rhf_rt_activity", region)
    # route 3: DSA completeness (never suppressed) adds up to the population dose grand total
    (total,) = _rows(db, "select sum(n_ionising_procedures) as n from marts.dsa_reporting_completeness")
    grand = _rows(
        db,
        "select n_examinations from marts.dsa_population_dose where modality = 'all' and breakdown = 'total'",
    )
    assert grand and grand[0]["n_examinations"] in (None, total["n"])


def test_datatap_counts_every_blanked_number(year_built):
    db, _ = year_built
    for table in GRAINS:
        rows = _rows(db, f"select * from marts.{table}")
        blanked = sum(1 for r in rows for m in MEASURES[table] if r[m] is None)
        if blanked:
            assert max(r["n_cells_suppressed"] for r in rows) > 0 and max(r["datatap"] for r in rows) > 0, (
                table
            )

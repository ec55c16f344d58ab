"""ZXM coding completeness and double reporting end to end (issue 14 items 2 and 3): the generator
leaves the ZXM code out of some image-guided ord procedures and sends some raa PCIs again in ord, per
sender (synth/parameters.py), and records every current ord procedure in
`_truth/current/ord_procedures.parquet` (truth.json `imaging_quality` sums it up). The DSA tables
dsa_zxm_completeness and dsa_double_reporting, built here on a copy of the session's warehouse, must
give exactly those figures."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from orchestration.settings import Paths
from tests.warehouse.conftest import run_dbt

pytestmark = pytest.mark.slow

# the delivery tables (their intermediate inputs and the seed are in the session's core build)
SELECTION = ["dsa_zxm_completeness", "dsa_double_reporting"]
IONISING = "('ZXM10', 'ZXM20', 'ZXM70')"

# the truth's ord procedures in the code group of their longest matching prefix (the seed's rule)
ZXM_TRUTH = """
    with matched as (
        select t.*, g.code_group,
            row_number() over (
                partition by t.institution, t.episode_id, t.procedure_number
                order by length(g.code_prefix) desc
            ) as match_rank
        from {ord_procedures} as t
        inner join reference.image_guided_code_groups as g on starts_with(t.procedure_code, g.code_prefix)
    )
    select year(cast(date as date)), month(cast(date as date)), institution, code_group, count(*),
        count(guidance_code), count(*) filter (where guidance_code in {ionising}),
        count(*) - count(guidance_code)
    from matched
    where match_rank = 1
    group by all"""
ZXM_MART = """
    select year, month, institution_orgnr, code_group, n_procedures, n_with_zxm, n_with_ionising_zxm,
        n_without_zxm
    from marts.dsa_zxm_completeness"""
# raa examinations with an NCRP intervention code (not S diagnostic, T nuclear medicine, Z additional)
# and ord procedures with a ZXM code, as reported; the doubles are the ord ones the truth marks
DOUBLE_TRUTH = """
    with reported as (
        select institution, cast(extract(year from cast(date as date)) as integer) as year, module,
            false as is_double
        from {examinations}
        where module = 'ord' or substring(procedure_code, 1, 1) not in ('S', 'T', 'Z')
    ),
    doubles as (
        select institution, cast(extract(year from cast(date as date)) as integer) as year, count(*) as n
        from {ord_procedures}
        where double_of is not null
        group by all
    )
    select r.year, r.institution,
        count(*) filter (where r.module = 'raa'), count(*) filter (where r.module = 'ord'),
        count(*) - coalesce(any_value(d.n), 0), coalesce(any_value(d.n), 0)
    from reported as r
    left join doubles as d on d.institution = r.institution and d.year = r.year
    group by r.year, r.institution"""
DOUBLE_MART = """
    select year, institution_orgnr, n_raa_interventions, n_ord_guided_procedures, n_procedures,
        n_double_reported
    from marts.dsa_double_reporting"""


@pytest.fixture(scope="module")
def built(built_warehouse, tmp_path_factory) -> Paths:
    """A copy of the session's build file (lake shared) with the two DSA tables built in it."""
    assert built_warehouse.build.returncode == 0, built_warehouse.build.stdout[-6000:]
    data = tmp_path_factory.mktemp("imaging_quality")
    paths = Paths.from_env(data)
    paths.build_warehouse.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(built_warehouse.paths.build_warehouse, paths.build_warehouse)
    paths.lake.symlink_to(built_warehouse.paths.lake, target_is_directory=True)
    proc = run_dbt(paths, "build", "--select", *SELECTION, target_dir=data)
    assert proc.returncode == 0, proc.stdout[-6000:]
    return paths


@pytest.fixture(scope="module")
def con(built):
    c = duckdb.connect(str(built.build_warehouse), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def truth_tables(built_warehouse) -> dict[str, str]:
    current = built_warehouse.truth_dir / "current"
    return {name: f"read_parquet('{current / name}.parquet')" for name in ("examinations", "ord_procedures")}


def _rows(con, sql: str) -> set[tuple]:
    return set(con.execute(sql).fetchall())


def test_zxm_completeness_matches_truth(con, built_warehouse, truth_tables):
    truth = _rows(con, ZXM_TRUTH.format(ionising=IONISING, **truth_tables))
    assert _rows(con, ZXM_MART) == truth
    # the generator's own list of image-guided procedures is the seed's
    (n_guided,) = con.execute(
        f"select count(*) from {truth_tables['ord_procedures']} where is_image_guided"
    ).fetchone()
    assert n_guided == sum(r[4] for r in truth)
    summary = built_warehouse.truth["imaging_quality"]
    assert summary["image_guided_procedures"] == n_guided
    assert summary["without_zxm"] == sum(r[7] for r in truth)
    # procedures sent without their ZXM code are there to be found: more than the generator left out
    # on purpose only where a correction changed a code
    assert 0 < summary["zxm_left_out"] <= summary["without_zxm"]


def test_zxm_completeness_sees_what_the_imaging_tables_leave_out(con):
    """A procedure without a ZXM code is no imaging activity: the ZXM procedures of
    dsa_zxm_completeness are all in fct_imaging_examination, the others in none."""
    rows = con.execute(
        """
        select z.has_zxm, count(e.examination_id), count(*)
        from intermediate.int_imaging__zxm_coding as z
        left join marts.fct_imaging_examination as e
            on e.source_module = 'ord' and e.institution_orgnr = z.institution_orgnr
                and e.episode_id = z.episode_id and e.procedure_no = z.procedure_no
        group by all order by all
        """
    ).fetchall()
    (without, _, n_without), (with_zxm, found, n_with) = rows
    assert (without, with_zxm) == (False, True) and n_without > 0
    assert rows[0][1] == 0 and found == n_with > 0


def test_double_reporting_matches_truth(con, built_warehouse, truth_tables):
    truth = _rows(con, DOUBLE_TRUTH.format(**truth_tables))
    assert _rows(con, DOUBLE_MART) == truth
    n_doubles = sum(r[5] for r in truth)
    summary = built_warehouse.truth["imaging_quality"]
    assert n_doubles == summary["double_reports"] > 0  # the generator plants some, so this is tested
    # only the senders the parameters make double-report do
    senders = {inst for _year, inst, *_rest, n in truth if n}
    assert senders <= {o for o, share in summary["double_reporting_share"].items() if share > 0}
    # every other table counts a double once: the marts flag exactly these
    (flagged,) = con.execute(
        "select count(*) from marts.fct_imaging_examination where is_double_reported"
    ).fetchone()
    assert flagged == n_doubles


@pytest.mark.parametrize(
    "bands",
    ["[[0, 0], [1, 4], [3, 9]]", "[[5, 9], [1, 4]]", "[[1, 4, 5]]", "[[4, 1]]"],
    ids=["overlapping", "not ascending", "not a pair", "first after last"],
)
def test_bad_paediatric_age_bands_fail_loudly(built, tmp_path, bands):
    """The paediatric bands (var drl_paediatric_age_bands) must be ascending, non-overlapping [first,
    last] pairs: anything else stops the build with a message naming the var, never a mislabelled band."""
    proc = run_dbt(
        built,
        "compile",
        "--select",
        "dsa_drl_paediatric",
        "--vars",
        f"{{drl_paediatric_age_bands: {bands}}}",
        target_dir=tmp_path,
    )
    assert proc.returncode != 0
    assert "drl_paediatric_age_bands must be ascending, non-overlapping" in proc.stdout

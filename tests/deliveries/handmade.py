"""A small hand-built warehouse with the mart schemas of docs/marts.md, for the delivery tests.

It stands in for the real pipeline where a test only needs mart-shaped rows: deterministic for a
seed, a few facilities with different typical doses, radiotherapy series in all four regions.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path

import duckdb
import pyarrow as pa

RHF = ["Helse Sør-Øst", "Helse Vest", "Helse Midt-Norge", "Helse Nord"]

# (orgnr, name, site_orgnr, hf_orgnr, hf_name, rhf_name)
INSTITUTIONS = [
    (
        "993467049",
        "Oslo universitetssykehus HF",
        "874716782",
        "993467049",
        "Oslo universitetssykehus HF",
        RHF[0],
    ),
    ("983974899", "Sykehuset Innlandet HF", "974631326", "983974899", "Sykehuset Innlandet HF", RHF[0]),
    ("983974724", "Helse Bergen HF", "974557746", "983974724", "Helse Bergen HF", RHF[1]),
    ("983974791", "Helse Stavanger HF", "974703300", "983974791", "Helse Stavanger HF", RHF[1]),
    ("883974832", "St. Olavs Hospital HF", "974749025", "883974832", "St. Olavs Hospital HF", RHF[2]),
    ("983974910", "Universitetssykehuset Nord-Norge HF", "974795787", "983974910", "UNN HF", RHF[3]),
]
# A private imaging institute (docs/domain.md section 1): its own HF under the RHF it lies in; MR only,
# drawn after the random draws so the public institutions' data stays as it was.
PRIVATE_INSTITUTE = ("974225972", "Evidia Bergen", "974225972", "974225972", "Evidia Bergen", RHF[1])
N_PRIVATE_EXAMS = 60
MUNICIPALITIES = [
    ("0301", RHF[0]),
    ("3403", RHF[0]),
    ("4601", RHF[1]),
    ("1103", RHF[1]),
    ("5001", RHF[2]),
    ("5501", RHF[3]),
]

# procedure_code, (modality, modality_group), dose types with the median at an average facility
PROCEDURES = [
    ("SSC0AA", ("XR", "X-ray"), {"DAP": 0.30}),
    ("SNA0GA", ("XR", "X-ray"), {"DAP": 4.5}),
    ("SAA0AD", ("CT", "CT"), {"DLP": 900.0, "CTDIVOL": 55.0}),
    ("SSD0AD", ("CT", "CT"), {"DLP": 600.0, "CTDIVOL": 14.0}),
    ("SFN0CB", ("ANGIO", "X-ray"), {"DAP": 15.0}),
    ("TSY0AL", ("PET_CT", "nuclear medicine"), {"ADMINISTERED_ACTIVITY": 300.0}),
    ("SSC0AG", ("MR", "MR"), {}),
]
UNITS = {"DAP": "Gy.cm2", "DLP": "mGy.cm", "CTDIVOL": "mGy", "ADMINISTERED_ACTIVITY": "MBq"}
DX = [("C50", "breast"), ("C61", "prostate"), ("C34", "lung"), ("C795", "bone metastases")]


def _tables(seed: int, year: int, n_exams: int, n_series: int) -> dict[str, tuple[list[str], list[tuple]]]:
    rnd = random.Random(seed)
    persons = [
        (f"P{i:05d}", rnd.choice("12"), year - rnd.randint(1, 95), rnd.choice(MUNICIPALITIES)[0])
        for i in range(max(50, n_exams // 3))
    ]
    equipment = {inst[0]: [f"{inst[0]}-EQ{j}" for j in range(3)] for inst in INSTITUTIONS}
    facility_factor = {eq: math.exp(rnd.gauss(0, 0.35)) for eqs in equipment.values() for eq in eqs}
    exams: list[tuple] = []
    doses: list[tuple] = []
    last_raa: str | None = None
    for i in range(n_exams):
        inst = rnd.choice(INSTITUTIONS)
        eq = rnd.choice(equipment[inst[0]])
        code, (modality, group), dose_types = rnd.choice(PROCEDURES)
        pkey, sex, born, _kom = rnd.choice(persons)
        day = dt.date(year, 1, 1) + dt.timedelta(days=rnd.randrange(365))
        exam_id = f"E{i:06d}"
        module = "ord" if modality == "ANGIO" and i % 5 == 0 else "raa"
        # some ord procedures repeat a raa examination (docs/domain.md section 4): flagged, counted once
        double_of = last_raa if module == "ord" and i % 2 == 0 else None
        if module == "raa":
            last_raa = exam_id
        file_id = f"F{inst[0]}-{day.month:02d}"
        exams.append(
            (
                exam_id,
                module,
                inst[0],
                inst[2],
                eq,
                day,
                code,
                modality,
                group,
                modality != "MR",
                pkey,
                year - born,
                sex,
                _kom,
                double_of is not None,
                double_of,
            )
        )
        if dose_types and rnd.random() < 0.9:
            for dtype, med in dose_types.items():
                value = round(med * facility_factor[eq] * math.exp(rnd.gauss(0, 0.4)), 4)
                known = rnd.random() > 0.01  # else an uninterpretable unit
                doses.append(
                    (
                        f"{exam_id}-{dtype}",
                        exam_id,
                        True,
                        inst[0],
                        dtype,
                        value if known else None,
                        UNITS[dtype] if known else None,
                        UNITS[dtype] if known else "??",
                        known,
                        None,
                        file_id,
                        day,
                        None if known else "unknown_unit",
                    )
                )
        if rnd.random() < 0.01:  # dose that points to no examination
            doses.append(
                (
                    f"X{i:06d}",
                    f"X{i:06d}",
                    False,
                    inst[0],
                    "DAP",
                    1.0,
                    "Gy.cm2",
                    "Gy.cm2",
                    True,
                    None,
                    file_id,
                    day,
                    None,
                )
            )
    for i in range(N_PRIVATE_EXAMS):  # in March, one person each from every region, MR (no dose)
        pkey, sex, born, kom = persons[i]
        day = dt.date(year, 3, 1 + i % 28)
        exams.append(
            (
                f"EP{i:05d}",
                "raa",
                PRIVATE_INSTITUTE[0],
                PRIVATE_INSTITUTE[2],
                f"{PRIVATE_INSTITUTE[0]}-EQ0",
                day,
                "SSC0AG",
                "MR",
                "MR",
                False,
                pkey,
                year - born,
                sex,
                kom,
                False,
                None,
            )
        )
    series, attendances, plans = [], [], []
    for s in range(n_series):
        inst = rnd.choice(INSTITUTIONS)
        pkey, _sex, _born, kom = rnd.choice(persons[: max(10, len(persons) // 4)])
        dx, group = rnd.choice(DX)
        start = dt.date(year, 1, 1) + dt.timedelta(days=rnd.randrange(330))
        fractions = rnd.choice([1, 5, 10, 15, 20])
        dpf = {1: 8.0, 5: 4.0, 10: 3.0, 15: 2.67, 20: 3.0}[fractions]
        sid = f"S{s:05d}"
        series.append(
            (
                sid,
                inst[0],
                pkey,
                start,
                year,
                dx,
                group,
                rnd.choice(["1", "2"]),
                rnd.random() < 0.6,
                fractions,
                dpf,
                dpf * fractions,
                dpf * fractions,
                dpf * fractions,
                kom,
                year - _born,  # age, year of activity - birth year (no draw: the world stays as it was)
                fractions,  # prescribed fractions
            )
        )
        plans.append((f"D{s:05d}", sid, inst[0], pkey, start - dt.timedelta(days=7), "WEGX10", group))
        if rnd.random() < 0.3:
            plans.append((f"D{s:05d}b", sid, inst[0], pkey, start - dt.timedelta(days=3), "WEGX20", group))
        for f in range(fractions):
            attendances.append(
                (
                    f"A{s:05d}-{f:02d}",
                    sid,
                    inst[0],
                    pkey,
                    start + dt.timedelta(days=f),
                    "WEOA10",
                    True,
                    rnd.choice([3, 3, 3, 8]),
                    f"{inst[0]}-LA1",
                    dpf,
                )
            )
    return {
        "fct_imaging_examination": (
            [
                "examination_id",
                "source_module",
                "institution_orgnr",
                "site_orgnr",
                "equipment_id",
                "examination_date",
                "procedure_code",
                "modality",
                "modality_group",
                "is_ionising",
                "person_key",
                "age",
                "sex",
                "home_municipality",
                "is_double_reported",
                "double_report_of",
            ],
            exams,
        ),
        "fct_imaging_dose": (
            [
                "dose_id",
                "examination_id",
                "has_activity",
                "institution_orgnr",
                "dose_type",
                "value",
                "unit",
                "unit_as_sent",
                "is_unit_known",
                "radiopharmaceutical_code",
                "source_file_id",
                "dose_date",
                "exclusion_reason",
            ],
            doses,
        ),
        "int_files": (
            ["file_id", "module", "institution_orgnr", "period_from"],
            [
                (f"F{inst[0]}-{m:02d}", "rad", inst[0], dt.date(year, m, 1))
                for inst in INSTITUTIONS
                for m in range(1, 13)
            ],
        ),
        # waits from the referral's ansiennitetsdato; some series and examinations have no referral
        "int_referrals__rt_series_waits": (
            ["series_id", "wait_days"],
            [(row[0], None if i % 20 == 0 else 3 + (i * 7) % 45) for i, row in enumerate(series)],
        ),
        "int_referrals__examination_waits": (
            ["examination_id", "examination_date", "wait_days"],
            [
                (r[0], r[5], None if i % 30 == 0 else (i * 3) % 70)
                for i, r in enumerate(exams)
                if r[1] == "raa"
            ],
        ),
        # one episode id the first institution reused (counted in dsa_reporting_completeness)
        "int_episode_id_reuses": (
            ["module", "institution_orgnr", "episode_id", "incarnation_no", "episode_key", "episode_date"],
            [("raa", INSTITUTIONS[0][0], "REUSED1", 2, "REUSED1#2", dt.date(year, 3, 4))],
        ),
        "fct_rt_series": (
            [
                "series_id",
                "institution_orgnr",
                "person_key",
                "start_date",
                "year",
                "diagnosis_code",
                "diagnosis_group",
                "intent",
                "is_new_patient",
                "fractions_delivered",
                "dose_per_fraction_gy",
                "planned_total_dose_gy",
                "delivered_dose_gy",
                "eqd2_gy",
                "home_municipality",
                "age",
                "prescribed_fractions",
            ],
            series,
        ),
        "fct_rt_attendance": (
            [
                "attendance_id",
                "series_id",
                "institution_orgnr",
                "person_key",
                "attendance_date",
                "procedure_code",
                "is_treatment",
                "care_level",
                "equipment_id",
                "delivered_dose_gy",
            ],
            attendances,
        ),
        "fct_rt_dose_plan": (
            [
                "dose_plan_id",
                "series_id",
                "institution_orgnr",
                "person_key",
                "plan_date",
                "planning_code",
                "diagnosis_group",
            ],
            plans,
        ),
        "dim_institution": (
            ["orgnr", "name", "site_orgnr", "hf_orgnr", "hf_name", "rhf_name", "is_private"],
            [(*inst, False) for inst in INSTITUTIONS] + [(*PRIVATE_INSTITUTE, True)],
        ),
        "dim_municipality": (["municipality_number", "rhf_name"], list(MUNICIPALITIES)),
        # only SFN0CB (coronary angiography, 6th letter B) is interventional among these codes
        "dim_procedure": (
            ["procedure_code", "is_interventional"],
            [(code, code == "SFN0CB") for code, _, _ in PROCEDURES],
        ),
        **_image_guided_tables(seed, year),
    }


# (code group, main code, ZXM code it carries when coded) of ord procedures image-guided by nature
GUIDED_ORD = [
    ("fracture_surgery", "NFJ62", "ZXM10"),
    ("ercp", "JKE18", "ZXM10"),
    ("percutaneous_biliary", "JKF10", "ZXM00"),
    ("coronary_intervention", "FNG00", "ZXM70"),
]


def _image_guided_tables(seed: int, year: int) -> dict[str, tuple[list[str], list[tuple]]]:
    """The intermediate imaging inputs of dsa_zxm_completeness and dsa_double_reporting, on a random
    stream of their own (the tables above stay as they were): per public institution and month, ord
    procedures that are image-guided by nature, some without their ZXM code; and per institution raa
    PCIs, some reported again in ord (double reports), beside ord procedures reported once."""
    rnd = random.Random(f"{seed}:image-guided")
    coding: list[tuple] = []
    guided: list[tuple] = []
    for inst in INSTITUTIONS:
        missing = rnd.choice([0.0, 0.05, 0.3])
        for month in range(1, 13):
            for k in range(rnd.randint(1, 4)):
                group, code, zxm = rnd.choice(GUIDED_ORD)
                day = dt.date(year, month, 1 + k)
                coded = rnd.random() >= missing
                coding.append(
                    (
                        inst[0],
                        f"O{month:02d}{k}",
                        1,
                        code,
                        group,
                        code[:3] if group == "fracture_surgery" else code,
                        day,
                        zxm if coded else None,
                        coded,
                        coded and zxm != "ZXM00",
                    )
                )
        for i in range(rnd.randint(3, 12)):
            day = dt.date(year, 1, 1) + dt.timedelta(days=rnd.randrange(365))
            raa_id = f"raa:{inst[0]}:G{i:03d}:1"
            guided.append((raa_id, "raa", inst[0], day, "FNQ05B", None, True, False, None))
            if rnd.random() < 0.4:  # reported again in ord, same day
                guided.append(
                    (f"ord:{inst[0]}:G{i:03d}:1", "ord", inst[0], day, "FNG00", "ZXM70", True, True, raa_id)
                )
        for i in range(rnd.randint(2, 8)):
            day = dt.date(year, 1, 1) + dt.timedelta(days=rnd.randrange(365))
            guided.append(
                (f"ord:{inst[0]}:H{i:03d}:1", "ord", inst[0], day, "NFJ62", "ZXM10", True, False, None)
            )
    return {
        "int_imaging__zxm_coding": (
            [
                "institution_orgnr",
                "episode_id",
                "procedure_no",
                "procedure_code",
                "code_group",
                "code_prefix",
                "procedure_date",
                "guidance_code",
                "has_zxm",
                "has_ionising_zxm",
            ],
            coding,
        ),
        "int_imaging__guided_procedures": (
            [
                "examination_id",
                "source_module",
                "institution_orgnr",
                "examination_date",
                "procedure_code",
                "guidance_code",
                "is_ionising",
                "is_double_reported",
                "double_report_of",
            ],
            guided,
        ),
    }


def population_rows(year: int) -> list[tuple]:
    rows = []
    for kom, _rhf in MUNICIPALITIES:
        for sex in ("1", "2"):
            for group, n in (
                ("0-17", 9000),
                ("18-29", 6000),
                ("30-39", 6000),
                ("40-49", 5500),
                ("50-59", 5500),
                ("60-69", 4500),
                ("70-79", 3500),
                ("80+", 2500),
            ):
                rows.append((year, kom, sex, group, n))
    return rows


def build(
    db_path: Path,
    *,
    schema: str = "handmade",
    seed: int = 7,
    year: int = 2025,
    n_exams: int = 3000,
    n_series: int = 300,
) -> Path:
    """Write the mart-shaped tables into `schema` of the DuckDB file at db_path."""
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema if not exists {schema}")
        for name, (cols, rows) in _tables(seed, year, n_exams, n_series).items():
            arrow = pa.table({c: [r[i] for r in rows] for i, c in enumerate(cols)})
            if "year" in cols:  # integer, as the marts' contracts declare it (Python ints are BIGINT)
                arrow = arrow.set_column(cols.index("year"), "year", arrow.column("year").cast(pa.int32()))
            con.execute(f"create or replace table {schema}.{name} as select * from arrow")
        con.execute(f"drop table if exists {schema}.population")
        con.execute(
            f"create table {schema}.population (year integer, municipality_number varchar, "
            "sex varchar, age_group varchar, population integer)"
        )
        con.executemany(f"insert into {schema}.population values (?, ?, ?, ?, ?)", population_rows(year))
    finally:
        con.close()
    return db_path

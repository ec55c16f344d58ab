"""Through the real pipeline: a tiny generated year, then a resent rad file that changes one dose.
The next DSA delivery's diff must show exactly that change."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import pytest
from lxml import etree

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]

YEAR = 2025


def _local(el) -> str:
    return etree.QName(el).localname


def _pick_median_dose(warehouse: Path) -> dict:
    """A CTDIvol dose that is the unique middle value of a facility with an odd number of standard adults
    (CTDIvol has no effective-dose coefficient, so the population dose must not move)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            """
            with facility as (
                select facility_id, procedure_code from intermediate.int_deliveries__facility_typical_values
                where year = ? and dose_type = 'CTDIVOL' and n_examinations % 2 = 1
                  and n_examinations = n_patients and n_patients >= 5
            ),
            ranked as (
                select d.dose_id, d.facility_id, d.procedure_code, d.value,
                    row_number() over w as pos,
                    count(*) over (partition by d.facility_id, d.procedure_code) as n,
                    lead(d.value) over w as next_value, lag(d.value) over w as prev_value
                from intermediate.int_deliveries__imaging_doses as d
                inner join facility using (facility_id, procedure_code)
                where d.dose_type = 'CTDIVOL' and d.has_activity and d.is_standard_adult and d.year = ?
                window w as (partition by d.facility_id, d.procedure_code order by d.value)
            )
            select r.facility_id, r.procedure_code, r.value, r.next_value, f.institution_orgnr, f.episode_id,
                f.procedure_no, f.value_as_sent, f.source_file_id
            from ranked as r
            inner join marts.fct_imaging_dose as f using (dose_id)
            where r.pos = (r.n + 1) / 2 and r.next_value > r.value and r.prev_value < r.value
            order by r.facility_id, r.procedure_code
            limit 1
            """,
            [YEAR, YEAR],
        ).fetchall()
    finally:
        con.close()
    if not rows:
        pytest.fail("the generated year has no facility with an odd CTDIvol sample of >= 5 adults")
    keys = [
        "facility_id",
        "procedure_code",
        "value",
        "next_value",
        "institution_orgnr",
        "episode_id",
        "procedure_no",
        "value_as_sent",
        "source_file_id",
    ]
    return dict(zip(keys, rows[0], strict=True))


def _resend_with_changed_dose(inbox: Path, pick: dict) -> Path:
    """Write the rad file again as a later batch (uttakDato + 1 day, higher lopenr), one CTDIvol changed."""
    source = next(
        p
        for p in inbox.rglob("rad_*.xml")
        if hashlib.sha256(p.read_bytes()).hexdigest() == pick["source_file_id"]
    )
    tree = etree.parse(str(source))
    new_value = (pick["value"] + pick["next_value"]) / 2
    factor = new_value / pick["value"]
    melding = next(el for el in tree.iter() if isinstance(el.tag, str) and _local(el) == "Melding")
    changed = 0
    for inst in (el for el in melding.iter() if isinstance(el.tag, str) and _local(el) == "Institusjon"):
        if inst.get("institusjonID") != pick["institution_orgnr"]:
            continue
        for visit in (
            el for el in inst.iter() if isinstance(el.tag, str) and _local(el) == "ApparatFremmote"
        ):
            if (
                visit.get("episodeID") != pick["episode_id"]
                or int(visit.get("prosNr", "")) != pick["procedure_no"]
            ):
                continue
            for ind in visit:
                if (
                    isinstance(ind.tag, str)
                    and _local(ind) == "Doseindikator"
                    and ind.get("doseType") == "CTDIVOL"
                ):
                    ind.set("verdi", f"{float(ind.get('verdi', '')) * factor:.6f}")
                    changed += 1
    assert changed == 1, f"expected one CTDIVOL indicator to change in {source}, changed {changed}"
    extraction = dt.date.fromisoformat(melding.get("uttakDato", "")) + dt.timedelta(days=1)
    melding.set("uttakDato", extraction.isoformat())
    melding.set("lopenr", str(int(melding.get("lopenr", "")) + 500000))
    target = source.with_name(f"resent_{source.name}")
    tree.write(str(target), xml_declaration=True, encoding=tree.docinfo.encoding)
    return target


def test_resent_file_changing_one_dose_shows_as_exactly_that_change(tmp_path):
    from orchestration.run import run_pipeline
    from synth import generate

    inbox, data_dir = tmp_path / "inbox", tmp_path / "data"
    generate(inbox, year=YEAR, scale=0.002, seed=3, workers=1, progress=False)
    assert run_pipeline(inbox=inbox, data_dir=data_dir) == 0
    pick = _pick_median_dose(data_dir / "build" / "warehouse.duckdb")  # intermediate: not served
    resent = _resend_with_changed_dose(inbox, pick)
    assert run_pipeline(inbox=inbox, data_dir=data_dir) == 0

    folders = sorted((data_dir / "deliveries" / "dsa").iterdir(), key=lambda p: p.stat().st_mtime)
    first, second = folders[-2], folders[-1]
    manifest = json.loads((second / "manifest.json").read_text())
    assert manifest["previous_delivery"] == first.name
    resent_id = hashlib.sha256(resent.read_bytes()).hexdigest()
    assert resent_id in {f["file_id"] for f in manifest["input_files"]}
    assert resent_id not in {
        f["file_id"] for f in json.loads((first / "manifest.json").read_text())["input_files"]
    }

    diff = json.loads((second / "diff.json").read_text())
    for name, table in diff["tables"].items():
        assert (table["added"], table["removed"]) == (0, 0), name
    assert diff["tables"]["dsa_population_dose"]["changed"] == 0
    assert diff["tables"]["dsa_reporting_completeness"]["changed"] == 0
    facility = diff["tables"]["dsa_facility_dose"]
    assert facility["changed"] == 1, facility["changed_rows"]
    (row,) = facility["changed_rows"]
    assert row["key"]["facility_id"] == pick["facility_id"]
    assert row["key"]["dose_type"] == "CTDIVOL"
    assert row["columns"]["median"]["old"] == pytest.approx(pick["value"])
    assert row["columns"]["median"]["new"] == pytest.approx(
        (pick["value"] + pick["next_value"]) / 2, rel=1e-5
    )
    assert set(row["columns"]) <= {"median", "exceeds_reference"}

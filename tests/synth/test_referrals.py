"""The generator's referral periods (Henvisningsperiode, docs/messages.md section 10): schema-valid,
one id = one referral per institution, named by the episodes beside them, realistic waits, and a
truth that says what was produced."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lxml import etree

from extract.model import faults as F
from extract.model.xsd import load_schema
from synth import generate
from synth.referrals import figures, quantile_cont

SCALE = 0.002
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("referrals")
    manifest = generate(out, scale=SCALE, seed=11, workers=2, progress=False)
    return out, json.loads(manifest.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sent(run) -> dict:
    """Every loaded str/raa/ord file, schema-validated, read for its referral periods and episodes."""
    out, truth = run
    periods: dict[tuple[str, str], set[tuple]] = {}  # (institution, id) -> the values sent
    modules: dict[tuple[str, str], set[str]] = {}
    episodes: list[dict] = []
    versions: Counter = Counter()
    for f in truth["files"]:
        if f["expected"] != F.LOADED or f["module"] not in ("str", "raa", "ord"):
            continue
        doc = etree.parse(str(out / f["name"]), _PARSER)
        schema = load_schema(f["module"], f["version"])
        assert schema.validate(doc), (f["name"], schema.error_log.last_error)
        inst = f["institution"]
        in_file: Counter = Counter()
        for holder in doc.iter("{*}Objektholder"):
            here = {}
            for el in holder:
                tag = etree.QName(el).localname
                if tag == "Henvisningsperiode":
                    a = dict(el.attrib)
                    rid = a["henvisningsperiodeID"]
                    here[rid] = a
                    in_file[rid] += 1
                    values = (holder.get("pasientNr"), a["mottattDato"], a["ansiennitetsdato"], a["henvType"])
                    periods.setdefault((inst, rid), set()).add((*values, a.get("fraInstitusjonID")))
                    modules.setdefault((inst, rid), set()).add(f["module"])
                    versions[(f["module"], f["version"])] += 1
                elif tag == "Episode":
                    named = el.get("henvisningsperiodeID")
                    episodes.append(
                        {
                            "module": f["module"],
                            "day": str(el.get("innDatoTid"))[:10],
                            "hast": el.get("innmateHast"),
                            "omsorg": el.get("omsorgsniva"),
                            "period": here.get(named) if named else None,
                            "named": named,
                        }
                    )
        assert max(in_file.values(), default=1) == 1, f["name"]  # each period once per file
    return {"periods": periods, "modules": modules, "episodes": episodes, "versions": versions}


def test_referral_periods_are_schema_valid_in_every_module_and_version(sent):
    assert {m for m, _ in sent["versions"]} == {"str", "raa", "ord"}
    assert {v for _, v in sent["versions"]} == {"57.0.1", "58.0.1"}


def test_an_id_is_one_referral_per_institution(sent):
    """The same id, in any file of the institution, is the same patient and the same dates."""
    assert all(len(values) == 1 for values in sent["periods"].values())
    assert all(len(m) == 1 for m in sent["modules"].values())


def test_every_named_period_is_sent_beside_its_episode_and_precedes_it(sent):
    named = [e for e in sent["episodes"] if e["named"]]
    assert named and all(e["period"] is not None for e in named)
    for e in named:
        p = e["period"]
        assert p["ansiennitetsdato"] <= p["mottattDato"] <= e["day"], e
        assert p["henvType"] == ("1" if e["module"] == "raa" else "2")


def test_emergencies_and_inpatients_have_no_referral(sent):
    raa = [e for e in sent["episodes"] if e["module"] == "raa"]
    assert not [e for e in raa if e["named"] and (e["hast"] == "1" or e["omsorg"] == "1")]
    elective = [e for e in raa if e["hast"] != "1" and e["omsorg"] != "1"]
    missing = sum(1 for e in elective if not e["named"]) / len(elective)
    assert 0 < missing < 0.1


def test_truth_counts_the_periods_sent(run, sent):
    _, truth = run
    by_module = Counter(next(iter(m)) for m in sent["modules"].values())
    assert {m: truth["current"][m]["referral_periods"] for m in ("str", "raa", "ord")} == dict(by_module)


def test_waits_are_realistic_and_the_truth_records_them(run):
    _, truth = run
    year = truth["waiting_times"]["by_year"][str(truth["year"])]
    rt = year["rt_by_intent"]
    # radiotherapy mostly 1-4 weeks, curative longer than palliative (docs/domain.md section 8)
    assert 14 <= rt["1"]["median_days"] <= 28 and rt["1"]["share_within_28_days"] > 0.6
    assert 7 <= rt["2"]["median_days"] < rt["1"]["median_days"]
    n_rt = sum(v["n"] + v["n_without_referral"] for v in rt.values())
    assert 0 < sum(v["n_without_referral"] for v in rt.values()) < 0.2 * n_rt
    imaging = year["imaging_by_modality"]
    # days for X-ray, weeks for CT, MR the longest of the big modalities
    assert imaging["XR"]["median_days"] < 7 < imaging["CT"]["median_days"] < imaging["MR"]["median_days"]
    assert imaging["MR"]["p80_days"] > 42
    without = sum(v["n_without_referral"] for v in imaging.values())
    assert 0.2 < without / sum(v["n"] + v["n_without_referral"] for v in imaging.values()) < 0.5


def test_truth_figures_are_quantile_cont():
    assert quantile_cont([2, 9, 14, 15, 27, 28], 0.5) == 14.5
    assert quantile_cont([2, 9, 14, 15, 27, 28], 0.8) == 27
    assert quantile_cont([], 0.5) is None
    f = figures([1, 3, 5, 29, 30, 60, None])
    assert f == {
        "n": 6,
        "n_without_referral": 1,
        "median_days": 17.0,
        "p80_days": 30.0,
        "share_within_14_days": 0.5,
        "share_within_28_days": 0.5,
    }


def test_generated_waits_match_the_dates_written(run):
    """The truth's per-examination wait is the examination day minus the ansiennitetsdato sent."""
    out, _ = run
    rows = pq.read_table(out / "_truth" / "current" / "examinations.parquet").to_pylist()
    linked = [r for r in rows if r["referral_id"] is not None]
    assert linked
    for r in linked[:2000]:
        wait = dt.date.fromisoformat(r["date"]) - dt.date.fromisoformat(r["seniority_date"])
        assert wait.days == r["wait_days"] >= 0

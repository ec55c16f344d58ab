"""The generator's reporting faults of image-guided procedures (issue 14 items 2 and 3, synth/quality.py):
the ZXM code left out of image-guided ord procedures and raa PCIs sent again in ord, each at a share
per sender, and what the truth records of them."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from extract.checks import code_lists
from extract.reference import read_seed
from synth import generate
from synth import parameters as P
from synth import quality as Q

# the two senders the test makes faulty: one leaves every ZXM code out, one reports every PCI twice
FORGETFUL, DOUBLER = "983974899", "993467049"  # UNN, OUS (OUS has angiography: it does PCIs)


def test_parameters_name_trusts_codes_and_mappings_that_exist():
    for shares in (P.ZXM_MISSING_SHARE, P.DOUBLE_REPORTING_SHARE):
        assert set(shares) <= set(P.HOSPITALS)  # hospital trusts: they send ord
        assert all(0 <= s <= 1 for s in shares.values())
    assert 0 <= P.ZXM_MISSING_SHARE_DEFAULT <= 1
    raa_codes = {e[0] for group in P.EXAMINATION_GROUPS.values() for e in group}
    mapped = {(r["ncrp_code"], r["ncsp_code"]) for r in read_seed("ncrp_ncsp_equivalents.csv", ",")}
    for ncrp, (ncsp, zxm) in P.DOUBLE_REPORTED_CODES.items():
        assert ncrp in raa_codes and (ncrp, ncsp) in mapped and zxm in Q.IONISING_ZXM
    # the seed's groups are NCSP codes; the procedures that need no guidance are none of them
    ncsp = code_lists()["K"]
    assert all(any(c.startswith(p) for c in ncsp) for p in Q.image_guided_prefixes())
    assert not any(Q.is_image_guided(c) for c in P.ORD_WITHOUT_ZXM)
    assert any(Q.is_image_guided(c) for codes in P.ORD_PROCEDURES.values() for c in codes)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[Path, dict]:
    """A year where FORGETFUL leaves out every ZXM code it can and DOUBLER reports every PCI twice;
    nobody else does either."""
    out = tmp_path_factory.mktemp("quality")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(P, "ZXM_MISSING_SHARE", {FORGETFUL: 1.0})
        mp.setattr(P, "ZXM_MISSING_SHARE_DEFAULT", 0.0)
        mp.setattr(P, "DOUBLE_REPORTING_SHARE", {DOUBLER: 1.0})
        manifest = generate(out, scale=0.003, seed=11, workers=1, progress=False)
    return out, json.loads(manifest.read_text(encoding="utf-8"))


def _table(out: Path, name: str) -> list[dict]:
    return pq.read_table(out / "_truth" / "current" / f"{name}.parquet").to_pylist()


def test_zxm_code_is_left_out_by_the_configured_sender_only(faulty):
    out, truth = faulty
    ord_rows = _table(out, "ord_procedures")
    left_out = [r for r in ord_rows if r["zxm_left_out"]]
    assert left_out and {r["institution"] for r in left_out} == {FORGETFUL}
    assert all(r["guidance_code"] is None for r in left_out)
    guided = Counter(
        (r["institution"] == FORGETFUL, r["guidance_code"] is None) for r in ord_rows if r["is_image_guided"]
    )
    # the forgetful sender's image-guided procedures lack it (a correction may give one a new code with
    # a ZXM code kept); everyone else's carry it (but for a correction turning a procedure that needs
    # no guidance into one that does)
    assert guided[(True, True)] >= 0.8 * (guided[(True, True)] + guided[(True, False)])
    assert guided[(False, True)] <= 0.1 * (guided[(False, True)] + guided[(False, False)])
    # no dose is reported for a procedure sent without its ZXM code
    dosed = {(d["institution"], d["episode_id"], d["procedure_number"]) for d in _table(out, "doses")}
    assert not dosed & {(r["institution"], r["episode_id"], r["procedure_number"]) for r in left_out}
    summary = truth["imaging_quality"]
    assert summary["zxm_missing_share"][FORGETFUL] == 1.0
    assert summary["by_institution"][FORGETFUL]["zxm_left_out"] == len(left_out) == summary["zxm_left_out"]
    assert truth["entities"]["ord_zxm_left_out"] >= len(left_out)  # generated, some since corrected


def test_double_reports_repeat_a_raa_pci_of_the_configured_sender(faulty):
    out, truth = faulty
    doubles = [r for r in _table(out, "ord_procedures") if r["double_of"]]
    assert doubles and {r["institution"] for r in doubles} == {DOUBLER}
    exams = {
        (e["institution"], e["episode_id"], e["procedure_number"]): e for e in _table(out, "examinations")
    }
    for r in doubles:
        episode, nr = r["double_of"].rsplit(":", 1)
        raa = exams[(r["institution"], episode, int(nr))]
        assert (raa["module"], raa["procedure_code"], raa["date"]) == ("raa", "FNQ05B", r["date"])
        assert (r["procedure_code"], r["guidance_code"]) == P.DOUBLE_REPORTED_CODES["FNQ05B"]
        # the ord copy is an examination of the truth too (it carries a ZXM code): counted, then paired
        assert (r["institution"], r["episode_id"], r["procedure_number"]) in exams
    pcis = [e for e in exams.values() if e["institution"] == DOUBLER and e["procedure_code"] == "FNQ05B"]
    assert len(doubles) >= 0.8 * len(pcis)  # every PCI, but for those a correction changed since
    summary = truth["imaging_quality"]
    assert summary["double_reports"] == len(doubles) == summary["by_institution"][DOUBLER]["double_reports"]
    assert summary["double_reporting_share"][DOUBLER] == 1.0

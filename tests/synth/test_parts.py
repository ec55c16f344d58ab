"""Units of the generator: fødselsnummer digits, the model-driven writer, the world's parameters."""

from __future__ import annotations

import random

import pytest

from extract.checks import canonical_units, code_lists, unit_factors
from extract.model.messages import ELEMENTS
from extract.reference import read_seed
from synth import fnr
from synth import parameters as P
from synth.activity import CANONICAL_UNIT
from synth.world import _unit_choice, organisations
from synth.xmlwrite import MessageWriter


def test_fodselsnummer_control_digits():
    made = [fnr.make(1, 1, 1990, i) for i in range(100, 200)]
    assert 0 < made.count(None) < 40  # control digit 10 has no valid number: about 1 in 6
    fid = next(f for f in made if f)
    assert fid.startswith("010190") and fnr.is_valid(fid)
    assert all(fnr.is_valid(f) for f in made if f)
    assert not fnr.is_valid(fnr.corrupt(fid))
    d = next(f for i in range(100, 200) if (f := fnr.make(1, 1, 1990, i, d_number=True)))
    assert d.startswith("410190") and fnr.is_valid(d)
    assert not fnr.is_valid("0101901234")  # too short


def test_writer_refuses_what_the_model_does_not_have(tmp_path):
    w = MessageWriter(tmp_path / "x.xml", "raa", "58.0.1", "UTF-8", None)
    with pytest.raises(ValueError, match="missing"):
        w.open("message", {"versjon": "58.0.1"})
    header = {a.name: "2025-01-01" for a in ELEMENTS["message"].attrs if a.is_required("raa")}
    with pytest.raises(ValueError, match="not in the model"):
        w.open("message", {**header, "nonsense": "1"})
    w.open("message", header)
    w.open("institution", {"institusjonID": "993467049"})
    with pytest.raises(ValueError, match="not allowed"):
        w.open("contact_person", {"kontPerson": "x", "meldEpost1": "y", "typeKontaktperson": "z"})
    w.fh.close()


def test_version_spelling_comes_from_the_model(tmp_path):
    for version, spelled in (("57.0.1", "Kodeverk"), ("58.0.1", "kodeverk")):
        w = MessageWriter(tmp_path / f"{version}.xml", "raa", version, "UTF-8", None)
        w.parts.clear()
        w.stack.append(["procedure", 0, False])
        w.leaf(
            "procedure_code", {"kodeNr": "1", "kodeverk": "R", "kodeVersjon": "2025", "kodeVerdi": "SSC0AA"}
        )
        assert f' {spelled}="R"' in "".join(w.parts)
        w.fh.close()


def test_parameters_name_real_organisations_and_codes():
    orgs = organisations()
    for orgnr, (_w, sites) in P.HOSPITALS.items():
        assert orgnr in orgs
        assert all(s in orgs for s, _ in sites)
    assert all(o in orgs for o in P.PRIVATE_INSTITUTES)
    assert all(rt in orgs for rt, _, _ in P.RT_CENTRES.values())
    assert 10 <= len(P.RT_CENTRES) <= 15
    assert sum(len(rt) == 10 for rt, _, _ in P.RT_CENTRES.values()) >= 5
    ncrp = code_lists()["R"]
    for entries in P.EXAMINATION_GROUPS.values():
        for e in entries:
            assert e[0] in ncrp and e[0][5] in "ABCDEGHKLMNPQTX", e[0]
            if len(e) > 6:
                assert e[6] in ncrp
    ncsp = code_lists()["K"]
    assert all(c in ncsp for codes in P.ORD_PROCEDURES.values() for c in codes)
    assert all(c in ncsp for c in P.ORD_WITHOUT_ZXM)
    ncmp = code_lists()["M"]
    assert all(c in ncmp for c, _ in P.RT_PLANNING_CURATIVE + P.RT_PLANNING_PALLIATIVE)
    assert P.RT_TREATMENT_CODE in ncmp
    icd = code_lists()["D"]
    assert all(c in icd for d in P.RT_DIAGNOSES for c in d[2])
    assert abs(sum(P.MODALITY_GROUP_SHARE.values()) - 1) < 1e-9


@pytest.mark.parametrize(
    ("dose_type", "shares"), [("DAP", P.DAP_UNIT_SHARES), ("GJENNOMLYSNINGSTID", P.FLUORO_TIME_UNIT_SHARES)]
)
def test_unit_spellings_are_drawn_by_share_with_the_seed_factors(dose_type, shares):
    rng = random.Random(5)
    drawn = [_unit_choice(rng, dose_type, shares) for _ in range(4000)]
    assert sum(shares.values()) == pytest.approx(1)
    for unit, share in shares.items():
        factors = {f for u, f in drawn if u == unit}
        assert len(factors) == 1 and factors.pop() * unit_factors()[(dose_type, unit)] == pytest.approx(1)
        assert sum(u == unit for u, _ in drawn) / len(drawn) == pytest.approx(share, abs=0.03)
    by_unit = dict(drawn)
    if dose_type == "DAP":  # 1 Gy·cm² = 100 cGy·cm² = 100 µGy·m²
        assert by_unit["cGy.cm2"] == pytest.approx(100) and by_unit["uGy.m2"] == pytest.approx(100)
    else:
        assert by_unit["min"] == pytest.approx(1 / 60)


def test_generator_canonical_units_are_the_seeds():
    rows = read_seed("unit_conversions.csv", delimiter=",")
    # every spelling of a dose type converts to one canonical unit, the one spelled with factor 1
    for dose_type, unit in canonical_units().items():
        assert {r["canonical_unit"] for r in rows if r["dose_type"] == dose_type} == {unit}
        assert unit_factors()[(dose_type, unit)] == 1
    assert CANONICAL_UNIT["DAP"] == "Gy.cm2" and CANONICAL_UNIT["GJENNOMLYSNINGSTID"] == "s"

"""Referral periods (Henvisningsperiode, docs/messages.md section 10) through the reader: schema,
lake rows and the episode's pointer, in every module that carries them and both versions."""

from __future__ import annotations

import pytest

from extract.model.faults import Rejected
from extract.model.messages import VERSIONS, lake_tables, table_columns
from tests.extract.test_reader import read_bytes
from tests.extract.xmlbuild import build

REFERRAL = {
    "henvisningsperiodeID": "H-{h}",
    "mottattDato": "2025-01-06",
    "ansiennitetsdato": "2024-12-30",
    "henvType": "2",
    "fraInstitusjonID": "983974724",
}


def _referrals(key, idx, attrs):
    """One period per patient, named by the patient's first episode only."""
    h = idx.get("patient_holder", 0)
    if key == "referral_period":
        return {name: value.format(h=h) for name, value in REFERRAL.items()}
    if key == "episode":
        attrs["henvisningsperiodeID"] = f"H-{h}" if idx["episode"] == 0 else None
    return attrs


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("module", ["str", "raa", "ord"])
def test_referral_periods_reach_the_lake_with_their_patient(tmp_path, module, version):
    data = build(module, version, counts={"patient_holder": 2, "episode": 2}, override=_referrals)
    res, tables = read_bytes(tmp_path, data)
    assert res.rows["referral_period"] == 2
    rows = tables["referral_period"]
    assert list(rows[0]) == [c for c, _ in table_columns(module, "referral_period")]
    assert [(r["pasientNr"], r["henvisningsperiodeID"]) for r in rows] == [("P0", "H-0"), ("P1", "H-1")]
    assert {(r["institusjonID"], r["mottattDato"], r["ansiennitetsdato"], r["henvType"]) for r in rows} == {
        ("974557740", "2025-01-06", "2024-12-30", "2")
    }
    assert {r["fraInstitusjonID"] for r in rows} == {"983974724"}
    episodes = {(r["pasientNr"], r["episodeID"]): r["henvisningsperiodeID"] for r in tables["episode"]}
    assert episodes == {
        ("P0", "EP0-0"): "H-0",
        ("P0", "EP0-1"): None,
        ("P1", "EP1-0"): "H-1",
        ("P1", "EP1-1"): None,
    }


def test_only_the_episode_modules_carry_referral_periods():
    assert [m for m in ("str", "raa", "rad", "ord", "ide") if "referral_period" in lake_tables(m)] == [
        "str",
        "raa",
        "ord",
    ]
    assert ("henvisningsperiodeID", "string") in table_columns("raa", "episode")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ansiennitetsdato": None}, "ansiennitetsdato"),  # required
        ({"mottattDato": "06.01.2025"}, "mottattDato"),  # a date
        ({"fraInstitusjonID": "98397472"}, "fraInstitusjonID"),  # 9 digits
    ],
)
def test_a_bad_referral_period_fails_the_schema(tmp_path, change, message):
    def bad(key, idx, attrs):
        attrs = _referrals(key, idx, attrs)
        return {**attrs, **change} if key == "referral_period" else attrs

    with pytest.raises(Rejected) as e:
        read_bytes(tmp_path, build("raa", override=bad))
    assert e.value.reason_class == "schema_invalid"
    assert message in e.value.reason


def test_a_referral_period_after_the_episodes_fails_the_schema(tmp_path):
    """The model's order: Pasient, Henvisningsperiode, Episode."""
    data = build("raa", override=_referrals)
    start = data.index(b"<Henvisningsperiode ")
    end = data.index(b"/>", start) + 2
    element = data[start:end]
    moved = data[:start] + data[end:]
    holder_end = moved.index(b"</Objektholder>")
    moved = moved[:holder_end] + element + moved[holder_end:]
    with pytest.raises(Rejected) as e:
        read_bytes(tmp_path, moved)
    assert e.value.reason_class == "schema_invalid"

"""Issue 15, item 5: a fødselsnummer sent where it does not belong (in `typeID`, in a `fid` broken
by a quote, as `pasientNr` or `pid`) is found in no byte of the lake: not in a rejection reason,
a finding, a value; a valid one in another field is pseudonymised and flagged."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from extract import ingest as ig
from extract.model import faults
from extract.pseudonym import pseudonymise
from synth.fnr import make
from tests.extract.conftest import findings, table
from tests.extract.xmlbuild import build
from tests.reliability._extract_support import KEY_A, ledger_by_path

FNR = make(17, 5, 1964, 123)  # a valid synthetic fødselsnummer
assert FNR is not None


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_A)


def _set(element: str, attr: str, value: str, first_only: bool = False):
    def override(key, idx, attrs):
        if key == element and (
            not first_only or not any(idx.get(k) for k in ("person_ident", "patient_holder"))
        ):
            attrs[attr] = value
        return attrs

    return override


def test_no_fodselsnummer_in_any_byte_of_the_data_directory(tmp_path):
    data = tmp_path / "data"
    inbox, lake = data / "inbox", data / "lake"
    inbox.mkdir(parents=True)
    broken = f"{FNR[:3]}'{FNR[3:]}"  # 123'45678901: a quote inside the value
    (inbox / "typeid.xml").write_bytes(build("ide", override=_set("person_ident", "typeID", FNR)))
    (inbox / "broken_fid.xml").write_bytes(build("ide", override=_set("person_ident", "fid", broken)))
    (inbox / "spaced_fid.xml").write_bytes(
        build("ide", override=_set("person_ident", "fid", f"{FNR[:6]} {FNR[6:]}"))
    )
    (inbox / "pasientnr.xml").write_bytes(
        build("raa", override=_set("patient_holder", "pasientNr", FNR, True))
    )
    (inbox / "pid.xml").write_bytes(build("ide", override=_set("person_ident", "pid", FNR, True)))
    ig.ingest(inbox, lake, workers=1)
    rows = {p: r[0] for p, r in ledger_by_path(lake).items()}
    for name in ("typeid.xml", "broken_fid.xml", "spaced_fid.xml"):
        assert rows[name]["status"] == "rejected" and rows[name]["reason_class"] == "schema_invalid"
        assert "(line " in rows[name]["reason"]
    assert rows["pasientnr.xml"]["status"] == rows["pid.xml"]["status"] == "loaded"
    # Pseudonymised where it was sent, and flagged.
    pseudonym = pseudonymise(FNR, KEY_A.encode())
    assert pseudonym in {r["pasientNr"] for r in table(lake, "raa", "patient_holder")}
    assert pseudonym in {r["pid"] for r in table(lake, "ide", "person_ident")}
    flagged = {
        (f["table"], f["module"])
        for f in findings(lake)
        if f["finding_class"] == faults.FODSELSNUMMER_IN_FIELD
    }
    assert {("patient_holder", "raa"), ("person_ident", "ide")} <= flagged
    # No byte of anything under the data directory but the inbox holds the number, or 8 digits of it.
    probes = [FNR, FNR[3:], FNR[:6] + FNR[6:]]
    for path in data.rglob("*"):
        if not path.is_file() or inbox in path.parents:
            continue
        raw = path.read_bytes()
        assert not any(p.encode() in raw for p in probes), path
        if path.suffix == ".parquet":
            text = repr(pq.read_table(path).to_pylist())
            assert not any(p in text for p in probes), path


def test_reasons_never_quote_a_value_nor_a_run_of_eleven_digits():
    assert faults.Rejected("x", "value '123'45678901' and 017 05 64 12345").reason.count("not shown") == 2
    assert "(digits not shown)" in faults.redact(f"a {FNR} b")
    assert faults.redact("line 12 of 2025-01-31, versjon 58.0.1") == "line 12 of 2025-01-31, versjon 58.0.1"

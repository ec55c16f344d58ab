"""Every bad-input class of docs/messages.md section 9 (plus bombs, truncation, encodings, non-XML):
whole-file rejections land in the ledger with their class and reason; record-level problems land in
the findings with the record's key while the file is loaded."""

from __future__ import annotations

import pytest

from extract.ingest import ingest
from tests.extract.conftest import findings, ledger_by_path, rows_of, table
from tests.extract.xmlbuild import build

BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Melding [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
"""


def _one(inbox, lake, data: bytes, name: str = "f.xml") -> dict:
    (inbox / name).write_bytes(data)
    summary = ingest(inbox, lake, workers=1)
    assert summary.files_seen == 1
    return ledger_by_path(lake)[name]


def _set_attr(element_key: str, attr: str, value: str, where=lambda idx: True):
    def override(key, idx, attrs):
        if key == element_key and where(idx):
            attrs[attr] = value
        return attrs

    return override


def _without_episode(key, idx, attrs):
    if key == "episode" and idx["patient_holder"] == 1 and idx["episode"] == 1:
        attrs["episodeID"] = "OTHER"
    return attrs


latin1_under_utf8 = build("raa", encoding="ISO-8859-1").replace(b'encoding="ISO-8859-1"', b'encoding="UTF-8"')
utf8_under_latin1 = build("raa").replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
raa = build("raa")

REJECTIONS = {
    "truncated": (raa[: len(raa) * 2 // 3], "not_well_formed", "line"),
    "mismatched_tag": (raa.replace(b"</Tjeneste>", b"</Tjenest>", 1), "not_well_formed", "line"),
    "empty": (b"", "not_well_formed", "empty"),
    "non_xml": (b"%PDF-1.4 this is not XML\n", "not_well_formed", ""),
    "latin1_bytes_declared_utf8": (latin1_under_utf8, "encoding_error", "line"),
    "utf8_bytes_declared_latin1": (utf8_under_latin1, "encoding_error", "UTF-8"),
    "unsupported_encoding": (
        raa.replace(b'encoding="UTF-8"', b'encoding="UTF-16"'),
        "encoding_error",
        "UTF-16",
    ),
    "unknown_module": (raa.replace(b"58_0_1_raa", b"58_0_1_kpp"), "unknown_module", "kpp"),
    "not_npr_at_all": (b'<?xml version="1.0"?><Invoice xmlns="urn:x"/>', "unknown_module", ""),
    "unknown_version": (
        raa.replace(b"58_0_1_raa", b"56_0_1_raa").replace(b'versjon="58.0.1"', b'versjon="56.0.1"'),
        "unknown_version",
        "56.0.1",
    ),
    "version_attribute_disagrees": (
        raa.replace(b'versjon="58.0.1"', b'versjon="55.0.1"'),
        "unknown_version",
        "55.0.1",
    ),
    "schema_missing_attribute": (raa.replace(b' lopenr="42"', b""), "schema_invalid", "lopenr"),
    "schema_bad_enumeration_deep": (
        build("raa", override=_set_attr("episode", "omsorgsniva", "7", lambda i: i["patient_holder"] == 1)),
        "schema_invalid",
        "omsorgsniva",
    ),
    "schema_unknown_element": (
        raa.replace(b"<Kontakt ", b'<Extra a="1"/><Kontakt ', 1),
        "schema_invalid",
        "Extra",
    ),
    "xml_bomb": (
        BILLION_LAUGHS + raa.split(b"\n", 1)[1].replace(b'lopenr="42"', b'lopenr="&d;"'),
        "unsafe_xml",
        "DOCTYPE",
    ),
    "external_entity": (
        b'<?xml version="1.0"?>\n<!DOCTYPE Melding [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        + raa.split(b"\n", 1)[1].replace(b'leverandor="x"', b'leverandor="&x;"'),
        "unsafe_xml",
        "DOCTYPE",
    ),
    "gigantic_attribute": (
        raa.replace(b'lokalident="x"', b'lokalident="' + b"A" * (3 << 20) + b'"'),
        "unsafe_xml",
        "",
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTIONS))
def test_rejection(inbox, lake, case):
    data, reason_class, in_reason = REJECTIONS[case]
    entry = _one(inbox, lake, data)
    assert (entry["status"], entry["reason_class"]) == ("rejected", reason_class), entry["reason"]
    assert in_reason in entry["reason"]
    assert entry["file_id"] and entry["size"] == len(data)
    # Nothing of a rejected file reaches a table or the findings.
    assert table(lake, "raa", "episode") == [] and findings(lake) == []


def test_truncated_reason_names_the_line(inbox, lake):
    lines = raa.split(b"\n")
    entry = _one(inbox, lake, b"\n".join(lines[:40]))
    assert "line 4" in entry["reason"]  # libxml2 reports the end of the input: line 40 or 41


def _finding_classes(lake) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in findings(lake):
        out.setdefault(f["finding_class"], []).append(f)
    return out


FINDINGS = {
    # (module, override, finding class, table, text in the record key)
    "dangling_utstyr_str": (
        "str",
        _set_attr("rt_attendance", "refUtstyr", "NOPE"),
        "dangling_reference",
        "rt_attendance",
        "refUtstyr=NOPE",
    ),
    "dangling_utstyr_rad": (
        "rad",
        _set_attr("dose_event", "refUtstyr", "NOPE"),
        "dangling_reference",
        "dose_event",
        "refUtstyr=NOPE",
    ),
    "dangling_enhet": (
        "raa",
        _set_attr("episode_unit", "enhetID", "E9"),
        "dangling_reference",
        "episode_unit",
        "enhetID=E9",
    ),
    "dangling_episode": ("str", _without_episode, "dangling_reference", "rt_attendance", "episodeID=EP1-1"),
    "dangling_referansevolum": (
        "str",
        _set_attr("dose_contribution", "referansevolumID", "RV9"),
        "dangling_reference",
        "dose_contribution",
        "referansevolumID=RV9",
    ),
    "duplicate_episode": (
        "raa",
        _set_attr("episode", "episodeID", "SAME", lambda i: i["episode"] == 0),
        "duplicate_key",
        "episode",
        "episodeID=SAME",
    ),
    "duplicate_utstyr": (
        "rad",
        _set_attr("equipment", "utstyrID", "U0.0-0", lambda i: i["equipment"] == 1),
        "duplicate_key",
        "equipment",
        "utstyrID=U0.0-0",
    ),
    "negative_given_dose": (
        "str",
        _set_attr("dose_contribution", "gittDose", "-2.0"),
        "negative_dose",
        "dose_contribution",
        "",
    ),
    "negative_indicator": (
        "rad",
        _set_attr("dose_indicator", "verdi", "-0.5"),
        "negative_dose",
        "dose_indicator",
        "",
    ),
    "negative_activity": (
        "rad",
        _set_attr("radiopharmaceutical", "administrertAktivitet", "-1"),
        "negative_dose",
        "radiopharmaceutical",
        "",
    ),
    "implausible_indicator": (
        "rad",
        _set_attr("dose_indicator", "verdi", "5000"),
        "implausible_dose",
        "dose_indicator",
        "",
    ),
    "absurd_fraction": (
        "str",
        _set_attr("dose_contribution", "planDose", "20000000"),
        "implausible_dose",
        "dose_contribution",
        "",
    ),
    "unknown_unit": (
        "rad",
        _set_attr("dose_indicator", "benevning", "Gy*cm^2"),
        "unknown_unit",
        "dose_indicator",
        "",
    ),
    "unknown_code": (
        "raa",
        _set_attr("procedure_code", "kodeVerdi", "SXX9ZZ"),
        "unknown_code",
        "procedure_code",
        "",
    ),
    "unknown_diagnosis": (
        "str",
        _set_attr("condition_code", "kodeVerdi", "C999"),
        "unknown_code",
        "condition_code",
        "",
    ),
    "invalid_fodselsnummer": (
        "ide",
        _set_attr("person_ident", "fid", "12345678901"),
        "invalid_fodselsnummer",
        "person_ident",
        "pid=",
    ),
}


@pytest.mark.parametrize("case", sorted(FINDINGS))
def test_finding(inbox, lake, case):
    module, override, cls, table_name, in_key = FINDINGS[case]
    data = build(module, override=override)
    entry = _one(inbox, lake, data)
    assert entry["status"] == "loaded", entry["reason"]
    found = _finding_classes(lake)
    assert set(found) == {cls}, found
    assert entry["findings"] == len(found[cls])
    for f in found[cls]:
        assert f["table"] == table_name and f["module"] == module and f["file_id"] == entry["file_id"]
        assert in_key in f["record_key"] + ";" + f["detail"]
        # The record is kept: its record_no is a row of the table.
        assert f["record_no"] in {r["record_no"] for r in table(lake, module, table_name)}
    assert rows_of(entry)[table_name] == len(table(lake, module, table_name))


def test_clean_file_has_no_findings(inbox, lake):
    for m in ("str", "raa", "rad", "ord", "ide"):
        (inbox / f"{m}.xml").write_bytes(build(m))
    s = ingest(inbox, lake, workers=1)
    assert (s.loaded, s.findings) == (5, 0)


def test_invalid_fodselsnummer_detail_has_no_fodselsnummer(inbox, lake):
    _one(inbox, lake, build("ide", override=_set_attr("person_ident", "fid", "12345678901")))
    assert "12345678901" not in repr(findings(lake))

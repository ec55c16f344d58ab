"""Issue 15, item 7 (extract side): a file arriving after the ingest does not fail the ledger check;
a file deleted between scan and parse is set aside, not a crash; rejection reasons are clean,
UTF-16 is an encoding error, a DOCTYPE beyond the first megabyte is unsafe XML."""

from __future__ import annotations

import re

import pytest

from extract import ingest as ig
from extract import lake as lk
from extract import workers as wk
from orchestration.checks import reconcile_ledger
from tests.extract.xmlbuild import build
from tests.reliability._extract_support import KEY_A, fill, ledger_by_path


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_A)


def test_a_file_arriving_after_the_ingest_does_not_fail_the_check(tmp_path):
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    fill(inbox, n=1)
    ig.ingest(inbox, lake, workers=1)
    (inbox / "late.xml").write_bytes(build("raa"))  # between the ingest and the check
    passed, meta = reconcile_ledger(inbox, lake)
    assert passed, meta
    assert meta["inbox_files_arrived_after_scan"] == 1 and meta["inbox_files_not_recorded"] == 0
    # A file the run scanned but did not record still fails it.
    scan = lk.read_scan(lake)
    scan["files"].append(["ghost.xml", 1, 1])
    lk.write_scan(lake, scan)
    assert not reconcile_ledger(inbox, lake)[0]


def test_a_file_deleted_between_scan_and_parse_is_set_aside(tmp_path, monkeypatch):
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    fill(inbox, n=1)
    doomed = inbox / "raa" / "raa_0.xml"
    real = wk.read_segment

    def delete_first(seg, *args, **kw):
        if seg.path == str(doomed) and doomed.exists():
            doomed.unlink()
        return real(seg, *args, **kw)

    monkeypatch.setattr(wk, "read_segment", delete_first)
    s = ig.ingest(inbox, lake, workers=1)
    assert s.set_aside == {"raa/raa_0.xml": "deleted before it was read"}
    assert s.loaded == 4 and "raa/raa_0.xml" not in ledger_by_path(lake)
    assert reconcile_ledger(inbox, lake)[0]


raa = build("raa")


@pytest.mark.parametrize(
    ("data", "reason_class", "reason"),
    [
        (
            raa.replace(b"</Tjeneste>", b"</Tjenest>", 1),
            "not_well_formed",
            r"Opening and ending tag mismatch: Tjeneste line \d+ and Tjenest \(line \d+\)",
        ),
        (
            # cut at the end of a line, so the parser's message does not depend on where in a tag
            # two thirds of the file falls as the message model grows
            raa[: raa.rindex(b"\n", 0, len(raa) * 2 // 3)],
            "not_well_formed",
            r"Premature end of data in tag \w+ line \d+ \(line \d+\)",
        ),
        (raa.decode().replace("UTF-8", "UTF-16").encode("utf-16"), "encoding_error", r".*UTF-16.*"),
        (
            b'<?xml version="1.0"?>\n<!--'
            + b"<a " * 400_000
            + b'-->\n<!DOCTYPE Melding [<!ENTITY x "y">]>\n'
            + raa.split(b"\n", 1)[1],
            "unsafe_xml",
            r".*",
        ),
    ],
    ids=["mismatched_tag", "truncated", "utf16", "doctype_beyond_1mb"],
)
def test_rejection_reasons_are_clean(tmp_path, data, reason_class, reason):
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    (inbox / "f.xml").write_bytes(data)
    ig.ingest(inbox, lake, workers=1)
    [row] = ledger_by_path(lake)["f.xml"]
    assert row["reason_class"] == reason_class, row["reason"]
    assert re.fullmatch(reason, row["reason"]), row["reason"]
    assert "b'" not in row["reason"] and row["reason"].count("(line") <= 1

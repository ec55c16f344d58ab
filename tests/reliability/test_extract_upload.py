"""Issue 15, items 2 and 3: an upload that completes during the scan is not lost; `duplicate` means
the same bytes as a *loaded* file; rebuilding a lost ledger part keeps every file."""

from __future__ import annotations

import hashlib

import pyarrow.parquet as pq
import pytest

from extract import inbox as ib
from extract import ingest as ig
from extract import lake as lk
from tests.extract.xmlbuild import build
from tests.reliability._extract_support import KEY_A, fill, lake_state, ledger_by_path


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_A)


def test_upload_completing_during_the_scan_is_loaded_once_stable(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    complete = build("str")
    path = inbox / "upload.xml"
    path.write_bytes(complete[: len(complete) // 2])  # the upload is half way when the scan stats it
    real_hash = ib.file_hash

    def upload_completes_first(p, *size):
        if p == str(path) and path.stat().st_size < len(complete):
            path.write_bytes(complete)  # ... and complete before the scan hashes it
        return real_hash(p, *size)

    monkeypatch.setattr(ib, "file_hash", upload_completes_first)
    first = ig.ingest(inbox, tmp_path / "lake", workers=1)
    assert (first.loaded, first.rejected) == (0, 0)
    assert "still being written" in first.set_aside["upload.xml"]
    assert ledger_by_path(tmp_path / "lake") == {}  # nothing recorded: looked at again next time
    second = ig.ingest(inbox, tmp_path / "lake", workers=1)
    assert second.loaded == 1 and not second.set_aside
    [row] = ledger_by_path(tmp_path / "lake")["upload.xml"]
    assert row["file_id"] == hashlib.sha256(complete).hexdigest() and row["size"] == len(complete)
    clean = tmp_path / "clean"
    ig.ingest(inbox, clean, workers=1)
    assert lake_state(tmp_path / "lake") == lake_state(clean)


def test_hash_covers_exactly_the_bytes_parsed(tmp_path):
    path = tmp_path / "f.xml"
    path.write_bytes(b"0123456789")
    assert ib.file_hash(str(path), 4) == hashlib.sha256(b"0123").hexdigest()
    assert ib.file_hash(str(path)) == hashlib.sha256(b"0123456789").hexdigest()


def test_settle_interval_defers_a_recently_modified_file(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "new.xml").write_bytes(build("raa"))
    s = ig.ingest(inbox, tmp_path / "lake", workers=1, settle=3600)
    assert s.loaded == 0 and "settle" in s.set_aside["new.xml"]
    assert ig.ingest(inbox, tmp_path / "lake", workers=1, settle=0).loaded == 1


def test_a_copy_of_a_rejected_file_is_rejected_too_never_a_duplicate(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bad = build("raa").replace(b' lopenr="42"', b"")  # fails the schema
    (inbox / "a.xml").write_bytes(bad)
    (inbox / "b.xml").write_bytes(bad)  # same run
    lake = tmp_path / "lake"
    s = ig.ingest(inbox, lake, workers=1)
    assert (s.rejected, s.duplicates) == (2, 0)
    (inbox / "c.xml").write_bytes(bad)  # a later run
    s = ig.ingest(inbox, lake, workers=1)
    assert (s.rejected, s.duplicates) == (1, 0)
    rows = {p: r[0] for p, r in ledger_by_path(lake).items()}
    assert {r["status"] for r in rows.values()} == {"rejected"}
    assert len({r["reason"] for r in rows.values()}) == 1
    # The rejected file corrected in place is tried again and loaded.
    (inbox / "a.xml").write_bytes(build("raa"))
    assert ig.ingest(inbox, lake, workers=1).loaded == 1


def test_rebuilding_a_lost_ledger_part_keeps_every_file(tmp_path, monkeypatch):
    monkeypatch.setattr(ig, "BATCH_FILES", 3)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = fill(inbox, n=2)
    (inbox / "zz").mkdir()
    for f in files[:4]:  # copies, recorded as duplicates in the last batch
        (inbox / "zz" / f.name).write_bytes(f.read_bytes())
    clean = tmp_path / "clean"
    ig.ingest(inbox, clean, workers=1)
    lake = tmp_path / "lake"
    ig.ingest(inbox, lake, workers=1)
    first_part = sorted(p for p in lk.ledger_dir(lake).glob("b*.parquet"))[0]
    lost = {r["path"] for r in pq.read_table(first_part).to_pylist()}
    assert lost & {f.relative_to(inbox).as_posix() for f in files[:4]}  # originals of the copies
    first_part.unlink()
    ig.ingest(inbox, lake, workers=1)
    statuses = [r["status"] for rows in ledger_by_path(lake).values() for r in rows]
    assert statuses.count("loaded") == len(files) and statuses.count("duplicate") == 4
    assert lake_state(lake) == lake_state(clean)

"""Issue 15, item 3: `doctor` checks every lake and ledger part in full (page checksums, not only
footers), names what is wrong and what it does, quarantines bad parts, re-ingests their files, and
the lake ends in the state of one clean run, row for row."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from extract import ingest as ig
from extract import lake as lk
from extract.doctor import QUARANTINE_DIR, doctor
from tests.extract.xmlbuild import build
from tests.reliability._extract_support import KEY_A, fill, lake_state


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_A)


def _garble(part) -> None:
    """Flip bytes at the end of the largest column chunk (page data, not a header); the footer (and so the
    metadata) stays intact."""
    meta = pq.read_metadata(part)
    chunks = [
        meta.row_group(r).column(c) for r in range(meta.num_row_groups) for c in range(meta.num_columns)
    ]
    chunk = max(chunks, key=lambda c: c.total_compressed_size)
    data = bytearray(part.read_bytes())
    pos = chunk.data_page_offset + chunk.total_compressed_size - 6  # the end of its last page: data
    for i in range(pos, pos + 4):
        data[i] ^= 0xFF
    part.write_bytes(bytes(data))


def _parts(folder):
    return sorted(p for p in folder.glob("b*.parquet"))


def test_doctor_repairs_lake_and_ledger_parts_to_a_clean_run(tmp_path, monkeypatch):
    monkeypatch.setattr(ig, "BATCH_FILES", 2)  # several batches to damage independently
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    files = fill(inbox, n=3)
    (inbox / "copies").mkdir()
    for f in files[:3]:
        (inbox / "copies" / f.name).write_bytes(f.read_bytes())
    (inbox / "bad.xml").write_bytes(build("raa").replace(b' lopenr="42"', b""))
    clean, lake = tmp_path / "clean", tmp_path / "lake"
    ig.ingest(inbox, clean, workers=1)
    ig.ingest(inbox, lake, workers=1)
    ledger_parts = _parts(lk.ledger_dir(lake))
    assert len(ledger_parts) >= 4
    # 1. a garbled table part: its footer still reads, so a footer-only check passes
    episode = _parts(lake / "raa" / "episode")[-1]
    _garble(episode)
    assert pq.read_metadata(episode).num_rows > 0
    # 2. a garbled ledger part (another batch), 3. a lost ledger part
    garbled_ledger = next(p for p in ledger_parts if p.name.split(".")[0] != episode.name.split(".")[0])
    _garble(garbled_ledger)
    lost = next(p for p in ledger_parts if p not in (garbled_ledger,) and p.stem != episode.stem)
    lost.unlink()
    # 4. a garbled schema part
    (lake / "str" / "episode" / lk.SCHEMA_PART).write_bytes(b"PAR1 not a part")

    check = doctor(lake, inbox, repair=False)
    named = {p.path for p in check.problems}
    assert episode.relative_to(lake).as_posix() in named
    assert garbled_ledger.relative_to(lake).as_posix() in named
    assert any(lost.stem in p.path and "no ledger part" in p.what for p in check.problems)
    assert "str/episode/schema.parquet" in named
    assert all(p.action for p in check.problems)
    assert not (lake / QUARANTINE_DIR).exists()  # a check changes nothing

    report = doctor(lake, inbox)
    assert report.quarantined and report.reingested["loaded"] > 0
    assert (lake / QUARANTINE_DIR).exists()
    assert lake_state(lake) == lake_state(clean)
    assert doctor(lake, inbox, repair=False).healthy
    for part in lake.rglob("*.parquet"):
        if QUARANTINE_DIR not in part.parts:
            lk.verify_part(part)


def test_page_checksums_are_written(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fill(inbox, n=1)
    ig.ingest(inbox, tmp_path / "lake", workers=1)
    part = _parts(tmp_path / "lake" / "raa" / "episode")[0]
    _garble(part)
    pq.read_metadata(part)  # the footer reads
    with pytest.raises(OSError, match="CRC checksum verification failed"):
        lk.verify_part(part)


def test_doctor_deletes_a_build_file_that_does_not_open(tmp_path):
    lake = tmp_path / "lake"
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ig.ingest(inbox, lake, workers=1)
    good = tmp_path / "good.duckdb"
    with duckdb.connect(str(good)) as con:
        con.execute("create table t as select range as i from range(1000)")
    assert doctor(lake, inbox, build=good).healthy and good.exists()
    bad = tmp_path / "warehouse.duckdb"
    bad.write_bytes(good.read_bytes()[:4096] + b"\x00garbage" * 2000)
    report = doctor(lake, inbox, build=bad)
    [problem] = report.problems
    assert problem.path == str(bad) and "delete" in problem.action
    assert not bad.exists()

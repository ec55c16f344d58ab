"""The lake's guarantees: layout, idempotency, duplicates, module filter, pieces of big files, crash
safety (kill and rerun), and that no fødselsnummer is ever written."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lxml import etree

from extract import inbox as ib
from extract import ingest as ig
from extract import lake as lk
from extract import split as sp
from extract.model.messages import MODULES, lake_tables, table_columns
from extract.sniff import SNIFF_BYTES
from tests.extract.conftest import TEST_KEY, findings, lake_state, ledger, ledger_by_path, rows_of, table
from tests.extract.xmlbuild import build, fid_for

PROJECT = Path(__file__).resolve().parents[2]


def _fill(inbox: Path, n: int = 2, holders: int = 2) -> None:
    for i in range(n):
        for m in MODULES:
            override = _lopenr(i)
            (inbox / m).mkdir(exist_ok=True)
            (inbox / m / f"{m}_{i}.xml").write_bytes(
                build(m, counts={"patient_holder": holders}, override=override)
            )


def _lopenr(i: int):
    def override(key, idx, attrs):
        if key == "message":
            attrs["lopenr"] = str(100 + i)  # distinct bytes per file
        return attrs

    return override


def test_init_lake_has_a_schema_part_per_table(lake):
    lk.init_lake(lake)
    for m in MODULES:
        for t in lake_tables(m):
            part = lake / m / t / lk.SCHEMA_PART
            schema = pq.read_schema(part)
            assert schema.names == [c for c, _ in table_columns(m, t)]
            assert pq.read_metadata(part).num_rows == 0
    assert pq.read_schema(lake / "_ledger" / lk.SCHEMA_PART) == lk.LEDGER_SCHEMA
    assert pq.read_schema(lake / "_findings" / lk.SCHEMA_PART) == lk.FINDINGS_SCHEMA


def test_idempotent(inbox, lake):
    _fill(inbox)
    first = ig.ingest(inbox, lake, workers=2)
    assert first.loaded == 2 * len(MODULES)
    files_before = sorted(p.relative_to(lake) for p in lake.rglob("*.parquet"))
    state_before = lake_state(lake)
    again = ig.ingest(inbox, lake, workers=2)
    assert (again.files_seen, again.loaded, again.skipped) == (0, 0, 2 * len(MODULES))
    assert sorted(p.relative_to(lake) for p in lake.rglob("*.parquet")) == files_before
    assert lake_state(lake) == state_before
    assert ib.pending_files(inbox, lake) == {}


def test_small_files_share_parts(inbox, lake):
    _fill(inbox, n=4)
    ig.ingest(inbox, lake, workers=1)
    parts = [p for p in (lake / "raa" / "episode").glob("*.parquet") if p.name != lk.SCHEMA_PART]
    assert len(parts) == 1
    assert len({r["file_id"] for r in table(lake, "raa", "episode")}) == 4


def test_same_bytes_twice_loaded_once(inbox, lake):
    data = build("str")
    (inbox / "a.xml").write_bytes(data)
    (inbox / "b.xml").write_bytes(data)
    s = ig.ingest(inbox, lake, workers=1)
    assert (s.loaded, s.duplicates) == (1, 1)
    entries = ledger_by_path(lake)
    assert entries["a.xml"]["status"] == "loaded" and entries["b.xml"]["status"] == "duplicate"
    assert entries["a.xml"]["file_id"] == entries["b.xml"]["file_id"]
    assert len(table(lake, "str", "episode")) == rows_of(entries["a.xml"])["episode"]
    # The same bytes arriving later under a third name: recorded as duplicate, not loaded again.
    (inbox / "later").mkdir()
    (inbox / "later" / "c.xml").write_bytes(data)
    s = ig.ingest(inbox, lake, workers=1)
    assert (s.loaded, s.duplicates) == (0, 1)
    assert len(ledger(lake)) == 3


def test_ignored_paths(inbox, lake):
    (inbox / "_truth").mkdir()
    (inbox / "_truth" / "x.xml").write_bytes(build("str"))
    (inbox / ".hidden.xml").write_bytes(build("str"))
    (inbox / "real.xml").write_bytes(build("str"))
    ig.ingest(inbox, lake, workers=1)
    assert [r["path"] for r in ledger(lake)] == ["real.xml"]


def test_module_filter_keeps_the_ledger_consistent(inbox, lake):
    _fill(inbox, n=1)
    (inbox / "junk.bin").write_bytes(b"\x00\x01 not xml")
    s = ig.ingest(inbox, lake, workers=1, modules={"str"})
    assert (s.loaded, s.rejected) == (1, 1)  # the junk is recorded by whoever comes first
    assert {r["module"] for r in ledger(lake) if r["status"] == "loaded"} == {"str"}
    pending = ib.pending_files(inbox, lake)
    assert sorted(p.name for p in pending) == sorted(f"{m}_0.xml" for m in MODULES if m != "str")
    assert all(sha == hashlib.sha256(p.read_bytes()).hexdigest() for p, sha in pending.items())
    assert [p.name for p in ib.pending_files(inbox, lake, modules={"raa"})] == ["raa_0.xml"]
    s = ig.ingest(inbox, lake, workers=1, modules={"raa", "rad"})
    assert (s.loaded, s.rejected) == (2, 0)
    s = ig.ingest(inbox, lake, workers=1)
    assert (s.loaded, s.rejected) == (2, 0)
    assert len(ledger(lake)) == len(MODULES) + 1


def _two_institution_file(module: str = "str") -> bytes:
    def faults(key, idx, attrs):
        if key == "episode" and (idx["institution"], idx["patient_holder"], idx["episode"]) == (1, 7, 1):
            attrs["episodeID"] = "EP2-0"  # duplicate of an episode in an earlier piece
        if key in ("rt_attendance", "dose_event") and idx["patient_holder"] == 3:
            attrs["refUtstyr"] = "NOPE"
        if key == "equipment" and idx["institution"] == 1 and idx["equipment"] == 1:
            attrs["utstyrID"] = "U0.0-1"  # the same id as in the first institution's register
        return attrs

    return build(module, envelope=True, counts={"institution": 2, "patient_holder": 12}, override=faults)


# "inline": pieces one after another in this process;
# "pool": worker processes, pieces in parallel.
@pytest.mark.parametrize("mode", ["inline", "pool"])
@pytest.mark.parametrize("module", ["str", "rad", "raa"])
def test_big_file_in_pieces_equals_whole(tmp_path, monkeypatch, module, mode):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    data = _two_institution_file(module)
    (inbox / "big.xml").write_bytes(data)
    whole = tmp_path / "whole"
    ig.ingest(inbox, whole, workers=1)
    monkeypatch.setattr(ig, "SPLIT_ABOVE", 1000)
    monkeypatch.setattr(ig, "PIECE_BYTES", 6_000)
    monkeypatch.setattr(ig, "INLINE_BELOW", 1 << 30 if mode == "inline" else 0)
    pieces = tmp_path / "pieces"
    ig.ingest(inbox, pieces, workers=2)
    assert len(list((pieces / module / "patient_holder").glob("*.parquet"))) > 4  # really cut
    assert lake_state(pieces) == lake_state(whole)
    assert [r["file_id"] for r in ledger(pieces)] == [hashlib.sha256(data).hexdigest()]
    classes = Counter(f["finding_class"] for f in findings(whole))
    assert classes["duplicate_key"] == (2 if module != "rad" else 1)
    assert classes["dangling_reference"] == (0 if module == "raa" else 4 + (module == "str"))


# Which finishes first, the hash or the counts up to every cut, decides whether the coordinator
# counts the later pieces before it hands out the first or while they run: the lake is the same.
@pytest.mark.parametrize("first", ["hash", "counts"])
def test_pieces_equal_whole_whether_the_hash_or_the_counts_finish_first(tmp_path, monkeypatch, first):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "big.xml").write_bytes(_two_institution_file("str"))
    whole = tmp_path / "whole"
    ig.ingest(inbox, whole, workers=1)
    monkeypatch.setattr(ig, "SPLIT_ABOVE", 1000)
    monkeypatch.setattr(ig, "PIECE_BYTES", 6_000)
    monkeypatch.setattr(ig, "INLINE_BELOW", 0)
    hashed, counted, ahead = threading.Event(), threading.Event(), []
    file_hash, count_cuts = ib.file_hash, sp.count_cuts

    def slow_or_fast_hash(path, size=None):
        if first == "counts":
            assert counted.wait(10)
        digest = file_hash(path, size)
        hashed.set()
        return digest

    def counts(path, cuts, mark):
        for k, item in enumerate(count_cuts(path, cuts, mark)):
            if first == "hash" and k == 1:
                assert hashed.wait(10)  # the second cut is counted only once the hash is known
            ahead.append(hashed.is_set())
            yield item
        counted.set()

    monkeypatch.setattr(ib, "file_hash", slow_or_fast_hash)
    monkeypatch.setattr(sp, "count_cuts", counts)
    pieces = tmp_path / "pieces"
    ig.ingest(inbox, pieces, workers=2)
    assert len(ahead) > 3
    # "counts": every cut counted before the hash was known; "hash": most of them after
    assert not any(ahead) if first == "counts" else all(ahead[1:])
    assert lake_state(pieces) == lake_state(whole)


@pytest.mark.parametrize("mode", ["inline", "pool"])
def test_rejected_piece_rejects_the_whole_file(inbox, lake, monkeypatch, mode):
    monkeypatch.setattr(ig, "INLINE_BELOW", 1 << 30 if mode == "inline" else 0)
    data = _two_institution_file()
    cut = data.rindex(b"<Objektholder")
    (inbox / "bad.xml").write_bytes(
        data[:cut] + data[cut:].replace(b'omsorgsniva="3"', b'omsorgsniva="7"', 1)
    )
    monkeypatch.setattr(ig, "SPLIT_ABOVE", 1000)
    monkeypatch.setattr(ig, "PIECE_BYTES", 12_000)
    s = ig.ingest(inbox, lake, workers=2)
    assert s.rejections == {"schema_invalid": 1}
    assert table(lake, "str", "episode") == [] and findings(lake) == []
    line = data[: data.index(b'omsorgsniva="3"', cut)].count(b"\n") + 1
    reported = int(re.search(r"line (\d+)", ledger(lake)[0]["reason"]).group(1))
    assert reported == line


class _StartCounter:
    n = 0

    def start(self, tag, attrib):
        self.n += 1

    def close(self):
        pass


def _parser_starts_before(data: bytes, offset: int) -> int:
    counter = _StartCounter()
    etree.XMLParser(target=counter).feed(data[:offset])  # never closed: the rest is not needed
    return counter.n


def test_record_bases_counted_at_the_cuts_match_the_parser(tmp_path):
    path = tmp_path / "big.xml"
    data = _two_institution_file()
    path.write_bytes(data)
    segments = sp.split_file(str(path), len(data), data[:SNIFF_BYTES], 4)
    assert segments is not None and len(segments) == 4
    counted = list(sp.count_cuts(str(path), [s.start for s in segments], b"<Institusjon"))
    bases, institutions = [b for b, _ in counted], [i for _, i in counted]
    assert bases == [_parser_starts_before(data, s.start) for s in segments]
    assert bases[0] == 0 and bases == sorted(set(bases))
    # The institution each cut falls in: the last Institusjon start tag before it.
    assert institutions == [data.rfind(b"<Institusjon ", 0, s.start) for s in segments]
    assert institutions[0] == -1 and institutions[-1] > institutions[1]  # the file has two
    with pytest.raises(ValueError):  # an empty tag would match everywhere
        next(sp.count_cuts(str(path), [0], b""))


def test_no_fodselsnummer_anywhere(inbox, lake):
    fids = [fid_for(i) for i in range(40)]

    def with_fids(key, idx, attrs):
        if key == "person_ident":
            attrs["fid"] = fids[idx["person_ident"] + 20 * idx["institution"]]
        return attrs

    (inbox / "ide.xml").write_bytes(
        build("ide", counts={"person_ident": 20, "institution": 2}, override=with_fids)
    )
    bad = build("ide", override=lambda k, i, a: {**a, "fid": "99999999999"} if k == "person_ident" else a)
    (inbox / "ide_bad.xml").write_bytes(bad)
    fids.append("99999999999")
    short = build("ide", override=lambda k, i, a: {**a, "fid": "1234567890"} if k == "person_ident" else a)
    (inbox / "ide_short.xml").write_bytes(short)  # fails the schema pattern; the reason must not show it
    fids.append("1234567890")
    ig.ingest(inbox, lake, workers=1)
    assert ledger_by_path(lake)["ide_short.xml"]["reason_class"] == "schema_invalid"
    assert len(table(lake, "ide", "person_ident")) == 43
    for path in lake.rglob("*"):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        assert not any(f.encode() in raw for f in fids), path
        if path.suffix == ".parquet":
            text = repr(pq.read_table(path).to_pylist())
            assert not any(f in text for f in fids), path


# A caller running another thread gets a fork server; a single-threaded one forks its workers.
@pytest.mark.parametrize(("threaded", "method"), [(False, "fork"), (True, "forkserver")])
def test_worker_start_method_follows_the_callers_threads(tmp_path, threaded, method):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "big.xml").write_bytes(_two_institution_file("str"))
    _fill(inbox, n=2)
    code = (
        "import sys, threading; from pathlib import Path; from extract import ingest as ig, workers\n"
        "if __name__ == '__main__':\n"
        "    ig.SPLIT_ABOVE = 1000; ig.PIECE_BYTES = 6_000; ig.INLINE_BELOW = 0\n"
        f"    if {threaded}:\n"
        "        threading.Thread(target=threading.Event().wait, daemon=True).start()\n"
        "    methods = []\n"
        "    init = workers.Pool.__init__\n"
        "    def spy(self, workers):\n"
        "        init(self, workers)\n"
        "        methods.append(self.method)\n"
        "    workers.Pool.__init__ = spy\n"
        "    s = ig.ingest(Path(sys.argv[1]), Path(sys.argv[2]), workers=2)\n"
        "    print(methods[0], s.loaded)\n"
    )
    script = tmp_path / "run.py"
    script.write_text(code)
    env = {**os.environ, "STRALEBRUK_PSEUDONYM_KEY": TEST_KEY, "PYTHONPATH": str(PROJECT)}
    out = subprocess.run(
        [sys.executable, str(script), str(inbox), str(tmp_path / "lake")],
        env=env,
        cwd=PROJECT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()
    assert out == [method, str(len(ib.inbox_files(inbox)))]
    inline = tmp_path / "inline"
    ig.ingest(inbox, inline, workers=1)
    assert lake_state(tmp_path / "lake") == lake_state(inline)


def _copy_inbox(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst)


@pytest.mark.parametrize("split", [False, True])
def test_kill_and_rerun_equals_one_clean_run(tmp_path, split):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _fill(inbox, n=6, holders=40)
    if split:
        (inbox / "big.xml").write_bytes(build("raa", counts={"institution": 2, "patient_holder": 150}))
    env = {**os.environ, "STRALEBRUK_PSEUDONYM_KEY": TEST_KEY, "PYTHONPATH": str(PROJECT)}
    code = (
        "import sys; from pathlib import Path; from extract import ingest as ig\n"
        "if __name__ == '__main__':\n"
        f"    ig.SPLIT_ABOVE = {300_000 if split else 1 << 40}; ig.PIECE_BYTES = 60_000\n"
        "    ig.STREAM_ABOVE = 150_000\n"
        "    ig.BATCH_FILES = 4\n"
        "    ig.ingest(Path(sys.argv[1]), Path(sys.argv[2]), workers=2)\n"
    )
    script = tmp_path / "run.py"
    script.write_text(code)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(inbox), str(killed)], env=env, cwd=PROJECT, start_new_session=True
    )
    deadline = time.monotonic() + 60
    ledger_dir = lk.ledger_dir(killed)
    while time.monotonic() < deadline and proc.poll() is None:
        if ledger_dir.exists() and any(p.name != lk.SCHEMA_PART for p in ledger_dir.glob("*.parquet")):
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    n_files = sum(1 for _ in ib.inbox_files(inbox))
    assert len(ledger(killed)) < n_files, "the run finished before the kill; make the inbox bigger"
    subprocess.run([sys.executable, str(script), str(inbox), str(killed)], env=env, cwd=PROJECT, check=True)
    clean = tmp_path / "clean"
    subprocess.run([sys.executable, str(script), str(inbox), str(clean)], env=env, cwd=PROJECT, check=True)
    assert len(ledger(clean)) == n_files
    assert lake_state(killed) == lake_state(clean)
    assert not [p for p in killed.rglob(".*.tmp")]

"""Issue 15, item 6: odd inbox entries (dangling or looping links, a link out of the inbox, a FIFO,
a link to /dev/zero, a socket, an unreadable file) are set aside with their reason, never block or
crash the ingest, are looked at again next time, and the valid files load; the ledger reconciles."""

from __future__ import annotations

import errno
import os
import socket
import threading

import pytest

from extract import ingest as ig
from extract import lake as lk
from orchestration.checks import reconcile_ledger
from tests.extract.xmlbuild import build
from tests.reliability._extract_support import KEY_A, ledger_by_path


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_A)


def _ingest_with_deadline(inbox, lake, seconds: float = 60):
    """Run the ingest in a thread: old code hung for ever on a FIFO or /dev/zero."""
    out: dict = {}

    def run():
        try:
            out["summary"] = ig.ingest(inbox, lake, workers=1)
        except BaseException as e:
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the ingest hangs"
    if "error" in out:
        raise out["error"]
    return out["summary"]


def test_odd_entries_are_set_aside_and_the_rest_loads(tmp_path, monkeypatch):
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    (inbox / "a_valid.xml").write_bytes(build("raa"))
    (inbox / "b_valid.xml").write_bytes(build("str"))
    outside = tmp_path / "outside.xml"
    outside.write_bytes(build("rad"))
    (inbox / "dangling.xml").symlink_to(tmp_path / "nowhere.xml")
    (inbox / "loop1.xml").symlink_to(inbox / "loop2.xml")
    (inbox / "loop2.xml").symlink_to(inbox / "loop1.xml")
    (inbox / "leaves.xml").symlink_to(outside)
    (inbox / "zero.xml").symlink_to("/dev/zero")
    (inbox / "inside_link.xml").symlink_to(inbox / "a_valid.xml")  # stays inside: read (a duplicate)
    os.mkfifo(inbox / "fifo.xml")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(inbox / "socket.xml"))
    unreadable = inbox / "unreadable.xml"
    unreadable.write_bytes(build("ord"))
    # Tests run as root (chmod 000 does not stop a read): the refusal is simulated at open.
    real_os_open = os.open

    def refuse(path, *args, **kw):
        if os.fspath(path) == str(unreadable):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_os_open(path, *args, **kw)

    monkeypatch.setattr(os, "open", refuse)
    try:
        s = _ingest_with_deadline(inbox, lake)
        expected = {
            "dangling.xml": "dangling",
            "loop1.xml": "loop",
            "loop2.xml": "loop",
            "leaves.xml": "out of the inbox",
            "zero.xml": "out of the inbox",
            "fifo.xml": "FIFO",
            "socket.xml": "socket",
            "unreadable.xml": "Permission denied",
        }
        assert set(s.set_aside) == set(expected)
        for path, words in expected.items():
            assert words in s.set_aside[path], (path, s.set_aside[path])
        assert (s.loaded, s.duplicates, s.rejected) == (2, 1, 0)
        assert set(ledger_by_path(lake)) == {"a_valid.xml", "b_valid.xml", "inside_link.xml"}
        assert lk.read_scan(lake)["set_aside"] == s.set_aside
        passed, meta = reconcile_ledger(inbox, lake)
        assert passed and meta["inbox_entries_set_aside"] == len(expected), meta
        # Looked at again next time: still set aside, nothing recorded twice.
        again = _ingest_with_deadline(inbox, lake)
        assert set(again.set_aside) == set(expected) and again.files_seen == 0
    finally:
        sock.close()
    # Once readable, the file is read.
    monkeypatch.setattr(os, "open", real_os_open)
    assert _ingest_with_deadline(inbox, lake).loaded == 1


def _touch_all(inbox, seconds: int) -> None:
    """New modification times, same bytes: what `cp -r` of the inbox or a restore does."""
    for f in inbox.iterdir():
        st = f.stat()
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + seconds * 1_000_000_000))


def test_recorded_files_seen_again_under_new_mtimes_load_nothing_and_are_hashed_once(tmp_path, monkeypatch):
    from extract import inbox as ib

    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    (inbox / "a.xml").write_bytes(build("raa"))
    (inbox / "b.xml").write_bytes(build("str"))
    assert ig.ingest(inbox, lake, workers=1).loaded == 2
    ledger_rows = lk.read_ledger(lake).num_rows

    _touch_all(inbox, 60)
    again = ig.ingest(inbox, lake, workers=1)
    assert (again.loaded, again.duplicates, again.rejected, again.skipped) == (0, 0, 0, 2)
    assert lk.read_ledger(lake).num_rows == ledger_rows
    passed, meta = reconcile_ledger(inbox, lake)
    assert passed and meta["inbox_files_not_recorded"] == 0, meta
    assert sorted(lk.read_relisted(lake).column("path").to_pylist()) == ["a.xml", "b.xml"]

    def no_hashing(*_a, **_k):
        raise AssertionError("a file seen again was hashed again")

    with monkeypatch.context() as m:
        m.setattr(ib, "file_hash", no_hashing)
        assert ig.ingest(inbox, lake, workers=1).skipped == 2
        assert ib.pending_files(inbox, lake) == {}

    # The check a no-change run makes (`pending_files`) remembers them too.
    _touch_all(inbox, 120)
    assert ib.pending_files(inbox, lake) == {}
    with monkeypatch.context() as m:
        m.setattr(ib, "file_hash", no_hashing)
        assert ib.pending_files(inbox, lake) == {}
    # Other bytes at a recorded path are still a new file.
    (inbox / "a.xml").write_bytes(build("rad"))
    assert ig.ingest(inbox, lake, workers=1).loaded == 1

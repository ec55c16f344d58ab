"""Issue 15, item 4: a change of pseudonym key is refused with a clear message; a deliberate
rotation re-derives every pseudonym from the inbox, ending in the lake of a clean run under the new key."""

from __future__ import annotations

import pytest

from extract import ingest as ig
from extract.keys import KeyMismatch, fingerprint, recorded_fingerprint
from extract.pseudonym import pseudonymise
from extract.rotate import RotationRefused, rotate_key
from tests.extract.conftest import table
from tests.extract.xmlbuild import fid_for
from tests.reliability._extract_support import KEY_A, KEY_B, fill, lake_state, ledger_by_path


def _pseudonyms(lake):
    return sorted(r["person_pseudonym"] for r in table(lake, "ide", "person_ident"))


def test_a_key_change_is_refused(tmp_path, monkeypatch):
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    fill(inbox, n=1)
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_A)
    ig.ingest(inbox, lake, workers=1)
    assert recorded_fingerprint(lake) == fingerprint(KEY_A.encode())
    fill(inbox, n=2)  # new files arrive
    before = lake_state(lake)
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_B)
    with pytest.raises(KeyMismatch, match=r"another key.*split every person.*rotate"):
        ig.ingest(inbox, lake, workers=1)
    assert lake_state(lake) == before  # nothing ingested under the second key
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_A)
    assert ig.ingest(inbox, lake, workers=1).loaded == 5


def test_rotation_rederives_every_pseudonym_from_the_inbox(tmp_path, monkeypatch):
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    fill(inbox, n=2)
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_A)
    ig.ingest(inbox, lake, workers=1)
    old = _pseudonyms(lake)
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_B)
    s = rotate_key(inbox, lake, workers=1)
    assert (s.old_fingerprint, s.new_fingerprint) == (
        fingerprint(KEY_A.encode()),
        fingerprint(KEY_B.encode()),
    )
    clean = tmp_path / "clean"
    ig.ingest(inbox, clean, workers=1)
    assert lake_state(lake) == lake_state(clean)
    new = _pseudonyms(lake)
    assert not set(new) & set(old)
    assert set(new) == {pseudonymise(fid_for(i), KEY_B.encode()) for i in range(3)}
    assert recorded_fingerprint(lake) == fingerprint(KEY_B.encode())
    assert ig.ingest(inbox, lake, workers=1).files_seen == 0  # the rotated lake takes the new key
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".lake")]  # nothing left beside it


def test_rotation_is_refused_when_a_file_is_gone_from_the_inbox(tmp_path, monkeypatch):
    inbox, lake = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    files = fill(inbox, n=1)
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_A)
    ig.ingest(inbox, lake, workers=1)
    files[0].unlink()
    before = lake_state(lake)
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", KEY_B)
    with pytest.raises(RotationRefused, match="no longer in the inbox"):
        rotate_key(inbox, lake, workers=1)
    assert lake_state(lake) == before and recorded_fingerprint(lake) == fingerprint(KEY_A.encode())
    assert set(ledger_by_path(lake)) == {f.relative_to(inbox).as_posix() for f in files}

"""The pseudonym key's fingerprint, recorded with the lake, so that files are never pseudonymised
under two keys (every person would be split in two, silently).

`<lake>/_key.json` holds `fingerprint` = the first 16 hex digits of HMAC-SHA256(key, a fixed
label): it tells keys apart without revealing the key. `check_key` (called by every ingest, under
the lake lock) records it in a lake that has none and refuses a different key with `KeyMismatch`.
A deliberate change of key is `extract.rotate` (re-derives every pseudonym from the inbox).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from pathlib import Path

from extract.pseudonym import DEMO_KEY, ENV_KEY

KEY_RECORD = "_key.json"
_LABEL = b"stralebruk pseudonym key fingerprint v1"


class KeyMismatch(RuntimeError):
    """The lake was built with another pseudonym key than the one configured now."""


def fingerprint(key: bytes) -> str:
    return hmac.new(key, _LABEL, hashlib.sha256).hexdigest()[:16]


def recorded_fingerprint(lake: Path) -> str | None:
    try:
        return str(json.loads((lake / KEY_RECORD).read_text(encoding="utf-8"))["fingerprint"])
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None


def record_key(lake: Path, key: bytes) -> None:
    lake.mkdir(parents=True, exist_ok=True)
    record = {
        "fingerprint": fingerprint(key),
        "demo_key": key == DEMO_KEY.encode("utf-8"),
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    tmp = lake / f".{KEY_RECORD}.tmp"
    tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    os.replace(tmp, lake / KEY_RECORD)


def check_key(lake: Path, key: bytes) -> None:
    """Record the key's fingerprint in a lake that has none; refuse a different key."""
    recorded = recorded_fingerprint(lake)
    if recorded is None:
        record_key(lake, key)
        return
    now = fingerprint(key)
    if now != recorded:
        raise KeyMismatch(
            f"the lake {lake} was pseudonymised with another key (fingerprint {recorded}) than "
            f"{ENV_KEY} gives now (fingerprint {now}). Loading files under both would split every "
            f"person in two, so nothing was ingested. Set {ENV_KEY} to the key the lake was built "
            "with; or, to change the key on purpose, rotate it (python -m extract.rotate / "
            "stralebruk rotate-key), which re-derives every pseudonym from the inbox."
        )

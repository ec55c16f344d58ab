"""A deliberate change of pseudonym key: every pseudonym is derived anew from the inbox.

`rotate_key(inbox, lake)` runs under the lake lock: it checks that the inbox still holds every file
the ledger records (else nothing changes: the pseudonyms of a file no longer there cannot be
derived again), ingests the whole inbox under the key configured now (`STRALEBRUK_PSEUDONYM_KEY`)
into a new lake beside the old one, then puts the new lake in the old one's place and deletes the
old (its pseudonyms are under the old key). The result is the lake of one clean run under the new
key, with the new key's fingerprint. `python -m extract.rotate --inbox DIR --lake DIR`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from extract import lake as lk
from extract.inbox import Scan
from extract.keys import fingerprint, recorded_fingerprint
from extract.pseudonym import pseudonym_key


class RotationRefused(RuntimeError):
    """The inbox no longer holds every file the lake was built from."""


@dataclass
class RotationSummary:
    old_fingerprint: str | None
    new_fingerprint: str
    loaded: int
    rejected: int
    duplicates: int


def _missing_files(inbox: Path, lake: Path) -> list[str]:
    """Paths of ledger files whose bytes are in the inbox under no path."""
    ledger = lk.read_ledger(lake).select(["file_id", "path"]).to_pylist()
    present = {t.file_id for t, _, _ in Scan(inbox, lk.SeenFiles(lk.LEDGER_SCHEMA.empty_table()))}
    return sorted({r["path"] for r in ledger if r["file_id"] not in present})


def rotate_key(inbox: Path, lake: Path, *, workers: int | None = None) -> RotationSummary:
    from extract.ingest import ingest

    inbox, lake = Path(inbox), Path(lake)
    key = pseudonym_key()
    with lk.lake_lock(lake):
        old = recorded_fingerprint(lake)
        missing = _missing_files(inbox, lake)
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise RotationRefused(
                f"{len(missing)} files of the lake are no longer in the inbox {inbox} ({shown}): their "
                "pseudonyms cannot be derived again, so the key was not rotated"
            )
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        fresh = lake.with_name(f".{lake.name}.rotating-{stamp}")
        retired = lake.with_name(f".{lake.name}.retired-{stamp}")
        try:
            summary = ingest(inbox, fresh, workers=workers)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        os.replace(lake, retired)
        os.replace(fresh, lake)
    shutil.rmtree(retired, ignore_errors=True)
    return RotationSummary(old, fingerprint(key), summary.loaded, summary.rejected, summary.duplicates)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m extract.rotate",
        description="Rotate the pseudonym key: set STRALEBRUK_PSEUDONYM_KEY to the new key, then run this; "
        "every pseudonym is derived again from the inbox (which must still hold every file of the lake).",
    )
    p.add_argument("--inbox", type=Path, required=True)
    p.add_argument("--lake", type=Path, required=True)
    p.add_argument("--workers", type=int, default=None)
    args = p.parse_args(argv)
    try:
        s = rotate_key(args.inbox, args.lake, workers=args.workers)
    except RotationRefused as e:
        print(f"refused: {e}")
        return 1
    print(
        f"key rotated (fingerprint {s.old_fingerprint or 'none'} -> {s.new_fingerprint}): "
        f"{s.loaded} loaded, {s.rejected} rejected, {s.duplicates} duplicate"
    )
    return 0


if __name__ == "__main__":
    from extract.rotate import main as _main  # workers pickle `extract.*`, not `__main__.*`

    raise SystemExit(_main())

"""Delivery folders for DSA and the regional health authorities, from the served warehouse: tables,
spreadsheet, manifest, diff and report (package.py; what changed: diff.py), the small-cell checks
(checks.py). Pure Python below orchestration: no Dagster, no settings; callers pass every path.

Here, in plain Python that imports nothing heavy: the record of which served warehouse file the
deliveries of a kind were last checked against (`record_check`, `delivery_checked`), which a
`stralebruk run` with nothing new reads before doing nothing. The packaging (DuckDB, pyarrow,
matplotlib) is imported when one of its names is first used.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deliver.package import Delivery, DeliveryError, deliver, grain_keys, make_delivery

__all__ = [
    "CHECKED_RECORD",
    "Delivery",
    "DeliveryError",
    "deliver",
    "delivery_checked",
    "grain_keys",
    "make_delivery",
    "record_check",
    "warehouse_stamp",
]
_PACKAGE = {"Delivery", "DeliveryError", "deliver", "grain_keys", "make_delivery"}
# <deliveries>/.checked-<kind>.json: the served warehouse the kind's deliveries were last checked against.
CHECKED_RECORD = ".checked-{kind}.json"


def __getattr__(name: str) -> Any:
    if name in _PACKAGE:
        from deliver import package

        return getattr(package, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def warehouse_stamp(warehouse: Path) -> dict[str, int]:
    """Which served warehouse file this is, cheaply: its modification time (ns) and size. A publish
    replaces the file (a rename), so a new one has another stamp; a copy that keeps the times
    (`shutil.copy2`, `copytree`) keeps it."""
    st = warehouse.stat()
    return {"mtime_ns": st.st_mtime_ns, "size": st.st_size}


def record_check(deliveries: Path, delivery: Delivery) -> Path:
    """Record that the deliveries of `delivery.kind` were checked against the served warehouse file
    `delivery` read, whether that wrote a folder or found the content unchanged:
    `<deliveries>/.checked-<kind>.json`, replaced atomically. The pipeline's delivery assets call
    it once their delivery is done, so a run killed before then leaves the previous record."""
    path = deliveries / CHECKED_RECORD.format(kind=delivery.kind)
    record = {
        "kind": delivery.kind,
        "period": delivery.period,
        "warehouse": delivery.warehouse,
        "folder": delivery.folder.name,
        "new": delivery.new,
        "content_sha256": delivery.content_sha256,
        "checked_at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
    }
    # `.tmp-*-<pid>`: what deliver.package.remove_leftovers removes when its process is gone
    tmp = deliveries / f".tmp-checked-{delivery.kind}-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def delivery_checked(deliveries: Path, kind: str, warehouse: Path) -> bool:
    """Whether the last recorded check of the `kind` deliveries (`record_check`) was against the
    served `warehouse` file as it is now; False without a record, with a damaged one, or without
    the warehouse."""
    try:
        record = json.loads((deliveries / CHECKED_RECORD.format(kind=kind)).read_text(encoding="utf-8"))
        return bool(record["warehouse"] == warehouse_stamp(warehouse))
    except (OSError, ValueError, KeyError, TypeError):
        return False

"""When a build may be incremental, and what it records for the next one.

The staging models append only the lake parts they have not read yet (macro new_lake_parts): the
lake is append-only, so that is exact as long as the lake only grew and the dbt project did not
change. Anything else (first build, build file discarded after a crash, `stralebruk doctor`
quarantining parts, `stralebruk rotate-key` rewriting them, another lake folder, a changed model,
macro or seed) makes the next build a full refresh. An incremental build leaves out dbt's unit tests:
they test the code, which a full refresh (and the test suite) covers whenever it changes. Within an
incremental build the imaging tables and the heavy per-year delivery tables recompute only the years
whose inputs changed (dbt_project/macros/build_partitions.sql decides which, from the fingerprints each
build records).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from extract.paths import DBT_PROJECT_DIR
from orchestration.settings import Paths

STATE = "build_state.json"
# what the build's result depends on besides the lake (dbt_project/target and logs are outputs)
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", "snapshots")


def project_fingerprint(project_dir: Path | None = None) -> str:
    """SHA-256 over the files of the dbt project that decide what a build makes."""
    project_dir = project_dir or DBT_PROJECT_DIR
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = project_dir / part
        files = sorted(root.rglob("*")) if root.is_dir() else [root] if root.is_file() else []
        for path in files:
            if path.is_file():
                digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def lake_parts(lake: Path) -> list[str]:
    """Every data part of the message tables, relative to the lake (ledger and findings are small
    and read whole by their staging views)."""
    return sorted(
        str(p.relative_to(lake)) for p in lake.glob("*/*/*.parquet") if not p.parts[-3].startswith("_")
    )


def _state_path(paths: Paths) -> Path:
    return paths.build_warehouse.parent / STATE


def full_refresh_reasons(paths: Paths) -> list[str]:
    """Why the next build must be a full refresh (empty: an incremental build is exact)."""
    if not paths.build_warehouse.exists():
        return ["no build warehouse yet"]
    try:
        state = json.loads(_state_path(paths).read_text())
    except (OSError, ValueError):
        return ["no record of the last build"]
    reasons = []
    if state.get("lake") != str(paths.lake.resolve()):
        reasons.append("the lake folder changed")
    if state.get("project") != project_fingerprint():
        reasons.append("the dbt project changed since the last build")
    missing = set(state.get("lake_parts", [])) - set(lake_parts(paths.lake))
    if missing:
        reasons.append(f"{len(missing)} lake parts were removed or rewritten (doctor, rotate-key)")
    return reasons


def forget_build(paths: Paths) -> None:
    """Before dbt writes: a build that does not finish leaves no record, so the next one is full."""
    _state_path(paths).unlink(missing_ok=True)


def record_build(paths: Paths, parts: list[str]) -> None:
    """After a successful build: the lake parts it read (listed before it started) and the project."""
    state = {"lake": str(paths.lake.resolve()), "project": project_fingerprint(), "lake_parts": parts}
    tmp = _state_path(paths).with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, _state_path(paths))


def dbt_build_args(paths: Paths, full_refresh: bool) -> tuple[list[str], list[str]]:
    """The `dbt build` arguments and the reasons for a full refresh (empty when incremental)."""
    reasons = (["asked for (--full-refresh)"] if full_refresh else []) + full_refresh_reasons(paths)
    if reasons:
        return ["build", "--full-refresh"], reasons
    return ["build", "--exclude-resource-type", "unit_test"], []

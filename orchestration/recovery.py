"""What a crashed run leaves behind, found and cleared at the next start.

`stralebruk run` tags its Dagster run with its pid and the pid's start time. A run the instance
still counts as running (STARTED and the like) whose process is gone died without a word
(`kill -9`, the OOM killer, a full disk, a power cut). `recover` then, for each such run:

- kills what is left of its processes (dbt, the ingest workers: `lifetime.kill_marked`);
- marks the run failed and frees its slots in the `lake` and `warehouse` pools, which would
  otherwise stay claimed and make every later run wait forever;
- discards the build file if dbt was writing it (`BUILD_MARKER`): the next build makes it anew;

and, whatever died, removes the temporary files of processes that no longer run: the served
file's `.warehouse.duckdb.<pid>.tmp` and the deliveries' `.tmp-*-<pid>` folders. Runs of other
hosts and of the UI (no pid tag) are left to their owner; `describe_holders` says who holds a pool
when a run has to wait.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from deliver.package import remove_leftovers as remove_delivery_leftovers
from orchestration.lifetime import alive, kill_marked, start_time
from orchestration.publish import remove_leftovers as remove_publish_leftovers
from orchestration.settings import Paths

if TYPE_CHECKING:
    import dagster as dg

PID_TAG = "stralebruk/pid"
PID_START_TAG = "stralebruk/pid_start"
HOST_TAG = "stralebruk/host"
# Written beside the build file while dbt writes it, removed when dbt is done.
BUILD_MARKER = ".dbt-writing.json"


def run_tags() -> dict[str, str]:
    """The tags that let a later run tell whether this process still runs."""
    return {
        PID_TAG: str(os.getpid()),
        PID_START_TAG: str(start_time(os.getpid()) or ""),
        HOST_TAG: socket.gethostname(),
    }


def owner_alive(tags: dict[str, str]) -> bool | None:
    """Whether the process a run's (or marker's) tags name still runs; None when they name none
    or another host (then nobody here can tell)."""
    if PID_TAG not in tags or tags.get(HOST_TAG) != socket.gethostname():
        return None
    started = tags.get(PID_START_TAG)
    return alive(int(tags[PID_TAG]), int(started) if started else None)


@dataclass
class Recovered:
    runs: list[str]
    lines: list[str]


def _build_marker(paths: Paths) -> Path:
    return paths.build_warehouse.parent / BUILD_MARKER


def mark_build_started(paths: Paths, run_id: str) -> None:
    marker = _build_marker(paths)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"run_id": run_id, **run_tags()}))


def mark_build_done(paths: Paths) -> None:
    _build_marker(paths).unlink(missing_ok=True)


def discard_interrupted_build(paths: Paths) -> str | None:
    """Delete the build file when a dbt whose process is gone was writing it; says what it did."""
    marker = _build_marker(paths)
    try:
        owner = json.loads(marker.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        owner = {}
    if owner_alive(owner):
        return None
    if owner.get("run_id"):
        kill_marked(str(owner["run_id"]))  # an orphaned dbt still writing it
    build = paths.build_warehouse
    for f in (build, Path(f"{build}.wal")):
        f.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    return f"discarded {build}: dbt was writing it when run {owner.get('run_id', '?')} died (rebuilt now)"


def recover(instance: dg.DagsterInstance, paths: Paths) -> Recovered:
    """Fail the runs whose process is gone, free their pool slots, kill their leftover processes,
    discard a half-written build file and remove dead processes' temporary files."""
    import dagster as dg

    lines: list[str] = []
    dead: list[str] = []
    running = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[
                dg.DagsterRunStatus.STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.CANCELING,
            ]
        )
    )
    for run in running:
        if owner_alive(dict(run.tags)) is not False:
            continue
        dead.append(run.run_id)
        killed = kill_marked(run.run_id)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        pid = run.tags.get(PID_TAG)
        instance.report_run_failed(
            run, f"the process of this run (pid {pid}) is gone: found by a later stralebruk run"
        )
        lines.append(
            f"run {run.run_id[:8]} (pid {pid}) died without finishing: marked failed, its pool slots "
            f"freed" + (f", {len(killed)} leftover processes killed" if killed else "")
        )
    # Slots still claimed by runs that have finished (a crash between the end and the release).
    for run_id in instance.event_log_storage.get_concurrency_run_ids():
        record = instance.get_run_by_id(run_id)
        if record is None or record.is_finished:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
            lines.append(f"freed the pool slots of finished run {run_id[:8]}")
    discarded = discard_interrupted_build(paths)
    if discarded:
        lines.append(discarded)
    removed = remove_publish_leftovers(paths.served_warehouse) + remove_delivery_leftovers(paths.deliveries)
    if removed:
        lines.append("removed leftovers of dead processes: " + ", ".join(str(p) for p in removed))
    return Recovered(dead, lines)


def describe_holders(instance: dg.DagsterInstance, pool: str, waiting_run: str) -> str:
    """Who holds the slots of `pool`: run, step, and whether its process runs."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    holders = []
    for slot in info.claimed_slots:
        if slot.run_id == waiting_run:
            continue
        run = instance.get_run_by_id(slot.run_id)
        tags = dict(run.tags) if run else {}
        state = {True: "live", False: "dead", None: "not started by stralebruk run here"}[owner_alive(tags)]
        who = f"pid {tags[PID_TAG]}, " if PID_TAG in tags else ""
        holders.append(f"run {slot.run_id[:8]} step {slot.step_key} ({who}{state})")
    return ", ".join(holders) or "a slot not yet released"

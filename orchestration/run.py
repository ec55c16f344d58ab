"""`stralebruk run`: the whole asset graph in-process, with one line per step and a final summary."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time
import uuid
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from extract import lake as lk
from orchestration.checks import ledger_statuses
from orchestration.instance import dagster_home
from orchestration.lifetime import TOKEN_VARIABLE, start_watchdog
from orchestration.settings import PROJECT_ROOT, Paths

if TYPE_CHECKING:
    from collections.abc import Callable

QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@contextlib.contextmanager
def _environment(values: dict[str, str]):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
MAX_ERROR_LINES = 12


def describe_error(error: Any, log: Path | None = None) -> str:
    """A step failure as the cause (the innermost exception, not Dagster's "Error occurred while
    executing op") and where it was raised: the last frame in this project's code, else the last."""
    inner = error
    while inner is not None and (inner.cause or inner.context) is not None:
        inner = inner.cause or inner.context
    lines = [line for line in inner.message.strip().splitlines() if line.strip()]
    text = "\n      ".join(lines[:MAX_ERROR_LINES]) + ("\n      ..." if len(lines) > MAX_ERROR_LINES else "")
    frames = [m for entry in inner.stack for m in _FRAME.finditer(entry)]
    ours = [m for m in frames if _is_ours(m["file"])]
    if ours or frames:
        where = (ours or frames)[-1]
        text += f"\n      at {_short(where['file'])}:{where['line']}"
    if log is not None:
        text += f" (traceback in {log})"
    return text


def _is_ours(file: str) -> bool:
    path = Path(file)
    return path.is_relative_to(PROJECT_ROOT) and ".venv" not in path.relative_to(PROJECT_ROOT).parts


def _short(file: str) -> str:
    return str(Path(file).relative_to(PROJECT_ROOT)) if _is_ours(file) else file


class Progress:
    """Turns the run's event log into readable lines: steps with their time, our own log lines,
    dbt models as they finish, failed checks, steps waiting for a pool and whom for; and keeps
    what the summary needs."""

    def __init__(
        self,
        out: TextIO,
        log: TextIO | None = None,
        log_path: Path | None = None,
        waiting_for: Callable[[str], str] | None = None,
    ):
        self.out = out
        self.log = log
        self.log_path = log_path
        self.waiting_for = waiting_for
        self.t0 = time.monotonic()
        self.step_started: dict[str, float] = {}
        self.materialized: dict[str, dict] = {}  # asset key -> metadata
        self.checks: Counter[str] = Counter()
        self.failed_checks: list[str] = []
        self.failed_steps: list[str] = []
        self.dbt_models = 0
        self.dbt_tests = 0

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:7.1f}s] {text}", file=self.out, flush=True)

    def __call__(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            # Our own assets' log lines (dbt's stream is left out: the models are shown below).
            if entry.level >= logging.INFO and entry.step_key and not entry.step_key.startswith("dbt_"):
                self.say(f"    {entry.step_key}: {entry.user_message}")
            return
        kind = event.event_type_value
        step = event.step_key
        if kind == "ENGINE_EVENT" and step and "pool" in (event.event_specific_data.metadata or {}):
            # "Step blocked by limit for pool ...": another run holds the pool's one slot.
            pool = event.event_specific_data.metadata["pool"].value
            holders = self.waiting_for(pool) if self.waiting_for else "another run"
            self.say(f"… {step} waits for pool {pool!r}, held by {holders}")
        elif kind == "STEP_START":
            self.step_started[step] = time.monotonic()
            self.say(f"▶ {step}")
        elif kind == "STEP_SUCCESS":
            done = f"{step} ({time.monotonic() - self.step_started.get(step, self.t0):.1f}s)"
            if step.startswith("dbt_"):
                done += f": {self.dbt_models} models and seeds built, {self.dbt_tests} tests run"
            self.say(f"✓ {done}")
        elif kind == "STEP_FAILURE":
            self.failed_steps.append(step)
            error = event.step_failure_data.error
            if error is None:
                self.say(f"✗ {step} failed: see the Dagster UI")
                return
            self.say(f"✗ {step} failed: {describe_error(error, self.log_path)}")
            if self.log is not None:
                print(f"\n{step} failed:\n{error.to_string()}", file=self.log, flush=True)
        elif kind == "ASSET_MATERIALIZATION":
            key = event.asset_key.to_user_string()
            metadata = {
                k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()
            }
            self.materialized[key] = metadata
            if step and step.startswith("dbt_"):
                self.dbt_models += 1
                if key.startswith("marts/"):
                    self.say(f"    dbt built {key}")
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            passed = evaluation.passed
            self.dbt_tests += bool(step and step.startswith("dbt_"))
            self.checks["passed" if passed else "failed"] += 1
            if not passed:
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                self.failed_checks.append(f"{name} ({evaluation.severity.value})")
                self.say(f"! check failed: {name}")


def _summary(progress: Progress, paths: Paths, ok: bool, ui_hint: str, out: TextIO) -> None:
    def line(text: str = "") -> None:
        print(text, file=out, flush=True)

    line()
    line(f"{'Done' if ok else 'FAILED'} in {time.monotonic() - progress.t0:.1f}s.")
    statuses = ("loaded", "rejected", "duplicate")
    # The extract step reports each module's files on that module's `message` table only: sum those.
    new: Counter[str] = Counter()
    for key, metadata in progress.materialized.items():
        if key.startswith("npr_") and key.endswith("/message"):
            new.update({s: metadata.get(f"files_{s}", 0) for s in statuses})
    counts = ledger_statuses(paths.lake)
    line("New files this run: " + ", ".join(f"{new[s]} {s}" for s in statuses))
    line(
        "Files in the ledger: "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in statuses)
        + f" (details: {lk.ledger_dir(paths.lake)})"
    )
    rows = progress.materialized.get("served_warehouse", {}).get("rows") or {}
    if rows:
        line(f"Warehouse: {paths.served_warehouse} (schema marts)")
        width = max(len(n) for n in rows)
        for name, n in rows.items():
            line(f"  {name:<{width}} {n:>10,} rows")
    for key in ("dsa_delivery", "rhf_delivery"):
        folder = progress.materialized.get(key, {}).get("path")
        if folder:
            meta = progress.materialized[key]
            state = " (unchanged: no new version)" if meta.get("new_version") is False else ""
            report = Path(folder) / "report.html"
            line(f"Delivery {key.split('_')[0].upper()}{state}: {folder}  (report: {report})")
    line(f"Checks: {progress.checks['passed']} passed, {progress.checks['failed']} failed")
    for name in progress.failed_checks:
        line(f"  failed: {name}")
    for step in progress.failed_steps:
        line(f"  failed step: {step}")
    line(f"Dagster UI on the same data: {ui_hint} → http://127.0.0.1:3000 (Ctrl-C stops it)")


DELIVERY_KINDS = ("dsa", "rhf")


def up_to_date(paths: Paths) -> bool:
    """True when a run would change nothing: no inbox file the ledger has not recorded, the served
    warehouse newer than the build file and the ledger, and the deliveries of each kind checked
    against that served file (the record each delivery asset leaves once its delivery is done,
    whether it wrote a folder or found the content unchanged: a run killed before its deliveries
    were checked is not up to date)."""
    from deliver import delivery_checked  # the check record only: the packaging is not imported
    from extract.inbox import pending_files
    from orchestration.checks import stale_reasons

    if stale_reasons(paths):
        return False
    if not all(delivery_checked(paths.deliveries, kind, paths.served_warehouse) for kind in DELIVERY_KINDS):
        return False
    return not pending_files(paths.inbox, paths.lake)


def run_pipeline(
    inbox: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    *,
    full_refresh: bool = False,
) -> int:
    """Ingest everything new in the inbox, build, publish and deliver; returns an exit code
    (0 when every step succeeded and no error-severity check failed). With nothing new it does
    nothing (in seconds) unless `full_refresh`."""
    paths = Paths.from_env(data_dir)
    ui_hint = (
        "stralebruk ui   (or make ui)"
        if paths.data_dir == Paths.from_env().data_dir
        else f"stralebruk ui --data-dir {paths.data_dir}"
    )
    env = {"STRALEBRUK_DATA_DIR": str(paths.data_dir), **paths.dbt_env()}
    if inbox is not None:
        env["STRALEBRUK_INBOX"] = str(Path(inbox).resolve())
    out = sys.stdout
    with _environment(env):
        if not paths.inbox.is_dir():
            print(f"no inbox at {paths.inbox}: generate one with `stralebruk generate --out {paths.inbox}`")
            return 2
        if not full_refresh and up_to_date(paths):
            print(
                f"Nothing new in {paths.inbox}: the served warehouse {paths.served_warehouse} and the "
                "deliveries are up to date. No build, no delivery (`stralebruk run --full-refresh` "
                "rebuilds anyway)."
            )
            return 0
        warnings.filterwarnings("ignore", module="dagster")
        import dagster as dg

        from orchestration.definitions import defs as load_defs

        run_id = str(uuid.uuid4())
        home = dagster_home(paths)
        log = home / "last_run.log"
        with (
            _environment({TOKEN_VARIABLE: run_id}),
            dg.DagsterInstance.from_config(str(home)) as instance,
            open(log, "w") as log_file,
        ):
            from orchestration.incremental import dbt_build_args
            from orchestration.recovery import describe_holders, recover, run_tags

            progress = Progress(
                out, log_file, log, waiting_for=lambda pool: describe_holders(instance, pool, run_id)
            )
            progress.say(f"data dir {paths.data_dir}, inbox {paths.inbox}")
            # A run that died (kill -9, out of memory) is still "started" and holds its pool slots:
            # fail it, free them, and clear what it left, before this run asks for the pools.
            for line in recover(instance, paths).lines:
                progress.say(f"recovered: {line}")
            _, reasons = dbt_build_args(paths, full_refresh)
            progress.say(
                "build: full refresh (" + "; ".join(reasons) + ")"
                if reasons
                else "build: incremental (staging reads only the new lake parts; no dbt unit tests)"
            )
            job = load_defs().resolve_implicit_global_asset_job_def()
            progress.say(f"full output (dbt's log included): {log}")
            # Kills this run's dbt and ingest workers if this process dies (orchestration/lifetime.py).
            watchdog = start_watchdog(run_id)
            try:
                instance.add_event_listener(run_id, progress)
                # dagster-dbt echoes dbt's own log to stdout: into the log file, so the lines here
                # stay readable.
                with contextlib.redirect_stdout(log_file):
                    result = job.execute_in_process(
                        instance=instance,
                        run_id=run_id,
                        raise_on_error=False,
                        run_config={
                            **QUIET_LOGGERS,
                            "ops": {"dbt_warehouse": {"config": {"full_refresh": full_refresh}}},
                        },
                        tags=run_tags(),
                    )
            finally:
                if watchdog is not None:
                    watchdog.kill()
                    watchdog.wait()
        errors = [c for c in progress.failed_checks if c.endswith("(ERROR)")]
        ok = result.success and not errors
        _summary(progress, paths, ok, ui_hint, out)
        return 0 if ok else 1

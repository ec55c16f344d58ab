"""Issue #15 item 1: `kill -9` of `stralebruk run` during ingest, dbt build, publish and deliver.

One data directory goes through four crashes in a row, each at the next step (the run after a
crash must first heal it, or it waits forever for the pool slot the dead run holds), then a plain
run: it must finish and give what a clean run over the same inbox gives (marts row for row, ledger
statuses). After each kill no process of the run may be left (dbt, ingest workers: looked up in
/proc by a tag in their environment), and what it left (build file mid-write, temporary files
and folders) must be gone after the next start.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from extract import lake as lk

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
RUN_TIMEOUT = 600  # seconds, for a whole run on a busy 2-core machine
TAG = "STRALEBRUK_TEST_TAG"


def _generate(out: Path) -> None:
    subprocess.run(
        [BIN / "stralebruk", "generate", "--out", out, "--scale", "0.002", "--seed", "1", "--quiet"],
        check=True,
        timeout=RUN_TIMEOUT,
    )


@dataclass
class Run:
    """`stralebruk run` as a subprocess, its output collected line by line."""

    proc: subprocess.Popen
    tag: str
    lines: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, data_dir: Path, inbox: Path, **env: str) -> Run:
        tag = str(uuid.uuid4())
        proc = subprocess.Popen(
            [BIN / "stralebruk", "run", "--inbox", inbox, "--data-dir", data_dir],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, TAG: tag, **env},
        )
        run = cls(proc, tag)
        threading.Thread(target=run._read, daemon=True).start()
        return run

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, what: str, condition, timeout: float = RUN_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                time.sleep(0.5)  # the reader may still be collecting the last lines
                if condition():
                    return
                pytest.fail(f"the run ended before {what}:\n{self.output[-4000:]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"no {what} after {timeout}s:\n{self.output[-4000:]}")
            time.sleep(0.05)

    def crash(self) -> None:
        """SIGKILL the run's own process (only it: what it started must die with it)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def finish(self) -> int:
        return self.proc.wait(RUN_TIMEOUT)


def tagged(tag: str) -> dict[int, str]:
    """pid -> command line of every process whose environment carries the test tag."""
    needle = f"{TAG}={tag}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


def assert_nothing_left(run: Run) -> None:
    """No process of the killed run may outlive it for long (the watchdog needs a moment)."""
    deadline = time.monotonic() + 15
    while (left := tagged(run.tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes outlived the killed run: {left}"


def marts_rows(served: Path) -> dict[str, list[tuple]]:
    """Every row of every table in schema marts, sorted."""
    with duckdb.connect(str(served), read_only=True) as con:
        names = [
            n
            for (n,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        return {n: sorted(con.execute(f"select * from marts.{n}").fetchall(), key=repr) for n in names}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        # a parallel sum may differ in the last bit from one build to the next
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def assert_same_marts(served: Path, reference: Path) -> None:
    got, want = marts_rows(served), marts_rows(reference)
    assert sorted(got) == sorted(want)
    for name, rows in want.items():
        assert len(got[name]) == len(rows), name
        # sorted by repr, rows whose floats differ in the last bit could swap places: match greedily
        left = list(got[name])
        for row in rows:
            match = next((r for r in left if all(_same(x, y) for x, y in zip(r, row, strict=True))), None)
            assert match is not None, f"{name}: no row like {row} after the crashes"
            left.remove(match)


def ledger_state(lake: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in lk.read_ledger(lake).select(["path", "status"]).to_pylist():
        out.setdefault(r["path"], []).append(r["status"])
    return {k: sorted(v) for k, v in out.items()}


def leftovers(data_dir: Path) -> list[Path]:
    found = list(data_dir.glob(".warehouse.duckdb.*.tmp*"))
    found += list((data_dir / "deliveries").glob("*/.tmp-*"))
    found += list((data_dir / "build").glob(".dbt-writing*"))
    return found


@dataclass
class Scenario:
    inbox: Path
    data_dir: Path
    killed: list[str] = field(default_factory=list)  # step names, in order

    def start(self, **env: str) -> Run:
        run = Run.start(self.data_dir, self.inbox, **env)
        if self.killed:
            # The run that follows a crash says that it found the dead run and what it cleared.
            run.wait_for("recovery of the killed run", lambda: "recovered: run " in run.output, timeout=180)
        return run


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("crash") / "inbox"
    _generate(out)
    return out


@pytest.fixture(scope="module")
def scenario(inbox, tmp_path_factory) -> Scenario:
    return Scenario(inbox, tmp_path_factory.mktemp("crash") / "data")


@pytest.fixture(scope="module")
def clean(inbox, tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("clean") / "data"
    run = Run.start(data_dir, inbox)
    assert run.finish() == 0, run.output[-4000:]
    return data_dir


def _workers(run: Run) -> dict[int, str]:
    return {p: c for p, c in tagged(run.tag).items() if "multiprocessing" in c}


def test_kill_during_ingest_leaves_no_worker_behind(scenario):
    run = scenario.start()
    run.wait_for("ingest workers", lambda: "▶ extract" in run.output and len(_workers(run)) >= 2)
    assert "✓ extract" not in run.output
    run.crash()
    scenario.killed.append("extract")
    assert_nothing_left(run)


def test_kill_during_dbt_build_leaves_no_dbt_behind(scenario):
    run = scenario.start()
    run.wait_for("dbt writing marts", lambda: "dbt built marts/" in run.output)
    assert any("dbt" in c for c in tagged(run.tag).values())
    run.crash()
    scenario.killed.append("dbt_warehouse")
    assert_nothing_left(run)
    assert (scenario.data_dir / "build" / ".dbt-writing.json").exists()  # the next run discards it


def test_kill_during_publish(scenario, tmp_path):
    marker = tmp_path / "paused"
    run = scenario.start(STRALEBRUK_PAUSE_AT="publish", STRALEBRUK_PAUSE_MARKER=str(marker))
    if scenario.killed and scenario.killed[-1] == "dbt_warehouse":
        run.wait_for("the half-written build discarded", lambda: "discarded" in run.output, timeout=60)
    run.wait_for("publish", marker.exists)
    assert list(scenario.data_dir.glob(".warehouse.duckdb.*.tmp"))
    run.crash()
    scenario.killed.append("served_warehouse")
    assert_nothing_left(run)


def test_kill_during_deliver(scenario, tmp_path):
    marker = tmp_path / "paused"
    run = scenario.start(STRALEBRUK_PAUSE_AT="deliver", STRALEBRUK_PAUSE_MARKER=str(marker))
    run.wait_for("deliver", marker.exists)
    assert list((scenario.data_dir / "deliveries").glob("*/.tmp-*"))
    if scenario.killed and scenario.killed[-1] == "served_warehouse":
        assert "removed leftovers of dead processes" in run.output and ".warehouse.duckdb." in run.output
    run.crash()
    scenario.killed.append("dsa_delivery")
    assert_nothing_left(run)


def test_a_plain_rerun_heals_and_equals_a_clean_run(scenario, clean):
    assert scenario.killed, "run the kill tests first (same module)"
    run = scenario.start()
    code = run.finish()
    assert code == 0, run.output[-4000:]
    if scenario.killed[-1] == "dsa_delivery":
        assert "removed leftovers of dead processes" in run.output and "/.tmp-" in run.output
    assert not leftovers(scenario.data_dir)
    assert not list((scenario.data_dir / "deliveries").glob("*/*.tmp*"))
    assert ledger_state(scenario.data_dir / "lake") == ledger_state(clean / "lake")
    assert_same_marts(scenario.data_dir / "warehouse.duckdb", clean / "warehouse.duckdb")
    with duckdb.connect(str(scenario.data_dir / "warehouse.duckdb"), read_only=True) as con:
        schemas = {
            s
            for (s,) in con.execute("select distinct table_schema from information_schema.tables").fetchall()
        }
    assert schemas == {"marts", "reference"}

"""Processes that must not outlive the run that started them, and telling a live run from a dead one.

Import-light on purpose (no Dagster, no DuckDB): `python -m orchestration.lifetime PID TOKEN` is the
watchdog `stralebruk run` starts beside itself.

- A run's processes are marked by `STRALEBRUK_RUN_TOKEN=<run id>` in their environment: the run sets
  it before it starts anything, so dbt, the ingest fork server and its workers inherit it (and show
  it in `/proc/<pid>/environ`).
- The watchdog asks Linux for a signal when its parent dies (prctl PR_SET_PDEATHSIG): then it kills
  every process with the run's token. So `kill -9` or the OOM killer on `stralebruk run` takes its
  dbt and ingest workers with it, instead of leaving a `dbt build` writing the build file.
- `kill_marked` does the same at the next start for runs found dead (the watchdog may have been
  killed too: `kill -9` of a whole process group).
- A process is identified by pid *and* start time (`/proc/<pid>/stat`), so a reused pid is not
  taken for the old process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

TOKEN_VARIABLE = "STRALEBRUK_RUN_TOKEN"
PR_SET_PDEATHSIG = 1
PROC = Path("/proc")


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); None
    when there is no such process (or no /proc)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has finished: nothing of it runs any more
        return None
    return int(fields[19])


def alive(pid: int, started: int | None = None) -> bool:
    """Whether process `pid` runs (and, with `started`, is the one that started then)."""
    if pid <= 0:
        return False
    now = start_time(pid)
    if now is None:
        if PROC.is_dir():
            return False
        try:  # no /proc (not Linux): signal 0 asks only whether the pid exists
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return started is None or now == started


def marked(token: str) -> list[int]:
    """The processes (other than this one) whose environment carries the run token `token`."""
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    found = []
    for entry in PROC.iterdir() if PROC.is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_marked(token: str, rounds: int = 3) -> list[int]:
    """SIGKILL every process of the run `token` (again, for a few rounds, in case one forked
    meanwhile); returns the pids killed."""
    killed: list[int] = []
    for _ in range(rounds):
        pids = marked(token)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)
    return sorted(set(killed))


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send `sig` to this process when its parent (thread) dies; usable as a
    `preexec_fn` or a pool `initializer`. Returns False where there is no prctl (not Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def start_watchdog(token: str) -> subprocess.Popen | None:
    """Start the watchdog for this process's run `token` (None where it cannot work: not Linux).
    Stop it with `.kill()` when the run ends normally."""
    if not sys.platform.startswith("linux"):
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.lifetime", str(os.getpid()), token],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: a Ctrl-C or a kill of the terminal's process group does not reach it,
        # so it is there to clean up after exactly those.
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if k != TOKEN_VARIABLE},
    )


def _watch(parent: int, token: str) -> None:
    def on_parent_death(_signum: int, _frame: object) -> None:
        kill_marked(token, rounds=5)
        os._exit(0)

    signal.signal(signal.SIGUSR1, on_parent_death)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(signal.SIGUSR1)
    # The parent may have died before the prctl (then no signal comes): look now and then.
    while os.getppid() == parent:
        time.sleep(1)
    on_parent_death(0, None)


if __name__ == "__main__":
    _watch(int(sys.argv[1]), sys.argv[2])

"""`stralebruk ui`: `dagster dev` for this project on a loopback port, on the same data and instance
as `stralebruk run`; Ctrl-C (or SIGTERM) stops it and everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from orchestration.instance import dagster_home
from orchestration.settings import PROJECT_ROOT, Paths

HOST = "127.0.0.1"
SHUTDOWN_SECONDS = 30


def _default_signals() -> None:
    # A shell that starts a job in the background sets SIGINT to ignored, and the child would
    # inherit that: `dagster dev` could then never be stopped with Ctrl-C or a plain kill -INT.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def ui_command(port: int) -> list[str]:
    # No -m: run in PROJECT_ROOT, `dagster dev` takes the target module and the code location name
    # from [tool.dg.project] in pyproject.toml, the name the definitions' component tree expects too
    # (with -m the location is named after the module and every load warns of the mismatch).
    return [sys.executable, "-m", "dagster", "dev", "-h", HOST, "-p", str(port)]


def ui_environment(paths: Paths) -> dict[str, str]:
    """The UI's environment: this data directory's Dagster instance and dbt paths, this venv first."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home(paths)),
        "STRALEBRUK_DATA_DIR": str(paths.data_dir),
        **paths.dbt_env(),
        # The code server and run workers call dbt and python from this environment.
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def start_ui(port: int = 3000, data_dir: str | os.PathLike | None = None) -> int:
    """Run the Dagster UI until interrupted; returns its exit code."""
    paths = Paths.from_env(data_dir)
    print(f"Dagster UI for {paths.data_dir} on http://{HOST}:{port} (Ctrl-C stops it)", flush=True)
    # Its own process group: a terminal's Ctrl-C reaches only us, and we forward exactly one SIGINT
    # (a second one would make dagster dev abandon its graceful shutdown).
    child = subprocess.Popen(
        ui_command(port),
        cwd=PROJECT_ROOT,
        env=ui_environment(paths),
        preexec_fn=_default_signals,
        process_group=0,
    )
    stopping = False

    def forward(_signum: int, _frame: object) -> None:
        nonlocal stopping
        if child.poll() is None and not stopping:
            stopping = True
            child.send_signal(signal.SIGINT)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            code = child.wait()
        except BaseException:
            forward(signal.SIGINT, None)
            raise
    finally:
        if child.poll() is None:
            try:
                child.wait(SHUTDOWN_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)  # the webserver, daemon and code server too
                child.wait()
        for s, handler in previous.items():
            signal.signal(s, handler)
    # A stop we asked for is a clean exit, whatever status dagster dev reports for it.
    return 0 if stopping or code == 0 else code

"""`stralebruk ui` serves the asset graph over GraphQL and stops cleanly on SIGINT by its pid, and
its code location loads without a name-mismatch warning in a clone in any folder."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orchestration.settings import PROJECT_ROOT, Paths
from orchestration.ui import ui_command, ui_environment
from tests.contract import DELIVERY_ASSETS, DELIVERY_MODELS, MARTS

pytestmark = pytest.mark.slow

START_SECONDS = 240
QUERY = "{ assetNodes { assetKey { path } groupName } }"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _asset_nodes(port: int, deadline: float, ui: subprocess.Popen) -> list[dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    while True:
        assert ui.poll() is None, f"the UI exited early with {ui.returncode}"
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body = json.loads(response.read())
            if body.get("data", {}).get("assetNodes"):
                return body["data"]["assetNodes"]
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        assert time.monotonic() < deadline, "the UI did not answer in time"
        time.sleep(2)


def test_ui_serves_the_asset_graph_and_stops_cleanly(tmp_path, dbt_manifest):
    port = _free_port()
    code = f"import sys; from orchestration.ui import start_ui; sys.exit(start_ui({port}, {str(tmp_path)!r}))"
    ui = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        nodes = _asset_nodes(port, time.monotonic() + START_SECONDS, ui)
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        assert {f"marts/{name}" for name in MARTS + DELIVERY_MODELS} | set(DELIVERY_ASSETS) <= keys
        assert {"npr_str/rt_series", "lake/ledger", "served_warehouse"} <= keys
        children = _descendants(ui.pid)
        assert children, "dagster dev should run as a child process"

        ui.send_signal(signal.SIGINT)
        output, _ = ui.communicate(timeout=90)
        assert ui.returncode == 0, output[-3000:]
        assert "does not match the name" not in output  # the code location name (test below)
        deadline = time.monotonic() + 15
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [p for p in children if _alive(p)], "processes left behind after the UI stopped"
        assert (tmp_path / "dagster" / "dagster.yaml").exists()  # the instance lives under the data dir
    finally:
        if ui.poll() is None:
            ui.kill()
            ui.wait()


def test_a_clone_in_any_folder_loads_its_code_location_without_a_name_warning(tmp_path, dbt_manifest):
    """dagster names the location after [tool.dg.project] `code_location_name`, the component tree
    after the same key or else the folder: unset, every load in a clone folder named otherwise than
    the package warned (34 times at `stralebruk ui`'s start)."""
    assert "-m" not in ui_command(3000)[3:]  # the UI takes its target from pyproject.toml, as below
    clone = tmp_path / "a-clone-named-otherwise"
    clone.mkdir()
    for name in ("orchestration", "deliver", "extract", "synth", "dbt_project"):
        (clone / name).symlink_to(PROJECT_ROOT / name)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", clone)
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate"],
        cwd=clone,
        env=ui_environment(Paths.from_env(tmp_path / "data")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert "Validation successful for code location stralebruk." in output
    assert "does not match the name" not in output, output[-3000:]

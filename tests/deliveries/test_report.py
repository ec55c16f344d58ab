"""report.html opened in headless Chromium: it renders its charts, with no script errors."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from deliver import deliver
from orchestration.settings import PROJECT_ROOT
from tests.deliveries.conftest import YEAR
from tests.deliveries.test_package import _serve

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "deliveries"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; installed here when missing and running as root, else the test is skipped."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0:
            pytest.skip(
                "headless Chromium is not installed (/usr/bin/chromium) and installing it needs root: "
                "run `apt-get update && apt-get install -y chromium` as root"
            )
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=1200,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            if proc.returncode != 0:
                pytest.skip(f"could not install chromium ({' '.join(cmd)}): {proc.stderr[-500:]}")
    return CHROMIUM


def _run(chromium: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(chromium), *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("kind", ["dsa", "rhf"])
def test_report_renders_its_charts_in_chromium(chromium, harness, tmp_path, kind):
    data_dir = _serve(harness.db, tmp_path / "data")
    folder = deliver(kind, year=YEAR, data_dir=data_dir, cut="2026-03-31")
    url = (folder / "report.html").as_uri()
    dom = _run(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>" in dom.stdout and "</html>" in dom.stdout
    assert not re.search(r"Uncaught|CONSOLE\(\d+\).*error", dom.stderr, re.IGNORECASE), dom.stderr[-2000:]
    charts = re.findall(r"<svg\b[^>]*class=\"chart\"", dom.stdout)
    if kind == "dsa":
        assert len(charts) >= 3
        assert 'class="facility"' in dom.stdout and 'class="reference"' in dom.stdout
        assert 'class="ci"' in dom.stdout
    else:
        assert len(charts) >= 3
        assert 'class="series"' in dom.stdout
    assert 'class="bar"' in dom.stdout

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = tmp_path / f"report-{kind}.png"
    proc = _run(chromium, tmp_path / "profile-shot", "--window-size=1200,2400", f"--screenshot={shot}", url)
    assert proc.returncode == 0 and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    shutil.copy(shot, ARTIFACTS / shot.name)

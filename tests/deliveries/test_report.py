"""report.html: what a reader sees (every chart with its title, a bar per category, the numbers in
the tables), self-contained and reproducible, and rendered by headless Chromium without errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
from html import unescape
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from deliver import charts
from deliver.report import MAX_DRL_CHARTS
from extract.paths import PROJECT_ROOT
from tests.deliveries.conftest import YEAR
from tests.deliveries.test_package import CUT, _serve, deliver_from

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


def _charts(html: str) -> dict[str, str]:
    """Every inline chart of a page, by its title (the label a screen reader gives it)."""
    found = re.findall(r'<svg class="chart" role="img" aria-label="([^"]*)".*?</svg>', html, re.DOTALL)
    svgs = re.findall(r'<svg class="chart".*?</svg>', html, re.DOTALL)
    assert len(found) == len(svgs), "a chart without its title"
    return {unescape(title): svg for title, svg in zip(found, svgs, strict=True)}


def _texts(svg: str) -> set[str]:
    return {unescape(t) for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", svg)}


def _table_row(html: str, first_cell: str) -> list[str]:
    """The cells of the first table row whose first cell is `first_cell`."""
    row = re.search(rf'<tr><td class="l">{re.escape(first_cell)}</td>(.*?)</tr>', html)
    assert row, f"no table row for {first_cell}"
    return [unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1))]


def test_dsa_report_shows_every_chart_with_its_bars_and_the_numbers(harness, tmp_path):
    folder = deliver_from(harness, _serve(harness.db, tmp_path / "data"), "dsa", year=YEAR, cut=CUT)
    html = (folder / "report.html").read_text()
    manifest = json.loads((folder / "manifest.json").read_text())
    charts = _charts(html)

    completeness = pq.read_table(folder / "dsa_reporting_completeness.parquet")
    institutions = set(completeness.column("institution_orgnr").to_pylist())
    chart = charts["Share of ionising procedures with a dose indicator, by institution"]
    assert len(re.findall(r'id="completeness-bar-\d+"', chart)) == len(institutions) > 1
    assert institutions <= _texts(chart)  # each bar is labelled with its institution

    population = pq.read_table(folder / "dsa_population_dose.parquet").to_pylist()
    modalities = {r["modality"] for r in population if r["breakdown"] == "total" and r["modality"] != "all"}
    chart = charts["Collective effective dose by modality"]
    assert len(re.findall(r'id="population-bar-\d+"', chart)) == len(modalities) > 1
    assert modalities <= _texts(chart)

    drl = pq.read_table(folder / "dsa_drl.parquet").to_pylist()
    strips = {
        t: c for t, c in charts.items() if re.fullmatch(r"\S+ \S+: \d+ facilities, \d+ examinations", t)
    }
    assert len(strips) == min(len(drl), MAX_DRL_CHARTS) > 0
    assert any('id="drl-' in c and "-reference" in c for c in strips.values())  # DSA's value drawn
    assert {"P25", "P50", "P75"} <= set.union(*(_texts(c) for c in strips.values()))

    for name, table in manifest["tables"].items():  # the summary table: rows per delivered table
        assert _table_row(html, name)[0] == str(table["rows"])
    compared = [r for r in drl if r["national_reference_value"] is not None]
    assert (
        compared
        and _table_row(html, compared[0]["reference_examination"])[0] == compared[0]["procedure_code"]
    )
    assert f"Cells resting on {manifest['parameters']['small_cell_max_patients']} or fewer" in html


def test_rhf_report_charts_every_region_and_year(harness, tmp_path):
    folder = deliver_from(harness, _serve(harness.db, tmp_path / "data"), "rhf", year=YEAR, cut=CUT)
    charts = _charts((folder / "report.html").read_text())
    activity = pq.read_table(folder / "rhf_rt_activity.parquet")
    regions = set(activity.column("rhf_name").to_pylist())
    years = {str(y) for y in activity.column("year").to_pylist()}
    for title in ("Radiotherapy patients", "Radiotherapy attendances"):
        chart = charts[f"{title} by RHF of treatment and year"]
        assert len(re.findall(r'id="rt-\w+-bar-\d+-\d+"', chart)) == len(regions) * len(years)
        assert regions | years <= _texts(chart)  # legend and axis
    chart = charts[f"Imaging examinations by month and RHF, {YEAR}"]
    imaging = set(pq.read_table(folder / "rhf_imaging_activity.parquet").column("rhf_name").to_pylist())
    assert len(re.findall(r'id="imaging-line-\d+"', chart)) == len(imaging) > 1


def test_report_is_self_contained_and_its_charts_are_reproducible(harness, tmp_path):
    data_dir = _serve(harness.db, tmp_path / "data")
    first = deliver_from(harness, data_dir, "dsa", year=YEAR, cut=CUT)
    second = deliver_from(harness, data_dir, "dsa", year=YEAR, cut=CUT)
    html = (first / "report.html").read_text()
    for outside in ("<script", "<link", "<img", "src=", "@import", "url(http", 'href="http'):
        assert outside not in html, outside
    assert _charts(html) == _charts((second / "report.html").read_text())  # same data, same bytes
    assert "<metadata>" not in html and "dc:date" not in html


def test_charts_of_no_rows_are_empty_frames_with_their_title():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of an empty legend, a zero-width axis ...
        drawn = [
            charts.horizontal_bars([], "No bars", "share", name="a"),
            charts.grouped_bars([], {}, "No groups", "n", name="b"),
            charts.lines([str(m) for m in range(1, 13)], {}, "No lines", "n", name="c"),
            charts.strip([], "No facilities", "mGy", name="d", markers={"P75": None}),
        ]
    assert list(_charts("".join(drawn))) == ["No bars", "No groups", "No lines", "No facilities"]
    assert not re.search(r'id="\w-(bar|line)-', "".join(drawn))


@pytest.mark.parametrize("kind", ["dsa", "rhf"])
def test_report_renders_its_charts_in_chromium(chromium, harness, tmp_path, kind):
    data_dir = _serve(harness.db, tmp_path / "data")
    folder = deliver_from(harness, data_dir, kind, year=YEAR, cut=CUT)
    url = (folder / "report.html").as_uri()
    dom = _run(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<h1>" in dom.stdout and "</html>" in dom.stdout
    assert not re.search(r"Uncaught|CONSOLE\(\d+\).*error", dom.stderr, re.IGNORECASE), dom.stderr[-2000:]
    # the browser parsed every chart as SVG with its title and drawn bars or lines
    written = _charts((folder / "report.html").read_text())
    rendered = re.findall(r'<svg\b[^>]*class="chart"[^>]*aria-label="([^"]*)"', dom.stdout)
    assert sorted(map(unescape, rendered)) == sorted(written) and len(written) >= 3
    assert re.search(r'<g id="\w+-(bar|line)-', dom.stdout)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = tmp_path / f"report-{kind}.png"
    proc = _run(chromium, tmp_path / "profile-shot", "--window-size=1200,2400", f"--screenshot={shot}", url)
    assert proc.returncode == 0 and shot.stat().st_size > 20_000, proc.stderr[-2000:]
    shutil.copy(shot, ARTIFACTS / shot.name)

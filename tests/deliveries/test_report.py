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
from tests.deliveries.test_time_series import HOT_CODE, HOT_ROOM, LAST, YEARS, five_year_harness

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

    groups = {
        r["breakdown_value"]
        for r in population
        if r["breakdown"] == "examination_group" and r["modality"] == "all"
    }
    chart = charts["Collective effective dose by examination group"]
    assert len(re.findall(r'id="population-group-bar-\d+"', chart)) == len(groups) > 1

    drl = pq.read_table(folder / "dsa_drl.parquet").to_pylist()
    strips = {
        t: c for t, c in charts.items() if re.fullmatch(r"\S+ \S+: \d+ facilities, \d+ examinations", t)
    }
    published = [r for r in drl if r["is_published"]]
    assert len(strips) == min(len(published), MAX_DRL_CHARTS) > 0
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
    activity = pq.read_table(folder / "rhf_rt_activity_trend.parquet")
    regions = set(activity.column("rhf_name").to_pylist())
    years = {str(y) for y in activity.column("year").to_pylist()}
    for what in ("patients", "series", "attendances"):
        chart = charts[f"Radiotherapy {what} per year by RHF of treatment"]
        assert _points_per_line(chart, f"rt-trend-{what}") == [len(years)] * len(regions)
        assert regions | years <= _texts(chart)  # legend and axis
    chart = charts[f"Imaging examinations by month and RHF, {YEAR}"]
    imaging_rows = pq.read_table(folder / "rhf_imaging_activity.parquet").to_pylist()
    imaging = {r["rhf_name"] for r in imaging_rows if r["region_basis"] == "provider" and r["year"] == YEAR}
    assert len(re.findall(r'id="imaging-line-\d+"', chart)) == len(imaging) > 1
    # the residence rows (what a region buys from private institutes) are delivered, not charted twice
    assert any(r["region_basis"] == "residence" for r in imaging_rows)


def test_report_is_self_contained_and_its_charts_are_reproducible(harness, tmp_path):
    data_dir = _serve(harness.db, tmp_path / "data")
    first = deliver_from(harness, data_dir, "dsa", year=YEAR, cut=CUT)
    second = deliver_from(harness, data_dir, "dsa", year=YEAR, cut=CUT)
    html = (first / "report.html").read_text()
    for outside in ("<script", "<link", "<img", "src=", "@import", "url(http", 'href="http'):
        assert outside not in html, outside
    assert _charts(html) == _charts((second / "report.html").read_text())  # same data, same bytes
    assert "<metadata>" not in html and "dc:date" not in html


def _drl_row(code: str, dose_type: str, n_facilities: int, published: bool, **extra) -> dict:
    p = (1.0, 2.0, 3.0) if published else (None, None, None)
    return {
        "year": YEAR,
        "procedure_code": code,
        "dose_type": dose_type,
        "unit": "Gy.cm2",
        "n_facilities": n_facilities,
        "n_examinations": 40 * n_facilities,
        "is_published": published,
        "n_records_excluded_implausible": 0,
        "p25": p[0],
        "p50": p[1],
        "p75": p[2],
        "p75_ci_low": p[2] and p[2] - 0.5,
        "p75_ci_high": p[2] and p[2] + 0.5,
        "reference_examination": None,
        "reference_p75": None,
        "national_reference_value": None,
        **extra,
    }


def _population_row(modality: str, breakdown: str, value: str, dose: float, excluded: int) -> dict:
    return {
        "year": YEAR,
        "modality": modality,
        "breakdown": breakdown,
        "breakdown_value": value,
        "n_examinations": 100,
        "per_1000_inhabitants": 1.0,
        "collective_dose_mansv": dose,
        "per_caput_msv": 0.01,
        "mean_effective_dose_msv": dose * 10,
        "n_records_excluded_implausible": excluded,
    }


def test_dsa_report_lists_drl_rows_with_too_few_facilities_apart_and_counts_implausible_doses():
    """Issue #12 item 3: a dsa_drl row below drl_min_facilities (is_published false, no percentiles) is
    listed under "Too few facilities" (examination, dose type, facilities) and never charted; each
    table says how many dose records it left out as implausible; the population dose is charted by
    examination group."""
    import pyarrow as pa

    from deliver.package import DeliveryTable
    from deliver.report import render_report

    drl = [
        _drl_row("SAA0AD", "DLP", 5, True, n_records_excluded_implausible=3),
        _drl_row("SSC0AA", "DAP", 4, True, national_reference_value=0.45, reference_examination="chest"),
        _drl_row("SFN0CB", "DAP", 2, False, n_records_excluded_implausible=4),
    ]
    population = [
        _population_row("all", "total", "all", 9.0, 11),
        _population_row("CT", "total", "all", 8.0, 10),  # repeats records of 'all': never added
        _population_row("CT", "examination_group", "CT head", 8.0, 10),
        _population_row("all", "examination_group", "CT head", 8.0, 10),
        _population_row("all", "examination_group", "Chest/thorax", 1.0, 1),
    ]
    tables = [
        DeliveryTable("dsa_drl", ["year", "procedure_code", "dose_type"], pa.Table.from_pylist(drl)),
        DeliveryTable(
            "dsa_population_dose",
            ["year", "modality", "breakdown", "breakdown_value"],
            pa.Table.from_pylist(population),
        ),
    ]
    manifest = {
        "kind": "dsa",
        "period": str(YEAR),
        "year": YEAR,
        "cut": "2026-06-01",
        "code_version": "test",
        "dbt_version": "test",
        "input_files": [],
        "provisional": False,
        "parameters": {"small_cell_max_patients": 4},
    }
    diff = {"previous": None, "tables": {t.name: {"added": 0, "removed": 0, "changed": 0} for t in tables}}
    html = render_report(manifest, tables, {}, diff)
    drawn = _charts(html)

    strips = [t for t in drawn if re.fullmatch(r"\S+ \S+: \d+ facilities, \d+ examinations", t)]
    assert sorted(strips) == [
        "SAA0AD DLP: 5 facilities, 200 examinations",
        "SSC0AA DAP: 4 facilities, 160 examinations",
    ]
    assert "drl-SFN0CB" not in html  # no chart, no chart element of the unpublished row
    heading = html.index("<h3>Too few facilities</h3>")
    assert _table_row(html[heading:], "SFN0CB") == ["DAP", "2"]
    assert "SFN0CB" not in html[:heading]  # not in the comparison with DSA's values either
    assert "dsa_drl: 7 dose records were left out of the facility medians as implausible." in html
    assert "dsa_population_dose: 11 dose records were left out of the population dose as implausible." in html

    chart = drawn["Collective effective dose by examination group"]
    assert len(re.findall(r'id="population-group-bar-\d+"', chart)) == 2
    assert {"CT head", "Chest/thorax"} <= _texts(chart)


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


@pytest.fixture(scope="session")
def years_harness(tmp_path_factory):
    """The five hand-built years of test_time_series.py (built once per session)."""
    return five_year_harness(tmp_path_factory)


def _points_per_line(svg: str, name: str) -> list[int]:
    """Per line `name`-line-<i> of a chart, the points (markers) drawn on it."""
    starts = [m.start() for m in re.finditer(rf'<g id="{re.escape(name)}-line-\d+">', svg)]
    ends = [*starts[1:], svg.find('<g id="legend', starts[-1]) if starts else 0]
    return [svg[a:b].count("<use ") for a, b in zip(starts, ends, strict=True)]


def test_dsa_report_charts_the_trends_one_point_per_year(years_harness, tmp_path):
    """Issue 13 item 4, on five hand-built years: the national P75 per year with its interval band and
    DSA's value, the population dose per year by modality, and the follow-up list as a table."""
    folder = deliver_from(
        years_harness, _serve(years_harness.db, tmp_path / "data"), "dsa", year=LAST, cut=CUT
    )
    html = (folder / "report.html").read_text()
    drawn = _charts(html)
    years = {str(y) for y in YEARS}

    chart = drawn["SSC0AA DAP: national P75 by year"]
    assert _points_per_line(chart, "drl-trend-SSC0AA-DAP") == [len(YEARS)]  # one point per year
    assert 'id="drl-trend-SSC0AA-DAP-ci"' in chart and 'id="drl-trend-SSC0AA-DAP-reference"' in chart
    assert years <= _texts(chart)
    trends = [t for t in drawn if t.endswith(": national P75 by year")]
    assert 1 < len(trends) <= MAX_DRL_CHARTS

    chart = drawn["Collective effective dose per year by modality"]
    modalities = {
        r["modality"] for r in pq.read_table(folder / "dsa_population_dose_trend.parquet").to_pylist()
    }
    assert _points_per_line(chart, "population-trend") == [len(YEARS)] * len(modalities)
    assert modalities | years <= _texts(chart)

    heading = html.index(f"<h3>Facilities above DSA&#39;s reference value two years running ({LAST})</h3>")
    row = _table_row(html[heading:], HOT_ROOM)
    assert row[:2] == ["993467049", HOT_CODE] and row[-2:] == [str(len(YEARS) - 1), str(YEARS[1])]


def test_rhf_report_charts_the_trends_one_point_per_year(years_harness, tmp_path):
    """Issue 13 item 4: examinations and radiotherapy per year by RHF (a line per region, a point per
    year), and the delivery year's months beside the year before's."""
    folder = deliver_from(
        years_harness, _serve(years_harness.db, tmp_path / "data"), "rhf", year=LAST, cut=CUT
    )
    drawn = _charts((folder / "report.html").read_text())
    years = {str(y) for y in YEARS}

    imaging = pq.read_table(folder / "rhf_imaging_activity_trend.parquet").to_pylist()
    regions = {r["rhf_name"] for r in imaging if r["region_basis"] == "provider"}
    chart = drawn["Imaging examinations per year by RHF"]
    assert _points_per_line(chart, "imaging-trend") == [len(YEARS)] * len(regions)
    assert regions | years <= _texts(chart)
    chart = drawn[f"Imaging examinations by month, {LAST} beside {LAST - 1}"]
    assert _points_per_line(chart, "imaging-months") == [12, 12]

    rt = pq.read_table(folder / "rhf_rt_activity_trend.parquet").to_pylist()
    for what in ("patients", "series", "attendances"):
        chart = drawn[f"Radiotherapy {what} per year by RHF of treatment"]
        points = _points_per_line(chart, f"rt-trend-{what}")
        assert len(points) == len({r["rhf_name"] for r in rt}) and max(points) == len(YEARS)
        assert years <= _texts(chart)
    assert "Radiotherapy patients by RHF of treatment and year" not in drawn  # the bars gave way to lines

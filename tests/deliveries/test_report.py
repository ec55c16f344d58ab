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


def _render_dsa(tables: list) -> str:
    """report.html of a DSA delivery of `tables` (DeliveryTable) for YEAR, first version."""
    from deliver.report import render_report

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
    return render_report(manifest, tables, {}, diff)


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
    html = _render_dsa(tables)
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


# --- radiotherapy quality (issue 14 item 4; deliver/rt_quality.py) ----------------------------------


def _fractionation_row(year: int, hf: str, indicator: str, n: int | None, meeting: int | None) -> dict:
    share = meeting / n if n is not None and meeting is not None else None
    return {
        "year": year,
        "rhf_name": "Helse Vest",
        "hf_name": hf,
        "indicator": indicator,
        "definition": f"definition of {indicator}",
        "n_series": n,
        "n_series_meeting": meeting,
        "share": share,
        "is_provisional": year == YEAR,
    }


def _rhf_report(tables: list, all_years: dict | None = None) -> str:
    from deliver.report import render_report

    manifest = {
        "kind": "rhf",
        "period": str(YEAR),
        "year": YEAR,
        "cut": "2026-03-01",
        "code_version": "test",
        "dbt_version": "test",
        "input_files": [],
        "provisional": True,
        "parameters": {"small_cell_max_patients": 4, "trend_years": 3},
    }
    diff = {"previous": None, "tables": {t.name: {"added": 0, "removed": 0, "changed": 0} for t in tables}}
    return render_report(manifest, tables, all_years or {}, diff)


def test_rhf_report_draws_the_fractionation_indicators_by_hospital_and_over_the_years():
    """A bar per hospital with a published share (a blanked share is no bar), the year's national figure
    of the published cells, and a line per indicator over the trend years (a point per year with a
    published share; the provisional year starred); an indicator with no published share is named."""
    import pyarrow as pa

    from deliver.package import DeliveryTable
    from deliver.rt_quality import label

    single, ultra = "bone_metastases_single_fraction", "breast_ultra_hypofractionated"
    rows = [
        _fractionation_row(YEAR, "Helse Bergen HF", single, 40, 30),
        _fractionation_row(YEAR, "Helse Stavanger HF", single, 20, 6),
        _fractionation_row(YEAR, "Helse Førde HF", single, 8, None),  # blanked: no bar, not in the sums
        _fractionation_row(YEAR, "Helse Bergen HF", ultra, 25, None),
        _fractionation_row(YEAR - 1, "Helse Bergen HF", single, 30, 15),
        _fractionation_row(YEAR - 2, "Helse Bergen HF", ultra, 20, 5),
    ]
    grain = ["year", "rhf_name", "hf_name", "indicator"]
    this_year = pa.Table.from_pylist([r for r in rows if r["year"] == YEAR])
    table = DeliveryTable("rhf_rt_fractionation", grain, this_year, years=(YEAR - 2, YEAR))
    html = _rhf_report([table], {"rhf_rt_fractionation": pa.Table.from_pylist(rows)})
    drawn = _charts(html)

    chart = drawn[f"{label(single)}, {YEAR}: share by hospital"]
    assert len(re.findall(r'id="rt-fractionation-bone-metastases-single-fraction-bar-\d+"', chart)) == 2
    assert {"Helse Bergen HF", "Helse Stavanger HF", "75 %: 30 of 40"} <= _texts(chart)
    assert "Helse Førde HF" not in _texts(chart)
    assert f"{label(ultra)}, {YEAR}: share by hospital" not in drawn
    assert f"No hospital&#39;s share could be published in {YEAR} (small cells): {label(ultra)}." in html

    heading = html.index(f"<h3>Fractionation indicators, {YEAR}</h3>")
    # the published cells: (30 + 6) / (40 + 20) = 0.6 over two hospitals
    assert _table_row(html[heading:], label(single))[:4] == ["2", "60", "36", "0.6"]

    chart = drawn["Fractionation indicators per year (share of the published cells)"]
    # bone metastases: 2024 and 2025 published; breast ultra: 2023 only
    assert _points_per_line(chart, "rt-fractionation-trend") == [2, 1]
    assert {str(YEAR - 2), str(YEAR - 1), f"{YEAR}*", label(single), label(ultra)} <= _texts(chart)


def test_rhf_report_draws_eqd2_by_hospital_and_patients_per_1000_inhabitants():
    """EQD2: a chart per diagnosis group and intent with a published median, a bar per hospital (its
    quartiles and series beside it, or 'n blanked'); rates: a bar per region and age group (grouped),
    and a bar per region over all ages with the country first."""
    import pyarrow as pa

    from deliver.package import DeliveryTable

    def eqd2(hf: str, group: str, intent: str, n: int | None, median: float | None) -> dict:
        return {
            "year": YEAR,
            "rhf_name": "Helse Vest",
            "hf_name": hf,
            "diagnosis_group": group,
            "intent": intent,
            "n_series": n,
            "median_eqd2_gy": median,
            "p25_eqd2_gy": median and median - 10,
            "p75_eqd2_gy": median and median + 10,
        }

    def rate(region: str, age: str, n: int | None, population: int) -> dict:
        return {
            "year": YEAR,
            "residence_rhf_name": region,
            "age_group": age,
            "n_patients": n,
            "population": population,
            "per_1000_inhabitants": None if n is None else 1000 * n / population,
        }

    doses = [
        eqd2("Helse Bergen HF", "bone metastases", "2", 40, 22.25),
        eqd2("Helse Stavanger HF", "bone metastases", "2", None, 12.0),  # count blanked, median kept
        eqd2("Helse Bergen HF", "breast", "1", 30, 42.29),
        eqd2("Helse Førde HF", "breast", "1", 3, None),  # median blanked: no bar
    ]
    rates = [
        rate("Helse Vest", "60-69", 20, 100_000),
        rate("Helse Vest", "70-79", None, 80_000),
        rate("Helse Nord", "60-69", 10, 50_000),
        rate("Helse Nord", "70-79", 8, 40_000),
        rate("Helse Vest", "all", 50, 1_000_000),
        rate("Helse Nord", "all", 25, 500_000),
        rate("all", "all", 75, 1_500_000),
    ]
    tables = [
        DeliveryTable(
            "rhf_rt_eqd2",
            ["year", "rhf_name", "hf_name", "diagnosis_group", "intent"],
            pa.Table.from_pylist(doses),
        ),
        DeliveryTable(
            "rhf_rt_patient_rates", ["year", "residence_rhf_name", "age_group"], pa.Table.from_pylist(rates)
        ),
    ]
    drawn = _charts(_rhf_report(tables))

    chart = drawn[f"Median EQD2, bone metastases (palliative), {YEAR}: by hospital"]
    assert len(re.findall(r'id="rt-eqd2-bone-metastases-2-bar-\d+"', chart)) == 2
    assert {
        "Helse Bergen HF",
        "P25–P75 12.2–32.2 Gy; 40 series",
        "P25–P75 2–22 Gy; n blanked series",
    } <= _texts(chart)
    chart = drawn[f"Median EQD2, breast (curative), {YEAR}: by hospital"]
    assert len(re.findall(r'id="rt-eqd2-breast-1-bar-\d+"', chart)) == 1

    chart = drawn[f"Radiotherapy patients per 1,000 inhabitants by age group and region of residence, {YEAR}"]
    assert len(re.findall(r'id="rt-rates-age-bar-\d+-\d+"', chart)) == 2 * 2  # age groups x regions
    assert {"60-69", "70-79", "Helse Vest", "Helse Nord"} <= _texts(chart)
    chart = drawn[f"Radiotherapy patients per 1,000 inhabitants by region of residence, {YEAR}"]
    assert len(re.findall(r'id="rt-rates-region-bar-\d+"', chart)) == 3
    assert {"all regions", "75 of 1 500 000 inhabitants"} <= _texts(chart)


def test_rhf_delivery_has_the_radiotherapy_quality_tables_and_sections(harness, tmp_path):
    """The three tables are delivered (every rhf_* table is) and report.html has their sections; the
    rates chart draws every published rate of the delivery year."""
    folder = deliver_from(harness, _serve(harness.db, tmp_path / "data"), "rhf", year=YEAR, cut=CUT)
    html = (folder / "report.html").read_text()
    for table in ("rhf_rt_fractionation", "rhf_rt_eqd2", "rhf_rt_patient_rates"):
        assert (folder / f"{table}.parquet").is_file() and (folder / f"{table}.csv").is_file(), table
    for title in (
        "Radiotherapy fractionation",
        "Radiotherapy dose (EQD2)",
        "Radiotherapy patients per 1,000 inhabitants",
    ):
        assert f"<h2>{title}</h2>" in html, title
    rates = pq.read_table(folder / "rhf_rt_patient_rates.parquet").to_pylist()
    published = [
        r
        for r in rates
        if r["year"] == YEAR
        and "all" not in (r["age_group"], r["residence_rhf_name"])
        and r["per_1000_inhabitants"] is not None
    ]
    chart = _charts(html)[
        f"Radiotherapy patients per 1,000 inhabitants by age group and region of residence, {YEAR}"
    ]
    # each bar a rectangle M x0 y0 L x1 y0 L x1 y1 L x0 y1: drawn when y1 differs from y0
    bars = re.findall(
        r'<g id="rt-rates-age-bar-\d+-\d+">\s*<path d="M [\d.]+ ([\d.]+)'
        r"\s+L [\d.]+ [\d.]+\s+L [\d.]+ ([\d.]+)",
        chart,
    )
    assert bars and published
    assert sum(1 for bottom, top in bars if float(bottom) != float(top)) == len(published)


# --- image-guided procedures and children (issue 14 items 2, 3, 5; deliver/dsa_quality.py) -----------


def test_dsa_report_charts_zxm_coding_and_double_reporting_by_institution(harness, tmp_path):
    """A bar per institution of dsa_zxm_completeness (its share with a ZXM code over the year, the
    counts beside it) and of dsa_double_reporting (its share reported twice), and the national ZXM
    figures per code group as a table."""
    from deliver.dsa_quality import DOUBLE_TITLE, PAEDIATRIC_TITLE, ZXM_TITLE

    folder = deliver_from(harness, _serve(harness.db, tmp_path / "data"), "dsa", year=YEAR, cut=CUT)
    html = (folder / "report.html").read_text()
    drawn = _charts(html)

    zxm = pq.read_table(folder / "dsa_zxm_completeness.parquet").to_pylist()
    totals: dict[str, list[int]] = {}
    for r in zxm:
        t = totals.setdefault(r["institution_orgnr"], [0, 0])
        t[0] += r["n_procedures"]
        t[1] += r["n_with_zxm"]
    chart = drawn[ZXM_TITLE]
    assert len(re.findall(r'id="zxm-bar-\d+"', chart)) == len(totals) > 1
    texts = _texts(chart)
    assert set(totals) <= texts
    assert {f"{w}/{n}; {n - w} without a ZXM code" for n, w in totals.values()} <= texts
    for group in {r["code_group"] for r in zxm}:
        row = _table_row(html, group)
        assert row[0] == str(sum(r["n_procedures"] for r in zxm if r["code_group"] == group))

    double = pq.read_table(folder / "dsa_double_reporting.parquet").to_pylist()
    chart = drawn[DOUBLE_TITLE]
    with_procedures = [r for r in double if r["n_procedures"]]
    assert len(re.findall(r'id="double-bar-\d+"', chart)) == len(with_procedures) > 1
    assert {
        f"{r['n_double_reported']} of {r['n_procedures']} "
        f"(raa {r['n_raa_interventions']}, ord {r['n_ord_guided_procedures']})"
        for r in with_procedures
    } <= _texts(chart)
    assert sum(r["n_double_reported"] for r in double) > 0

    # the hand-built year has children, but no facility with the minimum sample of them
    paediatric = pq.read_table(folder / "dsa_drl_paediatric.parquet").to_pylist()
    assert paediatric and not any(r["is_published"] for r in paediatric)
    chart = drawn[PAEDIATRIC_TITLE]
    assert {r["age_band"] for r in paediatric} <= _texts(chart)
    assert not [t for t in drawn if t.startswith("Children, ")]  # nothing published, nothing charted


def _paediatric_row(band: str, n_facilities: int, p75: float | None, code: str = "SSC0AA") -> dict:
    published = p75 is not None
    return {
        "year": YEAR,
        "age_band": band,
        "procedure_code": code,
        "dose_type": "DAP",
        "unit": "Gy.cm2",
        "n_facilities": n_facilities,
        "n_facilities_below_minimum": 2,
        "n_examinations": 25 * n_facilities,
        "is_published": published,
        "p25": p75 and p75 / 2,
        "p50": p75 and p75 * 0.75,
        "p75": p75,
        "p75_ci_low": p75 and p75 * 0.9,
        "p75_ci_high": p75 and p75 * 1.1,
    }


def test_dsa_report_charts_paediatric_p75_by_age_band_and_lists_every_band():
    """Issue 14 item 5: per examination and dose type with a published band, P75 by age band (a point
    per published band, its interval shaded); unpublished bands listed as "too few facilities" and
    counted in the chart of rows by band; a code with no published band is not charted."""
    import pyarrow as pa

    from deliver.dsa_quality import PAEDIATRIC_TITLE
    from deliver.package import DeliveryTable

    rows = [
        _paediatric_row("0", 1, None),
        _paediatric_row("1-4", 3, 0.12),
        _paediatric_row("5-9", 4, 0.15),
        _paediatric_row("10-14", 0, None),
        _paediatric_row("5-9", 2, None, code="SAA0AD"),
    ]
    keys = ["year", "age_band", "procedure_code", "dose_type"]
    tables = [DeliveryTable("dsa_drl_paediatric", keys, pa.Table.from_pylist(rows))]
    html = _render_dsa(tables)
    drawn = _charts(html)

    chart = drawn["Children, SSC0AA DAP: P75 by age band"]
    assert _points_per_line(chart, "drl-paediatric-SSC0AA-DAP") == [2]  # 1-4 and 5-9
    assert 'id="drl-paediatric-SSC0AA-DAP-ci"' in chart
    assert {"0", "1-4", "5-9", "10-14"} <= _texts(chart)  # every band on the axis
    assert "Children, SAA0AD DAP: P75 by age band" not in drawn
    bars = drawn[PAEDIATRIC_TITLE]
    assert len(re.findall(r'id="drl-paediatric-bar-\d+-\d+"', bars)) == 2 * 4  # 4 bands x 2 series
    heading = html.index("<h3>Every examination, dose type and age band with a child&#39;s dose</h3>")
    assert _table_row(html[heading:], "SAA0AD") == ["DAP", "5-9", "2", "2", "50", "too few facilities"]


# --- recurrent imaging (issue 14 item 7; deliver/cumulative_dose.py) ----------------------------------


def _cumulative_row(age: str, window: int, n: int | None, share: float | None, p95: float | None) -> dict:
    return {
        "year": YEAR,
        "window_years": window,
        "age_group": age,
        "sex": "all",
        "residence_rhf_name": "all",
        "window_first_year": YEAR - window + 1,
        "years_in_window": min(window, 3),
        "is_complete_window": window <= 3,
        "threshold_msv": 100,
        "n_persons": n,
        "n_persons_100msv_or_more": None if share is None or n is None else round(share * n),
        "share_100msv_or_more": share,
        "median_msv": p95 and p95 / 4,
        "p95_msv": p95,
    }


def test_dsa_report_charts_the_cumulative_dose_share_and_p95_by_age_group_and_window():
    """A bar per age group and window (1 and 5 years) of the share at or above 100 mSv and of the P95,
    ages in order ('unknown' last); the national rows as a table; a 5-year window on fewer years
    named in a note; the contributing examination groups of the longest window as bars."""
    import pyarrow as pa

    from deliver.cumulative_dose import contributors_title, p95_title, share_title
    from deliver.package import DeliveryTable

    rows = [
        _cumulative_row("all", 1, 100, 0.02, 30.0),
        _cumulative_row("all", 5, 150, 0.08, 120.0),
        _cumulative_row("60-69", 1, 40, 0.05, 60.0),
        _cumulative_row("60-69", 5, 60, 0.2, 200.0),
        _cumulative_row("18-29", 1, 20, 0.0, 10.0),
        _cumulative_row("18-29", 5, 30, None, 25.0),  # share blanked: no bar
        _cumulative_row("unknown", 1, 5, 0.0, 2.0),
        {**_cumulative_row("60-69", 1, 7, 0.0, 1.0), "sex": "1"},  # not drawn: one sex
    ]
    contributors = [
        {
            "year": YEAR,
            "window_years": w,
            "examination_group": g,
            "n_persons": n,
            "n_examinations": n and 2 * n,
            "dose_msv": d,
            "threshold_msv": 100,
        }
        for w, g, n, d in [(5, "CT abdomen", 10, 600.0), (5, "CT chest", None, None), (1, "CT head", 6, 90.0)]
    ]
    keys = ["year", "window_years", "age_group", "sex", "residence_rhf_name"]
    tables = [
        DeliveryTable("dsa_cumulative_dose", keys, pa.Table.from_pylist(rows)),
        DeliveryTable(
            "dsa_cumulative_dose_by_group",
            ["year", "window_years", "examination_group"],
            pa.Table.from_pylist(contributors),
        ),
    ]
    html = _render_dsa(tables)
    drawn = _charts(html)

    assert "<h2>Cumulative dose from recurrent imaging</h2>" in html
    chart = drawn[share_title(100, YEAR)]
    # 3 age groups x 2 windows; the blanked share a bar of no height
    assert len(re.findall(r'id="cumulative-share-bar-\d+-\d+"', chart)) == 3 * 2
    texts = _texts(chart)
    assert {"18-29", "60-69", "unknown", "1 year", "5 years"} <= texts
    ticks = [
        t for t in re.findall(r"<text\b[^>]*>([^<]*)</text>", chart) if t in ("18-29", "60-69", "unknown")
    ]
    assert ticks[:3] == ["18-29", "60-69", "unknown"]
    assert "(2 age group x window shares blanked or without a row)" in html  # 18-29 and unknown, 5 years
    assert len(re.findall(r'id="cumulative-p95-bar-\d+-\d+"', drawn[p95_title(YEAR)])) == 3 * 2
    assert "5 years hold fewer years" in html
    heading = html.index("<h3>All persons, by window</h3>")
    assert _table_row(html[heading:], "1 year")[:3] == ["1", "100", "2"]
    assert _table_row(html[heading:], "5 years")[:3] == ["3", "150", "12"]
    chart = drawn[contributors_title(5, YEAR)]
    assert len(re.findall(r'id="cumulative-contributors-bar-\d+"', chart)) == 2
    assert {"CT abdomen", "600 mSv; 20 examinations of 10 persons"} <= _texts(chart)
    assert "CT head" not in _texts(chart)


def test_dsa_delivery_has_the_cumulative_dose_tables_and_section(harness, tmp_path):
    """Every dsa_* table is delivered: the two cumulative-dose tables too, and report.html draws the
    share by age group for the delivery year."""
    from deliver.cumulative_dose import share_title

    folder = deliver_from(harness, _serve(harness.db, tmp_path / "data"), "dsa", year=YEAR, cut=CUT)
    for table in ("dsa_cumulative_dose", "dsa_cumulative_dose_by_group"):
        assert (folder / f"{table}.parquet").is_file() and (folder / f"{table}.csv").is_file(), table
    rows = pq.read_table(folder / "dsa_cumulative_dose.parquet").to_pylist()
    assert rows and {r["year"] for r in rows} == {YEAR} and {r["window_years"] for r in rows} == {1, 5}
    html = (folder / "report.html").read_text()
    assert "<h2>Cumulative dose from recurrent imaging</h2>" in html
    ages = {
        r["age_group"]
        for r in rows
        if r["sex"] == "all" and r["residence_rhf_name"] == "all" and r["age_group"] != "all"
    }
    chart = _charts(html)[share_title(100, YEAR)]
    assert len(re.findall(r'id="cumulative-share-bar-\d+-\d+"', chart)) == 2 * len(ages) > 0

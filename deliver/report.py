"""report.html: a self-contained page (inline CSS and SVG, no script) a reader opens from the folder."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from deliver import svg
from deliver.checks import manifest_suppression_max

if TYPE_CHECKING:
    from deliver.package import DeliveryTable

PREVIEW_ROWS = 15
MAX_DRL_CHARTS = 16

CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: .95rem; }
table { border-collapse: collapse; font-size: .8rem; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; white-space: nowrap; }
.wide { overflow-x: auto; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: .5rem; } .note { color: #555; font-size: .85rem; }
svg.chart { background: #fff; border: 1px solid #eee; }
"""


def _rows(table: pa.Table | None) -> list[dict]:
    return table.to_pylist() if table is not None else []


def _html_table(rows: list[dict], limit: int = PREVIEW_ROWS) -> str:
    if not rows:
        return '<p class="note">no rows</p>'
    cols = list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = []
    for row in rows[:limit]:
        cells = []
        for c in cols:
            v = row[c]
            text = svg.fmt(v) if isinstance(v, float) else escape(str(v) if v is not None else "–")
            cells.append(f'<td class="{"" if isinstance(v, int | float) else "l"}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="note">{len(rows) - limit} more rows in the CSV.</p>' if len(rows) > limit else ""
    return f'<div class="wide"><table><tr>{head}</tr>{"".join(body)}</table></div>{more}'


def _drl_charts(drl: list[dict], facilities: list[dict]) -> str:
    by_key = defaultdict(list)
    for f in facilities:
        by_key[(f["procedure_code"], f["dose_type"])].append(f)
    ranked = sorted(drl, key=lambda r: (r["national_reference_value"] is None, -(r["n_examinations"] or 0)))
    charts = []
    for r in ranked[:MAX_DRL_CHARTS]:
        pts = [
            (f["facility_id"], f["median"], bool(f["meets_minimum"]))
            for f in by_key[(r["procedure_code"], r["dose_type"])]
            if f["median"] is not None
        ]
        title = (
            f"{r['procedure_code']} {r['dose_type']}: {r['n_facilities']} facilities, "
            f"{r['n_examinations']} examinations"
        )
        charts.append(
            svg.strip(
                pts,
                title,
                r.get("unit") or "",
                markers={"P25": r["p25"], "P50": r["p50"], "P75": r["p75"]},
                band=(r["p75_ci_low"], r["p75_ci_high"]),
                reference=r.get("national_reference_value"),
            )
        )
    legend = (
        '<p class="note">Dots: facility typical values (median of standard adults; hollow = below '
        "the minimum sample). Ticks: P25, P50, P75 of qualifying facilities; shaded: bootstrap 95 % "
        "interval for P75; dashed red: DSA's national reference value.</p>"
    )
    return legend + '<div class="charts">' + "".join(charts) + "</div>"


def _drl_comparison(drl: list[dict]) -> str:
    """This delivery's P75 beside DSA's published values, where DSA publishes one for the code."""
    rows = [
        {
            "examination": r["reference_examination"],
            "code": r["procedure_code"],
            "dose type": r["dose_type"],
            "facilities": r["n_facilities"],
            "P75": r["p75"],
            "95 % interval": f"{svg.fmt(r['p75_ci_low'])}–{svg.fmt(r['p75_ci_high'])}",
            "DSA P75": r["reference_p75"],
            "DSA NRV": r["national_reference_value"],
        }
        for r in sorted(drl, key=lambda r: (r["procedure_code"], r["dose_type"]))
        if r.get("national_reference_value") is not None
    ]
    return "<h3>Beside DSA's published values (2018; CT 2014)</h3>" + _html_table(rows, limit=100)


def _completeness_chart(rows: list[dict]) -> str:
    totals = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        t = totals[r["institution_orgnr"] or "unknown"]
        t[0] += r["n_ionising_procedures"] or 0
        t[1] += r["n_with_dose"] or 0
        t[2] += r["n_dose_without_activity"] or 0
    items = sorted(
        (
            (inst, (t[1] / t[0]) if t[0] else 0.0, f"{t[1]}/{t[0]}; {t[2]} dose without activity")
            for inst, t in totals.items()
        ),
        key=lambda i: i[1],
    )
    return svg.horizontal_bars(
        items, "Share of ionising procedures with a dose indicator, by institution", "share"
    )


def _population_chart(rows: list[dict]) -> str:
    totals = [r for r in rows if r["breakdown"] == "total" and r["modality"] != "all"]
    items = sorted(
        (
            (
                r["modality"],
                r["collective_dose_mansv"] or 0.0,
                f"{svg.fmt(r['per_1000_inhabitants'])} per 1 000; "
                f"{svg.fmt(r['per_caput_msv'])} mSv per caput",
            )
            for r in totals
        ),
        key=lambda i: -i[1],
    )
    return svg.horizontal_bars(items, "Collective effective dose by modality", "man·Sv")


def _rt_over_time(rows: list[dict]) -> str:
    years = sorted({r["year"] for r in rows})
    regions = sorted({r["rhf_name"] for r in rows})
    patients = {rhf: [0] * len(years) for rhf in regions}
    attendances = {rhf: [0] * len(years) for rhf in regions}
    for r in rows:
        i = years.index(r["year"])
        patients[r["rhf_name"]][i] += r["n_patients"] or 0
        attendances[r["rhf_name"]][i] += r["n_attendances"] or 0
    labels = [str(y) for y in years]
    return svg.grouped_bars(
        labels, patients, "Radiotherapy patients by RHF of treatment and year", "patients (published cells)"
    ) + svg.grouped_bars(
        labels,
        attendances,
        "Radiotherapy attendances by RHF of treatment and year",
        "attendances (published cells)",
    )


def _imaging_by_month(rows: list[dict], year: int) -> str:
    rows = [r for r in rows if r["year"] == year]
    regions = sorted({r["rhf_name"] for r in rows})
    series = {rhf: [0] * 12 for rhf in regions}
    for r in rows:
        series[r["rhf_name"]][r["month"] - 1] += r["n_examinations"] or 0
    return svg.lines(
        [str(m) for m in range(1, 13)],
        series,
        f"Imaging examinations by month and RHF, {year}",
        "examinations (published cells)",
    )


def write_report(
    path: Path, manifest: dict, tables: list[DeliveryTable], all_years: dict[str, pa.Table], diff: dict
) -> None:
    delivered = {t.name: t for t in tables}
    year = manifest["year"]
    sections = []

    def rows(name: str) -> list[dict]:
        return _rows(delivered[name].data) if name in delivered else []

    if "dsa_drl" in delivered:
        sections.append(
            "<h2>Diagnostic reference levels</h2>"
            + _drl_comparison(rows("dsa_drl"))
            + _drl_charts(rows("dsa_drl"), rows("dsa_facility_dose"))
        )
    if "dsa_reporting_completeness" in delivered:
        sections.append(
            "<h2>Reporting completeness</h2>" + _completeness_chart(rows("dsa_reporting_completeness"))
        )
    if "dsa_population_dose" in delivered:
        sections.append("<h2>Population dose</h2>" + _population_chart(rows("dsa_population_dose")))
    if "rhf_rt_activity" in all_years:
        sections.append(
            "<h2>Radiotherapy activity by region over time</h2>"
            + _rt_over_time(_rows(all_years["rhf_rt_activity"]))
        )
    if "rhf_imaging_activity" in all_years:
        sections.append(
            "<h2>Imaging activity</h2>" + _imaging_by_month(_rows(all_years["rhf_imaging_activity"]), year)
        )

    summary = [
        {
            "table": t.name,
            "rows": t.data.num_rows,
            "datatap": t.datatap,
            "added": diff["tables"][t.name]["added"],
            "removed": diff["tables"][t.name]["removed"],
            "changed": diff["tables"][t.name]["changed"],
        }
        for t in tables
    ]
    previous = diff.get("previous") or "none (first delivery of this kind)"
    details = "".join(
        f'<h2 id="{escape(t.name)}">{escape(t.name)}</h2><p class="note">{escape(t.description)}</p>'
        + _html_table(_rows(t.data))
        for t in tables
    )
    provisional = (
        f"<p><strong>Provisional:</strong> {year} is not complete until the end of April {year + 1}; "
        "figures will change.</p>"
        if manifest.get("provisional")
        else ""
    )
    title = f"{manifest['kind'].upper()} delivery {manifest['period']} (cut {manifest['cut']})"
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(title)}</title>
<style>{CSS}</style></head>
<body>
<h1>{escape(manifest["kind"].upper())} delivery {escape(manifest["period"])}</h1>
<p>Data cut {escape(manifest["cut"])} · code {escape(str(manifest["code_version"]))} ·
dbt {escape(str(manifest["dbt_version"]))} · {len(manifest["input_files"])} input files ·
compared with previous delivery: {escape(str(previous))}</p>
{provisional}
<p class="note">Cells resting on {manifest_suppression_max(manifest)} or fewer unique patients are removed,
with secondary suppression where a total would reveal them; datatap is the share of the counted
patients lost to suppression.
Figures for a year are provisional until the end of April of the next year.</p>
{_html_table(summary, limit=100)}
{"".join(sections)}
{details}
</body></html>
"""
    path.write_text(html, encoding="utf-8")

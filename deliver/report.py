"""report.html: one self-contained page a reader opens from the delivery folder, offline.

The page is the Jinja2 template `templates/report.html.j2` (autoescaped; CSS inlined from
`templates/report.css`, no script); its charts are inline SVG from `deliver.charts`. This module
only shapes the delivered tables into what the template and the charts show.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pyarrow as pa

from deliver import charts
from deliver.checks import manifest_suppression_max
from deliver.cumulative_dose import cumulative_dose_sections
from deliver.dsa_quality import quality_sections
from deliver.formatting import MAX_DRL_CHARTS, fmt, is_published, table_rows
from deliver.rt_quality import rt_quality_sections
from deliver.trends import trend_sections

if TYPE_CHECKING:
    from deliver.package import DeliveryTable

PREVIEW_ROWS = 15
# years a trend chart shows: the delivery year and those before it (dbt var trend_years, recorded in the
# manifest's parameters; this is the fallback for a delivery that does not record it)
DEFAULT_TREND_YEARS = 5


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return fmt(value)
    return "–" if value is None else str(value)


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("deliver", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["cell"] = _cell
_ENV.filters["fmt"] = fmt


def _drl_charts(drl: list[dict], facilities: list[dict]) -> list[str]:
    """A strip chart per published DRL row; rows below drl_min_facilities are listed apart, never drawn."""
    by_key = defaultdict(list)
    for f in facilities:
        by_key[(f["procedure_code"], f["dose_type"])].append(f)
    published = [r for r in drl if is_published(r)]
    ranked = sorted(
        published, key=lambda r: (r["national_reference_value"] is None, -(r["n_examinations"] or 0))
    )
    return [
        charts.strip(
            [
                (f["facility_id"], f["median"], bool(f["meets_minimum"]))
                for f in by_key[(r["procedure_code"], r["dose_type"])]
                if f["median"] is not None
            ],
            f"{r['procedure_code']} {r['dose_type']}: {r['n_facilities']} facilities, "
            f"{r['n_examinations']} examinations",
            r.get("unit") or "",
            name=f"drl-{r['procedure_code']}-{r['dose_type']}",
            markers={"P25": r["p25"], "P50": r["p50"], "P75": r["p75"]},
            band=(r["p75_ci_low"], r["p75_ci_high"]),
            reference=r.get("national_reference_value"),
        )
        for r in ranked[:MAX_DRL_CHARTS]
    ]


def _drl_comparison(drl: list[dict]) -> list[dict]:
    """This delivery's P75 beside DSA's published values, where DSA publishes one for the code."""
    return [
        {
            "examination": r["reference_examination"],
            "code": r["procedure_code"],
            "dose type": r["dose_type"],
            "facilities": r["n_facilities"],
            "P75": r["p75"],
            "95 % interval": f"{fmt(r['p75_ci_low'])}–{fmt(r['p75_ci_high'])}",
            "DSA P75": r["reference_p75"],
            "DSA NRV": r["national_reference_value"],
        }
        for r in sorted(drl, key=lambda r: (r["procedure_code"], r["dose_type"]))
        if r.get("national_reference_value") is not None and is_published(r)
    ]


def _drl_too_few_facilities(drl: list[dict]) -> list[dict]:
    """The DRL rows kept unpublished: fewer facilities with the minimum sample than drl_min_facilities."""
    return [
        {"examination": r["procedure_code"], "dose type": r["dose_type"], "facilities": r["n_facilities"]}
        for r in sorted(drl, key=lambda r: (r["procedure_code"], r["dose_type"]))
        if not is_published(r)
    ]


def _excluded_implausible(table: str, rows: list[dict], what: str) -> str | None:
    """One sentence: how many dose records a table left out as implausible (a quality figure)."""
    if not rows or "n_records_excluded_implausible" not in rows[0]:
        return None
    if table == "dsa_population_dose":  # every breakdown repeats the records: the grand total row
        rows = [r for r in rows if r["modality"] == "all" and r["breakdown"] == "total"]
    n = sum(r["n_records_excluded_implausible"] or 0 for r in rows)
    records = "dose record was" if n == 1 else "dose records were"
    return f"{table}: {fmt(n)} {records} left out of {what} as implausible."


def _completeness_chart(rows: list[dict]) -> str:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
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
    return charts.horizontal_bars(
        items,
        "Share of ionising procedures with a dose indicator, by institution",
        "share",
        name="completeness",
    )


def _population_chart(rows: list[dict]) -> str:
    totals = [r for r in rows if r["breakdown"] == "total" and r["modality"] != "all"]
    items = sorted(
        (
            (
                r["modality"],
                r["collective_dose_mansv"] or 0.0,
                f"{fmt(r['per_1000_inhabitants'])} per 1 000; {fmt(r['per_caput_msv'])} mSv per caput",
            )
            for r in totals
        ),
        key=lambda i: -i[1],
    )
    return charts.horizontal_bars(items, "Collective effective dose by modality", "man·Sv", name="population")


def _population_group_chart(rows: list[dict]) -> str:
    """Collective effective dose by examination group (RP 154), all modalities."""
    groups = [r for r in rows if r["breakdown"] == "examination_group" and r["modality"] == "all"]
    items = sorted(
        (
            (
                r["breakdown_value"],
                r["collective_dose_mansv"] or 0.0,
                f"{fmt(r['n_examinations'])} examinations; "
                f"{fmt(r['mean_effective_dose_msv'])} mSv per examination",
            )
            for r in groups
        ),
        key=lambda i: -i[1],
    )
    return charts.horizontal_bars(
        items, "Collective effective dose by examination group", "man·Sv", name="population-group"
    )


def _rt_over_time(rows: list[dict]) -> list[str]:
    years = sorted({r["year"] for r in rows})
    regions = sorted({r["rhf_name"] for r in rows})
    totals = {col: {rhf: [0] * len(years) for rhf in regions} for col in ("n_patients", "n_attendances")}
    for r in rows:
        for col, series in totals.items():
            series[r["rhf_name"]][years.index(r["year"])] += r[col] or 0
    labels = [str(y) for y in years]
    return [
        charts.grouped_bars(
            labels,
            totals["n_patients"],
            "Radiotherapy patients by RHF of treatment and year",
            "patients (published cells)",
            name="rt-patients",
        ),
        charts.grouped_bars(
            labels,
            totals["n_attendances"],
            "Radiotherapy attendances by RHF of treatment and year",
            "attendances (published cells)",
            name="rt-attendances",
        ),
    ]


def _imaging_by_month(rows: list[dict], year: int) -> str:
    # by the RHF of the reporting institution; the 'residence' rows repeat private institutes' activity
    rows = [r for r in rows if r["year"] == year and r.get("region_basis", "provider") == "provider"]
    series = {rhf: [0] * 12 for rhf in sorted({r["rhf_name"] for r in rows})}
    for r in rows:
        series[r["rhf_name"]][r["month"] - 1] += r["n_examinations"] or 0
    return charts.lines(
        [str(m) for m in range(1, 13)],
        series,
        f"Imaging examinations by month and RHF, {year}",
        "examinations (published cells)",
        name="imaging",
    )


def _sections(
    delivered: dict[str, DeliveryTable],
    all_years: dict[str, pa.Table],
    year: int,
    n_years: int = DEFAULT_TREND_YEARS,
) -> list[dict]:
    """The chart sections the delivered tables allow, in reading order: each subject, then its trend."""

    def rows(name: str) -> list[dict]:
        return table_rows(delivered[name].data) if name in delivered else []

    trends = trend_sections(delivered, all_years, year, n_years)
    sections = []
    if "dsa_drl" in delivered:
        drl = rows("dsa_drl")
        sections.append(
            {
                "title": "Diagnostic reference levels",
                "drl_comparison": _drl_comparison(drl),
                "too_few_facilities": _drl_too_few_facilities(drl),
                "notes": [n for n in [_excluded_implausible("dsa_drl", drl, "the facility medians")] if n],
                "charts": _drl_charts(drl, rows("dsa_facility_dose")),
            }
        )
    if "dsa_drl" in trends:
        sections.append(trends["dsa_drl"])
    if "dsa_reporting_completeness" in delivered:
        chart = _completeness_chart(rows("dsa_reporting_completeness"))
        sections.append({"title": "Reporting completeness", "charts": [chart]})
    sections += quality_sections(delivered)  # image-guided procedures and children (dsa_quality.py)
    if "dsa_population_dose" in delivered:
        population = rows("dsa_population_dose")
        note = _excluded_implausible("dsa_population_dose", population, "the population dose")
        sections.append(
            {
                "title": "Population dose",
                "notes": [note] if note else [],
                "charts": [_population_chart(population), _population_group_chart(population)],
            }
        )
    if "dsa_population_dose" in trends:
        sections.append(trends["dsa_population_dose"])
    sections += cumulative_dose_sections(delivered, year)  # recurrent imaging (cumulative_dose.py)
    if "rhf_rt_activity" in trends:
        sections.append(trends["rhf_rt_activity"])
    elif "rhf_rt_activity" in all_years:  # a warehouse without the time series: rhf_rt_activity's years
        chart_list = _rt_over_time(table_rows(all_years["rhf_rt_activity"]))
        sections.append({"title": "Radiotherapy activity by region over time", "charts": chart_list})
    sections += rt_quality_sections(delivered, all_years, year, n_years)  # rt_quality.py
    if "rhf_imaging_activity" in all_years:
        chart = _imaging_by_month(table_rows(all_years["rhf_imaging_activity"]), year)
        sections.append({"title": "Imaging activity", "charts": [chart]})
    if "rhf_imaging_activity" in trends:
        sections.append(trends["rhf_imaging_activity"])
    return sections


def render_report(
    manifest: dict, tables: list[DeliveryTable], all_years: dict[str, pa.Table], diff: dict
) -> str:
    """The HTML of report.html for a delivery: summary, charts, then a preview of every table."""
    summary = [
        {
            "table": t.name,
            "rows": t.data.num_rows,
            "datatap": t.datatap,
            **{k: diff["tables"][t.name][k] for k in ("added", "removed", "changed")},
        }
        for t in tables
    ]
    return _ENV.get_template("report.html.j2").render(
        manifest=manifest,
        year=manifest["year"],
        previous=diff.get("previous") or "none (first delivery of this kind)",
        threshold=manifest_suppression_max(manifest),
        summary=summary,
        sections=_sections(
            {t.name: t for t in tables},
            all_years,
            manifest["year"],
            int(manifest.get("parameters", {}).get("trend_years", DEFAULT_TREND_YEARS)),
        ),
        tables=[{"name": t.name, "description": t.description, "rows": table_rows(t.data)} for t in tables],
        preview_rows=PREVIEW_ROWS,
    )


def write_report(
    path: Path, manifest: dict, tables: list[DeliveryTable], all_years: dict[str, pa.Table], diff: dict
) -> None:
    path.write_text(render_report(manifest, tables, all_years, diff), encoding="utf-8")

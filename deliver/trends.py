"""The trend part of report.html: charts and tables of the time-series delivery tables (one point
per year, provisional years marked), from every delivered year of each table."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pyarrow as pa

from deliver import charts
from deliver.formatting import MAX_DRL_CHARTS, is_published, table_rows

if TYPE_CHECKING:
    from deliver.package import DeliveryTable

RT_TREND_MEASURES = {"n_patients": "patients", "n_series": "series", "n_attendances": "attendances"}


def _year_labels(rows: list[dict], years: list[int]) -> list[str]:
    """The years of a trend chart's axis, a provisional one (is_provisional on its rows) starred."""
    provisional = {r["year"] for r in rows if r.get("is_provisional")}
    return [f"{y}*" if y in provisional else str(y) for y in years]


def _provisional_note(rows: list[dict], years: list[int]) -> list[str]:
    starred = sorted({r["year"] for r in rows if r.get("is_provisional") and r["year"] in years})
    if not starred:
        return []
    return [
        f"* provisional: {', '.join(map(str, starred))} is not complete until the end of April of the "
        "next year; its figures will change."
    ]


def _yearly_sums(
    rows: list[dict], years: list[int], group: str, measure: str
) -> dict[str, list[float | None]]:
    """Per value of `group`, the sum of the published `measure` of each year (None: nothing published)."""
    series: dict[str, list[float | None]] = {g: [None] * len(years) for g in sorted({r[group] for r in rows})}
    for r in rows:
        if r["year"] in years and r[measure] is not None:
            i = years.index(r["year"])
            series[r[group]][i] = (series[r[group]][i] or 0) + r[measure]
    return series


def _imaging_trend(rows: list[dict], years: list[int]) -> list[str]:
    """Examinations per year by RHF (the yearly rows), and the delivery year's months beside the year
    before's (the monthly rows); by the reporting institution's RHF ('provider' rows)."""
    rows = [r for r in rows if r.get("region_basis", "provider") == "provider" and r["year"] in years]
    yearly = [r for r in rows if r["month"] is None]
    year = years[-1]
    months: dict[str, list[float | None]] = {str(y): [None] * 12 for y in (year - 1, year)}
    for r in rows:
        line = months.get(str(r["year"]))
        if line is not None and r["month"] is not None and r["n_examinations"] is not None:
            line[r["month"] - 1] = (line[r["month"] - 1] or 0) + r["n_examinations"]
    return [
        charts.lines(
            _year_labels(yearly, years),
            _yearly_sums(yearly, years, "rhf_name", "n_examinations"),
            "Imaging examinations per year by RHF",
            "examinations (published cells)",
            name="imaging-trend",
        ),
        charts.lines(
            [str(m) for m in range(1, 13)],
            {label: values for label, values in months.items() if any(v is not None for v in values)},
            f"Imaging examinations by month, {year} beside {year - 1}",
            "examinations (published cells)",
            name="imaging-months",
        ),
    ]


def _rt_trend(rows: list[dict], years: list[int]) -> list[str]:
    """Patients, series and attendances per year by RHF of treatment (rhf_rt_activity_trend)."""
    labels = _year_labels(rows, years)
    return [
        charts.lines(
            labels,
            _yearly_sums(rows, years, "rhf_name", measure),
            f"Radiotherapy {what} per year by RHF of treatment",
            f"{what} (published cells)",
            name=f"rt-trend-{what}",
        )
        for measure, what in RT_TREND_MEASURES.items()
    ]


def _drl_trend_charts(rows: list[dict], years: list[int]) -> list[str]:
    """Per examination code and dose type with a published DRL in the window: P75 per year with its
    bootstrap interval as a band and DSA's national reference value."""
    by_key: dict[tuple[str, str], dict[int, dict]] = defaultdict(dict)
    for r in rows:
        if r["year"] in years:
            by_key[(r["procedure_code"], r["dose_type"])][r["year"]] = r
    shown = [
        k
        for k, by_year in by_key.items()
        if any(is_published(r) and r["p75"] is not None for r in by_year.values())
    ]
    latest = {k: max(by_key[k].values(), key=lambda r: r["year"]) for k in shown}
    shown.sort(
        key=lambda k: (latest[k]["national_reference_value"] is None, -(latest[k]["n_examinations"] or 0), k)
    )
    drawn = []
    for code, dose_type in shown[:MAX_DRL_CHARTS]:
        by_year = by_key[(code, dose_type)]
        per_year = [by_year.get(y, {}) for y in years]
        drawn.append(
            charts.interval_line(
                _year_labels(list(by_year.values()), years),
                [r.get("p75") for r in per_year],
                [(r.get("p75_ci_low"), r.get("p75_ci_high")) for r in per_year],
                f"{code} {dose_type}: national P75 by year",
                latest[(code, dose_type)].get("unit") or "",
                name=f"drl-trend-{code}-{dose_type}",
                reference=latest[(code, dose_type)].get("national_reference_value"),
            )
        )
    return drawn


def _follow_up(rows: list[dict]) -> list[dict]:
    """The facilities above DSA's reference value two years running (or more), longest run first."""
    return [
        {
            "facility": r["facility_id"],
            "institution": r["institution_orgnr"],
            "code": r["procedure_code"],
            "dose type": r["dose_type"],
            "median": r["median"],
            "year before": r["previous_median"],
            "DSA NRV": r["national_reference_value"],
            "× NRV": r["ratio_to_reference"],
            "years running": r["years_running"],
            "since": str(r["first_year_above"]),
        }
        for r in sorted(
            rows, key=lambda r: (-r["years_running"], -(r["ratio_to_reference"] or 0), r["facility_id"])
        )
    ]


def _population_trend(rows: list[dict], years: list[int]) -> str:
    """Collective effective dose per year by modality, and over all modalities."""
    return charts.lines(
        _year_labels(rows, years),
        _yearly_sums(rows, years, "modality", "collective_dose_mansv"),
        "Collective effective dose per year by modality",
        "man·Sv",
        name="population-trend",
    )


def trend_sections(
    delivered: dict[str, DeliveryTable], all_years: dict[str, pa.Table], year: int, n_years: int
) -> dict[str, dict]:
    """The sections of the time series (every year of the warehouse, in all_years) over the delivery
    year and the n_years - 1 before it, by the detail table each follows."""
    years = list(range(year - n_years + 1, year + 1))

    def rows(name: str) -> list[dict]:
        return [r for r in table_rows(all_years.get(name)) if r["year"] in years]

    sections: dict[str, dict] = {}
    if "dsa_drl_trend" in all_years:
        drl = rows("dsa_drl_trend")
        follow_up = (
            table_rows(delivered["dsa_facility_follow_up"].data)
            if "dsa_facility_follow_up" in delivered
            else None
        )
        tables = []
        if follow_up is not None:
            tables.append(
                {
                    "title": f"Facilities above DSA's reference value two years running ({year})",
                    "note": "Typical value (median of standard adults, with the minimum sample) above DSA's "
                    "national reference value in the year and the year before: to be followed up.",
                    "rows": _follow_up([r for r in follow_up if r["year"] == year]),
                    "empty": f"No facility was above the reference value both in {year - 1} and {year}.",
                }
            )
        sections["dsa_drl"] = {
            "title": "Diagnostic reference levels over time",
            "notes": [
                "Line: national P75 (the DRL) per year; shaded: its bootstrap 95 % interval; dashed red: "
                "DSA's national reference value.",
                *_provisional_note(drl, years),
            ],
            "tables": tables,
            "charts": _drl_trend_charts(drl, years),
        }
    if "dsa_population_dose_trend" in all_years:
        population = rows("dsa_population_dose_trend")
        sections["dsa_population_dose"] = {
            "title": "Population dose over time",
            "notes": _provisional_note(population, years),
            "charts": [_population_trend(population, years)],
        }
    if "rhf_rt_activity_trend" in all_years:
        rt = rows("rhf_rt_activity_trend")
        sections["rhf_rt_activity"] = {
            "title": "Radiotherapy activity by region over time",
            "notes": _provisional_note(rt, years),
            "charts": _rt_trend(rt, years),
        }
    if "rhf_imaging_activity_trend" in all_years:
        imaging = rows("rhf_imaging_activity_trend")
        sections["rhf_imaging_activity"] = {
            "title": "Imaging activity over time",
            "notes": _provisional_note(imaging, years),
            "charts": _imaging_trend(imaging, years),
        }
    return sections

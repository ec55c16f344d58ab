"""The RHF report's sections on radiotherapy quality: the fractionation indicators by hospital and over
the years (rhf_rt_fractionation, a time series), EQD2 by hospital (rhf_rt_eqd2) and patients per 1,000
inhabitants by age group and region of residence (rhf_rt_patient_rates). `report.py` adds them; each
section only when its table is delivered. Every figure drawn is a published cell: a blanked number is
left out, never estimated, and a sum over hospitals is a sum of the published cells (so said)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import pyarrow as pa

from deliver import charts
from deliver.formatting import fmt, table_rows

if TYPE_CHECKING:
    from deliver.package import DeliveryTable

# How the report names the indicators of seed rt_fractionation_indicators; an indicator not listed
# here is shown by its own name.
INDICATOR_LABELS = {
    "bone_metastases_single_fraction": "Bone metastases (palliative): single fraction",
    "breast_ultra_hypofractionated": "Breast (curative): ultra-hypofractionated",
    "breast_moderately_hypofractionated": "Breast (curative): moderately hypofractionated",
    "prostate_ultra_hypofractionated": "Prostate (curative): ultra-hypofractionated",
    "prostate_moderately_hypofractionated": "Prostate (curative): moderately hypofractionated",
}
INTENTS = {"1": "curative", "2": "palliative", "3": "local control", "4": "prophylactic", "5": "other"}
# EQD2 charts: the diagnosis group x intent cells with the most published hospitals, at most this many
MAX_EQD2_CHARTS = 6
PUBLISHED_CELLS = "of the published cells: hospitals whose counts are blanked are left out"


def label(indicator: str) -> str:
    return INDICATOR_LABELS.get(indicator, indicator)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _published_share(rows: list[dict]) -> tuple[int, int, int]:
    """(hospitals, series, series meeting) summed over the rows whose share is published."""
    shown = [r for r in rows if r["share"] is not None]
    return len(shown), sum(r["n_series"] for r in shown), sum(r["n_series_meeting"] for r in shown)


def _national_share(rows: list[dict]) -> float | None:
    """Series meeting / series over the rows whose share is published; None when there is none."""
    _, n_series, n_meeting = _published_share(rows)
    return n_meeting / n_series if n_series else None


def _indicator_order(indicator: str) -> tuple[int, str]:
    order = list(INDICATOR_LABELS)
    return (order.index(indicator) if indicator in order else len(order), indicator)


def _year_labels(rows: list[dict], years: list[int]) -> list[str]:
    provisional = {r["year"] for r in rows if r.get("is_provisional")}
    return [f"{y}*" if y in provisional else str(y) for y in years]


def fractionation_section(rows: list[dict], year: int, years: list[int]) -> dict:
    """Per indicator, each hospital's published share in the delivery year (a bar per hospital, the
    counts beside it), the year's national figure of the published cells, and that figure per year
    over the trend years (a line per indicator, a point per year with a published share)."""
    by_indicator: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_indicator[r["indicator"]].append(r)
    indicators = sorted(by_indicator, key=_indicator_order)
    drawn, national, unpublished = [], [], []
    for indicator in indicators:
        this_year = [r for r in by_indicator[indicator] if r["year"] == year]
        hospitals, n_series, n_meeting = _published_share(this_year)
        national.append(
            {
                "indicator": label(indicator),
                "hospitals": hospitals,
                "series": n_series,
                "meeting": n_meeting,
                "share": _national_share(this_year),
                "definition": next(
                    (r["definition"] for r in by_indicator[indicator] if r.get("definition")), ""
                ),
            }
        )
        items = sorted(
            (
                (
                    r["hf_name"],
                    r["share"],
                    f"{fmt(100 * r['share'])} %: {r['n_series_meeting']} of {r['n_series']}",
                )
                for r in this_year
                if r["share"] is not None
            ),
            key=lambda i: (-i[1], i[0]),
        )
        if items:
            drawn.append(
                charts.horizontal_bars(
                    items,
                    f"{label(indicator)}, {year}: share by hospital",
                    "share of the series",
                    name=f"rt-fractionation-{_slug(indicator)}",
                )
            )
        else:
            unpublished.append(label(indicator))
    trend = {
        label(indicator): [
            _national_share([r for r in by_indicator[indicator] if r["year"] == y]) for y in years
        ]
        for indicator in indicators
    }
    trend = {name: line for name, line in trend.items() if any(v is not None for v in line)}
    if trend:
        drawn.append(
            charts.lines(
                _year_labels(rows, years),
                trend,
                "Fractionation indicators per year (share of the published cells)",
                "share of the series",
                name="rt-fractionation-trend",
            )
        )
    notes = [
        "Share of the series of a diagnosis group and intent (by the prescribed schedule of the series' "
        "main reference volume) that meet the indicator; thresholds and sources in docs/domain.md "
        f"section 3. National figures and the lines over the years are {PUBLISHED_CELLS}."
    ]
    if unpublished:
        notes.append(
            f"No hospital's share could be published in {year} (small cells): {', '.join(unpublished)}."
        )
    if any(r.get("is_provisional") for r in rows if r["year"] in years):
        notes.append("* provisional year: its figures will change until the end of April of the next year.")
    return {
        "title": "Radiotherapy fractionation",
        "notes": notes,
        "tables": [
            {
                "title": f"Fractionation indicators, {year}",
                "note": f"Sums {PUBLISHED_CELLS}.",
                "rows": national,
                "empty": f"No fractionation indicator in {year}.",
            }
        ],
        "charts": drawn,
    }


def eqd2_section(rows: list[dict], year: int) -> dict:
    """Per diagnosis group and intent (those with the most hospitals with a published median), each
    hospital's median EQD2 in the delivery year, its quartiles and series beside it."""
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        if r["year"] == year and r["median_eqd2_gy"] is not None:
            cells[(r["diagnosis_group"], r["intent"])].append(r)
    shown = sorted(cells, key=lambda k: (-len(cells[k]), k))[:MAX_EQD2_CHARTS]
    drawn = []
    for group, intent in shown:
        what = f"{group} ({INTENTS.get(intent, intent)})"
        items = sorted(
            (
                (
                    r["hf_name"],
                    r["median_eqd2_gy"],
                    f"P25–P75 {fmt(r['p25_eqd2_gy'])}–{fmt(r['p75_eqd2_gy'])} Gy; "
                    f"{fmt(r['n_series']) if r['n_series'] is not None else 'n blanked'} series",
                )
                for r in cells[(group, intent)]
            ),
            key=lambda i: (-i[1], i[0]),
        )
        drawn.append(
            charts.horizontal_bars(
                items,
                f"Median EQD2, {what}, {year}: by hospital",
                "Gy (EQD2, α/β 10 Gy)",
                name=f"rt-eqd2-{_slug(group)}-{intent}",
            )
        )
    return {
        "title": "Radiotherapy dose (EQD2)",
        "notes": [
            "EQD2: the planned total dose of each series' main reference volume in 2 Gy fractions "
            "(linear-quadratic model, α/β 10 Gy); median and quartiles per hospital, diagnosis group and "
            "intent. A median is blanked only when the series behind it rest on too few patients (a "
            "percentile reveals no count), so a hospital may show a median beside a blanked count. At most "
            f"{MAX_EQD2_CHARTS} diagnosis groups are charted; every cell is in the table."
        ]
        + ([] if drawn else [f"No median EQD2 could be published in {year} (small cells)."]),
        "charts": drawn,
    }


ALL = "all"


def _age_key(age_group: str) -> tuple[int, str]:
    head = age_group.split("-")[0].rstrip("+")
    return (int(head), age_group) if head.isdigit() else (10_000, age_group)


def patient_rates_section(rows: list[dict], year: int) -> dict:
    """Radiotherapy patients per 1,000 inhabitants in the delivery year: by age group, a bar per region
    of residence; and per region over all ages beside the country."""
    rows = [r for r in rows if r["year"] == year]
    ages = sorted({r["age_group"] for r in rows if r["age_group"] != ALL}, key=_age_key)
    regions = sorted({r["residence_rhf_name"] for r in rows if r["residence_rhf_name"] != ALL})
    rate = {(r["residence_rhf_name"], r["age_group"]): r["per_1000_inhabitants"] for r in rows}
    by_age = charts.grouped_bars(
        ages,
        {rhf: [rate.get((rhf, a)) or 0 for a in ages] for rhf in regions},
        f"Radiotherapy patients per 1,000 inhabitants by age group and region of residence, {year}",
        "patients per 1,000 inhabitants",
        name="rt-rates-age",
        width=760,
    )
    totals = [r for r in rows if r["age_group"] == ALL and r["per_1000_inhabitants"] is not None]
    items = sorted(
        (
            (
                "all regions" if r["residence_rhf_name"] == ALL else r["residence_rhf_name"],
                r["per_1000_inhabitants"],
                f"{fmt(r['n_patients'])} of {fmt(r['population'])} inhabitants",
            )
            for r in totals
        ),
        key=lambda i: (i[0] != "all regions", i[0]),
    )
    by_region = charts.horizontal_bars(
        items,
        f"Radiotherapy patients per 1,000 inhabitants by region of residence, {year}",
        "patients per 1,000 inhabitants",
        name="rt-rates-region",
    )
    return {
        "title": "Radiotherapy patients per 1,000 inhabitants",
        "notes": [
            "Persons with a radiotherapy series started in the year, once a year, in the region of "
            "residence and age group of their first series, per 1,000 inhabitants of the population table. "
            "A blanked rate (small cells) is drawn as no bar. On synthetic data the population is the whole "
            "synthetic country whatever the scale: divide the rates by the scale (truth.json) to compare."
        ],
        "charts": [by_age, by_region],
    }


def rt_quality_sections(
    delivered: dict[str, DeliveryTable], all_years: dict[str, pa.Table], year: int, n_years: int
) -> list[dict]:
    """The radiotherapy quality sections the delivered tables allow, in reading order. The
    fractionation indicators are a time series: every delivered year (all_years) over the delivery year
    and the n_years - 1 before it."""
    years = list(range(year - n_years + 1, year + 1))
    sections = []
    if "rhf_rt_fractionation" in delivered:
        source = all_years.get("rhf_rt_fractionation", delivered["rhf_rt_fractionation"].data)
        rows = [r for r in table_rows(source) if r["year"] in years]
        sections.append(fractionation_section(rows, year, years))
    if "rhf_rt_eqd2" in delivered:
        sections.append(eqd2_section(table_rows(delivered["rhf_rt_eqd2"].data), year))
    if "rhf_rt_patient_rates" in delivered:
        sections.append(patient_rates_section(table_rows(delivered["rhf_rt_patient_rates"].data), year))
    return sections

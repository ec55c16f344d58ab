"""The DSA report's section on recurrent imaging: cumulative effective dose per person over one and
five years (dsa_cumulative_dose) and the examination groups behind the high doses
(dsa_cumulative_dose_by_group). `report.py` adds it when dsa_cumulative_dose is delivered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from deliver import charts
from deliver.formatting import fmt, table_rows

if TYPE_CHECKING:
    from deliver.package import DeliveryTable

TABLE = "dsa_cumulative_dose"
CONTRIBUTORS = "dsa_cumulative_dose_by_group"
DEFAULT_THRESHOLD_MSV = 100


def _window(n: int) -> str:
    return "1 year" if n == 1 else f"{n} years"


def _drawn(series: dict[str, list[float | None]]) -> dict[str, list[float]]:
    """A blanked (or missing) value as a bar of no height."""
    return {label: [v or 0.0 for v in values] for label, values in series.items()}


def _count(n: int | None) -> str:
    return "n blanked" if n is None else str(n)


def _age_key(group: str) -> tuple[int, str]:
    head = group.split("-")[0].rstrip("+")
    return (int(head), group) if head.isdigit() else (10_000, group)


def _threshold(rows: list[dict]) -> int | float:
    return next(
        (r["threshold_msv"] for r in rows if r.get("threshold_msv") is not None), DEFAULT_THRESHOLD_MSV
    )


def share_title(threshold: float, year: int) -> str:
    return f"Share of persons with a cumulative dose of {fmt(threshold)} mSv or more, by age group, {year}"


def p95_title(year: int) -> str:
    return f"95th percentile of the cumulative effective dose per person, by age group, {year}"


def contributors_title(window: int, year: int) -> str:
    return f"Dose of the persons at or above the threshold by examination group, {_window(window)} to {year}"


def cumulative_dose_section(rows: list[dict], contributors: list[dict], year: int) -> dict:
    """Per age group (every sex and region) the share at or above the threshold and the P95, a bar
    per window; the national row of each window as a table; the contributing examination groups of
    the longest window as bars. A blanked share or P95 is drawn as no bar and counted in a note."""
    rows = [r for r in rows if r["year"] == year]
    threshold = _threshold(rows)
    windows = sorted({r["window_years"] for r in rows})
    by_age = [
        r for r in rows if r["sex"] == "all" and r["residence_rhf_name"] == "all" and r["age_group"] != "all"
    ]
    ages = sorted({r["age_group"] for r in by_age}, key=_age_key)
    cell = {(r["age_group"], r["window_years"]): r for r in by_age}
    shares = {
        _window(w): [(cell.get((a, w)) or {}).get("share_100msv_or_more") for a in ages] for w in windows
    }
    p95 = {_window(w): [(cell.get((a, w)) or {}).get("p95_msv") for a in ages] for w in windows}
    blanked = sum(1 for values in shares.values() for v in values if v is None)
    totals = [
        {
            "window": _window(r["window_years"]),
            "years in window": r["years_in_window"],
            "persons": r["n_persons"],
            f"≥ {fmt(threshold)} mSv": r["n_persons_100msv_or_more"],
            "share": r["share_100msv_or_more"],
            "median mSv": r["median_msv"],
            "P95 mSv": r["p95_msv"],
        }
        for r in sorted(
            (
                r
                for r in rows
                if r["sex"] == "all" and r["residence_rhf_name"] == "all" and r["age_group"] == "all"
            ),
            key=lambda r: r["window_years"],
        )
    ]
    notes = [
        f"Persons with an effective dose from imaging in the window (the year, or the year and the four "
        f"before), each once, in the age group, sex and region of their last examination in it; "
        f"{fmt(threshold)} mSv or more counts at the threshold. Counts on 1-4 persons are blanked, and a "
        f"blanked share or percentile has no bar ({blanked} age group x window shares blanked or "
        "without a row)."
    ]
    short = sorted({_window(r["window_years"]) for r in rows if not r["is_complete_window"]})
    if short:
        notes.append(
            f"The warehouse starts later than the window: {', '.join(short)} hold fewer years "
            "(years in window)."
        )
    chart_list = [
        charts.grouped_bars(
            ages, _drawn(shares), share_title(threshold, year), "share of persons", name="cumulative-share"
        ),
        charts.grouped_bars(ages, _drawn(p95), p95_title(year), "mSv", name="cumulative-p95"),
    ]
    contributors = [r for r in contributors if r["year"] == year]
    if contributors:
        window = max(r["window_years"] for r in contributors)
        items = sorted(
            (
                (
                    r["examination_group"],
                    r["dose_msv"] or 0.0,
                    f"{fmt(r['dose_msv'])} mSv; {_count(r['n_examinations'])} examinations of "
                    f"{_count(r['n_persons'])} persons",
                )
                for r in contributors
                if r["window_years"] == window
            ),
            key=lambda i: (-i[1], i[0]),
        )
        chart_list.append(
            charts.horizontal_bars(
                items, contributors_title(window, year), "mSv", name="cumulative-contributors"
            )
        )
    return {
        "title": "Cumulative dose from recurrent imaging",
        "notes": notes,
        "tables": [
            {
                "title": "All persons, by window",
                "note": "median and P95 of the persons' cumulative effective dose (mSv).",
                "rows": totals,
                "empty": "no person with an effective dose this year.",
            }
        ],
        "charts": chart_list,
    }


def cumulative_dose_sections(delivered: Mapping[str, DeliveryTable], year: int) -> list[dict]:
    if TABLE not in delivered:
        return []
    contributors = table_rows(delivered[CONTRIBUTORS].data) if CONTRIBUTORS in delivered else []
    return [cumulative_dose_section(table_rows(delivered[TABLE].data), contributors, year)]

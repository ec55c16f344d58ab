"""The DSA report's sections on image-guided procedures and children: ZXM coding completeness
(dsa_zxm_completeness), double reporting (dsa_double_reporting) and the paediatric reference levels
(dsa_drl_paediatric). `report.py` adds them; each section only when its table is delivered."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from deliver import charts
from deliver.formatting import MAX_DRL_CHARTS, fmt, is_published, table_rows

if TYPE_CHECKING:
    from deliver.package import DeliveryTable

ZXM_TITLE = "Share of image-guided procedures with a ZXM code, by institution"
DOUBLE_TITLE = "Share of image-guided procedures reported twice (raa and ord), by institution"
PAEDIATRIC_TITLE = "Paediatric reference levels by age band: examinations and dose types"


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def zxm_section(rows: list[dict]) -> dict:
    """Per institution (every month and code group of the year) the share of its ord procedures that
    are image-guided by nature with a ZXM code, worst first; the national figures per code group."""
    by_institution: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    by_group: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        for totals in (by_institution[r["institution_orgnr"] or "unknown"], by_group[r["code_group"]]):
            totals[0] += r["n_procedures"] or 0
            totals[1] += r["n_with_zxm"] or 0
            totals[2] += r["n_with_ionising_zxm"] or 0
    items = sorted(
        (
            (inst, _share(t[1], t[0]), f"{t[1]}/{t[0]}; {t[0] - t[1]} without a ZXM code")
            for inst, t in by_institution.items()
        ),
        key=lambda i: (i[1], i[0]),
    )
    groups = [
        {
            "code group": group,
            "procedures": t[0],
            "with ZXM": t[1],
            "with ionising ZXM": t[2],
            "without ZXM": t[0] - t[1],
            "share with ZXM": _share(t[1], t[0]),
        }
        for group, t in sorted(by_group.items())
    ]
    return {
        "title": "ZXM coding of image-guided procedures",
        "notes": [
            "ord procedures whose code is image-guided by nature (seed image_guided_code_groups); one "
            "without a ZXM code is counted in no imaging figure, and its dose in none. Institution-level "
            "quality figures, not suppressed."
        ],
        "tables": [
            {
                "title": "By code group, all institutions",
                "note": "procedures of the year; the ionising ones (ZXM10/20/70) count as radiation use.",
                "rows": groups,
                "empty": "no image-guided procedures in ord this year.",
            }
        ],
        "charts": [charts.horizontal_bars(items, ZXM_TITLE, "share", name="zxm")],
    }


def double_reporting_section(rows: list[dict]) -> dict:
    """Per institution the share of its image-guided procedures (counted once) that it reported
    twice, in raa and in ord, most first."""
    items = sorted(
        (
            (
                r["institution_orgnr"] or "unknown",
                r["share_double_reported"] or 0.0,
                f"{r['n_double_reported']} of {r['n_procedures']} "
                f"(raa {r['n_raa_interventions']}, ord {r['n_ord_guided_procedures']})",
            )
            for r in rows
            if r["n_procedures"]
        ),
        key=lambda i: (-i[1], i[0]),
    )
    n = sum(r["n_double_reported"] or 0 for r in rows)
    total = sum(r["n_procedures"] or 0 for r in rows)
    return {
        "title": "Double reporting",
        "notes": [
            f"{fmt(n)} of {fmt(total)} image-guided procedures ({fmt(100 * _share(n, total))} %) were "
            "reported twice, as an NCRP intervention in raa and as an NCSP/NCMP procedure with a ZXM "
            "code in ord; every other table counts them once. Institution-level quality figures, not "
            "suppressed."
        ],
        "charts": [charts.horizontal_bars(items, DOUBLE_TITLE, "share", name="double")],
    }


def _band_key(band: str) -> int:
    return int(band.split("-")[0])


def paediatric_drl_section(rows: list[dict]) -> dict:
    """P75 (with its bootstrap interval) by age band, one chart per examination code and dose type with
    a published band (most examinations first); every row listed, unpublished ones as such."""
    by_key: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        by_key[(r["procedure_code"], r["dose_type"])].append(r)
    published = [k for k, rs in by_key.items() if any(is_published(r) for r in rs)]
    published.sort(key=lambda k: (-sum(r["n_examinations"] or 0 for r in by_key[k]), k))
    bands = sorted({r["age_band"] for r in rows}, key=_band_key)
    counts = {"published": [0] * len(bands), "too few facilities": [0] * len(bands)}
    for r in rows:
        counts["published" if is_published(r) else "too few facilities"][bands.index(r["age_band"])] += 1
    chart_list = [
        charts.grouped_bars(bands, counts, PAEDIATRIC_TITLE, "examination x dose type", name="drl-paediatric")
    ]
    for code, dose_type in published[:MAX_DRL_CHARTS]:
        band_rows = sorted(by_key[(code, dose_type)], key=lambda r: _band_key(r["age_band"]))
        shown = [r if is_published(r) else {**r, "p75": None, "p75_ci_low": None} for r in band_rows]
        chart_list.append(
            charts.interval_line(
                [r["age_band"] for r in band_rows],
                [r["p75"] for r in shown],
                [(r["p75_ci_low"], r["p75_ci_high"]) for r in shown],
                f"Children, {code} {dose_type}: P75 by age band",
                band_rows[0].get("unit") or "",
                name=f"drl-paediatric-{code}-{dose_type}",
            )
        )
    listed = [
        {
            "examination": r["procedure_code"],
            "dose type": r["dose_type"],
            "age band": r["age_band"],
            "facilities": r["n_facilities"],
            "below minimum": r["n_facilities_below_minimum"],
            "examinations": r["n_examinations"],
            "P75": r["p75"] if is_published(r) else "too few facilities",
        }
        for r in sorted(rows, key=lambda r: (r["procedure_code"], r["dose_type"], _band_key(r["age_band"])))
    ]
    return {
        "title": "Paediatric reference levels",
        "notes": [
            "dsa_drl's method by age band (years): P75 of the facility typical values of facilities with "
            "the minimum sample of children in the band; a band on fewer facilities than a national "
            "value needs is kept unpublished and not charted."
        ],
        "tables": [
            {
                "title": "Every examination, dose type and age band with a child's dose",
                "note": "facilities: with the minimum sample; below minimum: with too few children.",
                "rows": listed,
                "empty": "no child's dose this year.",
            }
        ],
        "charts": chart_list,
    }


def quality_sections(delivered: Mapping[str, DeliveryTable]) -> list[dict]:
    """The sections of the delivered tables among this module's three, in reading order."""
    builders = (
        ("dsa_zxm_completeness", zxm_section),
        ("dsa_double_reporting", double_reporting_section),
        ("dsa_drl_paediatric", paediatric_drl_section),
    )
    return [build(table_rows(delivered[name].data)) for name, build in builders if name in delivered]

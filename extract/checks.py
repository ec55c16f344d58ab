"""Record-level data-quality rules the extractor applies while parsing (docs/messages.md section 9).

The reference facts are read from the dbt seeds, which are the one copy in the project:
- recognised unit spellings per dose type: `dbt_project/seeds/reference/unit_conversions.csv`
  (its `dose_type`, `unit_as_sent`; the conversion factors there are dbt's business, this module
  only asks "is this spelling known", and uses the factor to put the plausibility bound below in
  the unit as sent);
- code lists per `kodeverk`: `codes_icd10.csv` (D), `codes_ncsp.csv` (K), `codes_ncmp.csv` (M),
  `codes_ncrp.csv` (R), `Q` = the union of K, M and R; `F` (ATC) has no list here, so it is not judged.
A code or unit that is not recognised is a finding; the record is kept as sent.
"""

from __future__ import annotations

import functools

from extract.reference import read_seed

# A dose value above this, in the canonical unit of its dose type, is implausible whatever the
# examination [A]: DAP Gy·cm² (the largest interventional procedures stay below ~1,000),
# DLP mGy·cm (multi-phase CT ~ 10,000), CTDIvol mGy (perfusion CT ~ 1,000), AGD mGy (~ 20),
# KERMA_REF mGy (~ 20,000 in long interventions), fluoroscopy time s (~ 2 h). With an unknown
# unit no canonical magnitude exists; then only ABSURD_DOSE applies.
IMPLAUSIBLE_ABOVE = {
    "DAP": 2_000.0,
    "DLP": 50_000.0,
    "CTDIVOL": 5_000.0,
    "AGD": 100.0,
    "KERMA_REF": 100_000.0,
    "GJENNOMLYSNINGSTID": 20_000.0,
}
# Any dose-like number (Gy per fraction, MBq, dose as sent in an unknown unit) above this is absurd.
ABSURD_DOSE = 1e6

_CODE_FILES = {"D": "codes_icd10.csv", "K": "codes_ncsp.csv", "M": "codes_ncmp.csv", "R": "codes_ncrp.csv"}


def _first_column(name: str) -> frozenset[str]:
    rows = read_seed(name)
    first = next(iter(rows[0])) if rows else ""
    return frozenset(r[first].strip() for r in rows if (r[first] or "").strip())


@functools.cache
def code_lists() -> dict[str, frozenset[str]]:
    lists = {system: _first_column(name) for system, name in _CODE_FILES.items()}
    lists["Q"] = lists["K"] | lists["M"] | lists["R"]
    return lists


@functools.cache
def _unit_conversions() -> tuple[dict[str, str], ...]:
    return tuple(read_seed("unit_conversions.csv", delimiter=","))


@functools.cache
def unit_factors() -> dict[tuple[str, str], float]:
    """(dose type, unit as sent) -> factor to the canonical unit, for every recognised spelling."""
    return {(r["dose_type"], r["unit_as_sent"]): float(r["factor"]) for r in _unit_conversions()}


@functools.cache
def canonical_units() -> dict[str, str]:
    """Dose type -> its canonical unit (docs/messages.md section 6)."""
    return {r["dose_type"]: r["canonical_unit"] for r in _unit_conversions()}


def _number(value: str | None) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def dose_problem(value: str | None) -> str | None:
    """Negative / absurd check of one dose-like attribute; None if fine or not a number."""
    number = _number(value)
    if number is None:
        return None
    if number < 0:
        return "negative_dose"
    if number > ABSURD_DOSE:
        return "implausible_dose"
    return None


def indicator_problems(dose_type: str | None, value: str | None, unit: str | None) -> list[tuple[str, str]]:
    """Findings of one Doseindikator: (finding_class, detail)."""
    out: list[tuple[str, str]] = []
    factor = unit_factors().get((dose_type or "", unit or ""))
    if factor is None:
        out.append(("unknown_unit", f"benevning={unit!r} is not a recognised unit for doseType={dose_type}"))
    number = _number(value)
    if number is None:
        return out
    bound = IMPLAUSIBLE_ABOVE.get(dose_type or "")
    if number < 0:
        out.append(("negative_dose", f"verdi={value} {unit} is negative"))
    elif factor is not None and bound is not None and number * factor > bound:
        out.append(("implausible_dose", f"verdi={value} {unit} is above {bound:g} in the canonical unit"))
    elif number > ABSURD_DOSE:
        out.append(("implausible_dose", f"verdi={value} {unit} is above {ABSURD_DOSE:g}"))
    return out

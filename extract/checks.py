"""Record-level data-quality rules the extractor applies while parsing (docs/messages.md section 9).

`RecordRules` holds the rules that look at one record as it streams past (its methods are the
flattener's per-kind hooks) and the keys and references they need across records; the value rules
below it (`dose_problem`, `indicator_problems`, code lists) are plain functions.

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
from collections.abc import Callable
from dataclasses import dataclass, field

from extract.model import faults
from extract.model.faults import Finding
from extract.model.plan import TableInfo
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
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
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


# --- the rules on the record stream --------------------------------------------------------------

Hook = Callable[[TableInfo, tuple, tuple], None]


@dataclass
class CrossChecks:
    """What one segment knows about keys defined and references it could not resolve itself."""

    # (institusjonID, episodeID) -> (record_no, pasientNr) of the first occurrence
    episodes: dict[tuple[str | None, str], tuple[int, str]] = field(default_factory=dict)
    equipment: dict[str, tuple[int, str]] = field(default_factory=dict)
    known_equipment: set[str] = field(default_factory=set)
    # (kind "episode"/"equipment", key, finding if unresolved)
    pending: list[tuple[str, object, Finding]] = field(default_factory=list)


def resolve(cross: CrossChecks) -> list[Finding]:
    """Findings for references still pending at the end of a whole file."""
    out = []
    for kind, k, finding in cross.pending:
        known: dict | set = cross.episodes if kind == "episode" else cross.known_equipment
        if k not in known:
            out.append(finding)
    return out


def record_key(info: TableInfo, row: tuple) -> str:
    """The carried parent keys and the element's own first (key) attribute, as `name=value;...`."""
    flat = (*row[1], row[2][0])
    return ";".join(f"{name}={v}" for name, v in zip(info.row_names[1:], flat, strict=False))


class RecordRules:
    """The checks of one segment, called by the flattener with each row `(record_no, carried keys,
    own values)` of the kinds in `hooks()`. Findings are collected; rows are never dropped.

    `suppress`: the segment's header rows (repeated from an earlier piece) are being read: keys are
    learnt but nothing is reported. `defer_refs`: a piece of a cut file, whose references are
    checked across pieces (`extract.crosscheck`)."""

    def __init__(self, suppress: bool, defer_refs: bool):
        self.suppress = suppress
        self.defer_refs = defer_refs
        self.findings: list[Finding] = []
        self.cross = CrossChecks()
        self.institutions: list[str] = []
        self.inst: str | None = None
        self.units: set[tuple[str | None, str]] = set()
        self.refvols: set[str] = set()
        self.refvol_refs: list[tuple[str, Finding]] = []
        self.code_lists = code_lists()

    def hooks(self) -> dict[str, Hook]:
        return {
            "institution": self._institution,
            "unit": self._unit,
            "equipment": self._equipment,
            "episode": self._episode,
            "episode_unit": self._episode_unit,
            "condition_code": self._code,
            "procedure_code": self._code,
            "rt_attendance": self._rt_attendance,
            "dose_event": self._dose_event,
            "dose_contribution": self._dose_contribution,
            "reference_volume": self._reference_volume,
            "dose_indicator": self._dose_indicator,
            "radiopharmaceutical": self._radiopharmaceutical,
            "person_ident": self._person_ident,
            "medical_radiation": self._medical_radiation,
        }

    def _finding(self, info: TableInfo, row: tuple, cls: str, detail: str) -> Finding:
        return (info.key, row[0], record_key(info, row), cls, detail)

    def _institution(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        self.inst = vals[0]
        if not self.suppress and vals[0] not in self.institutions:
            self.institutions.append(vals[0])

    def _unit(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        self.units.add((self.inst, vals[0]))

    def _equipment(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        uid = vals[0]
        self.cross.known_equipment.add(uid)
        if self.suppress:
            return
        if uid in self.cross.equipment:
            detail = faults.DUPLICATE_EQUIPMENT.format(utstyrID=uid)
            self.findings.append(self._finding(info, row, faults.DUPLICATE_KEY, detail))
        else:
            self.cross.equipment[uid] = (row[0], record_key(info, row))

    def _episode(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        k = (self.inst, vals[0])
        if k in self.cross.episodes:
            detail = faults.DUPLICATE_EPISODE.format(episodeID=vals[0])
            self.findings.append(self._finding(info, row, faults.DUPLICATE_KEY, detail))
        else:
            self.cross.episodes[k] = (row[0], row[1][1])  # ctx: institusjonID, pasientNr

    def _episode_unit(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        if (self.inst, vals[0]) not in self.units:
            self.findings.append(
                self._finding(
                    info, row, faults.DANGLING_REFERENCE, f"enhetID={vals[0]} is no Enhet of the institution"
                )
            )

    def _code(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        # _CODE_ATTRS order: kodeNr, kodeverk, kodeVersjon, kodeVerdi
        known = self.code_lists.get(vals[1])
        if known is not None and vals[3] not in known:
            self.findings.append(
                self._finding(
                    info, row, faults.UNKNOWN_CODE, f"kodeVerdi={vals[3]} not in code list {vals[1]}"
                )
            )

    def _ref_equipment(self, info: TableInfo, row: tuple, uid: str) -> None:
        if self.defer_refs:
            return
        if uid not in self.cross.known_equipment:
            detail = faults.DANGLING_EQUIPMENT.format(refUtstyr=uid)
            f = self._finding(info, row, faults.DANGLING_REFERENCE, detail)
            self.cross.pending.append(("equipment", uid, f))

    def _rt_attendance(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        episode_id, ref = vals
        if not self.defer_refs and (self.inst, episode_id) not in self.cross.episodes:
            detail = faults.DANGLING_EPISODE.format(episodeID=episode_id)
            f = self._finding(info, row, faults.DANGLING_REFERENCE, detail)
            self.cross.pending.append(("episode", (self.inst, episode_id), f))
        self._ref_equipment(info, row, ref)

    def _dose_event(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        self._ref_equipment(info, row, vals[2])

    def _dose_contribution(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        for name, value in zip(("planDose", "gittDose"), vals[1:3], strict=True):
            problem = dose_problem(value)
            if problem:
                self.findings.append(self._finding(info, row, problem, f"{name}={value} Gy"))
        self.refvol_refs.append(
            (
                vals[0],
                self._finding(
                    info,
                    row,
                    faults.DANGLING_REFERENCE,
                    f"referansevolumID={vals[0]} not in MedisinskStraling",
                ),
            )
        )

    def _reference_volume(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        self.refvols.add(vals[0])

    def _medical_radiation(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        self.close_medical_radiation()  # Referansevolum is looked up within one MedisinskStraling

    def close_medical_radiation(self) -> None:
        self.findings.extend(f for ref, f in self.refvol_refs if ref not in self.refvols)
        self.refvol_refs.clear()
        self.refvols.clear()

    def _dose_indicator(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        for cls, detail in indicator_problems(*vals):
            self.findings.append(self._finding(info, row, cls, detail))

    def _radiopharmaceutical(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        problem = dose_problem(vals[1])
        if problem:
            self.findings.append(self._finding(info, row, problem, f"administrertAktivitet={vals[1]} MBq"))

    def _person_ident(self, info: TableInfo, row: tuple, vals: tuple) -> None:
        if not vals[2]:  # pid, person_pseudonym, fid_valid, typeID
            self.findings.append(
                self._finding(
                    info, row, faults.INVALID_FODSELSNUMMER, f"control digits fail (typeID={vals[3]})"
                )
            )

"""Referral periods (Henvisningsperiode, docs/messages.md section 10) and the waits they start.

One period per elective imaging visit, per elective `ord` procedure and per radiotherapy series,
named `H<episode id>` or `H<series id>` (so unique per institution over every year). Drawn on a
random stream of their own: everything else the generator makes is the same with or without them.
A referral is a tuple (henvisningsperiodeID, ansiennitetsdato, mottattDato, henvType,
fraInstitusjonID or None); the episodes it covers carry it as `ep["ref"]`.

The truth side: `waiting_time_summary` gives, per year, what the generator produced (series and
examinations with and without a referral, median and 80th percentile days, shares within 14 and 28
days), computed like the warehouse computes them (DuckDB's `quantile_cont`).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from collections.abc import Iterable

from extract.reference import read_seed
from synth import parameters as P
from synth.world import Person, municipalities

Referral = tuple[str, dt.date, dt.date, str, str | None]


@functools.cache
def home_hf() -> dict[str, str]:
    """Municipality -> orgnr of the health trust whose catchment it lies in (its first catchment)."""
    return {m.komnr: P.CATCHMENT_TO_HF[m.catchments[0]] for m in municipalities() if m.catchments}


def _wait(rng: random.Random, median: float, sigma: float) -> int:
    return min(P.WAIT_MAX_DAYS, round(rng.lognormvariate(math.log(median), sigma)))


class Referrals:
    """Draws the referral periods of one institution (one stream per year or radiotherapy window)."""

    def __init__(self, rng: random.Random, orgnr: str, private: bool = False):
        self.rng, self.orgnr = rng, orgnr
        self.factor = P.IMAGING_PRIVATE_WAIT_FACTOR if private else 1.0

    def _make(self, rid: str, seniority: dt.date, latest: dt.date, module: str, referrer: str | None):
        received = seniority
        if referrer is not None and referrer != self.orgnr:
            received = min(seniority + dt.timedelta(days=self.rng.randint(*P.REFERRAL_FORWARD_DAYS)), latest)
        return (rid, seniority, received, P.REFERRAL_TYPE[module], referrer)

    def imaging(self, ep: dict, group: str, year: int) -> Referral | None:
        """An elective outpatient visit's referral (none for emergencies and inpatients)."""
        rng = self.rng
        if ep["hast"] == "1" or ep["omsorg"] == "1" or rng.random() < P.IMAGING_REFERRAL_MISSING_SHARE:
            return None
        median, sigma = P.IMAGING_WAIT_DAYS[group]
        day = ep["start"].date()
        seniority = day - dt.timedelta(days=_wait(rng, median * self.factor, sigma))
        referrer = None
        if rng.random() < P.IMAGING_REFERRAL_FROM_HOSPITAL_SHARE:
            referrer = home_hf().get(ep["person"].home(year))
        return self._make("H" + ep["id"], seniority, day, "raa", referrer)

    def ordinary(self, ep: dict, year: int) -> Referral | None:
        """An elective image-guided procedure's referral (none for emergencies)."""
        if ep["hast"] == "1":
            return None
        day = ep["start"].date()
        seniority = day - dt.timedelta(days=_wait(self.rng, *P.ORD_WAIT_DAYS))
        return self._make("H" + ep["id"], seniority, day, "ord", home_hf().get(ep["person"].home(year)))

    def radiotherapy(self, serie: str, intent: str, plan_day: dt.date, person: Person) -> Referral | None:
        """A series' referral: received some days before its planning CT (none for a few series)."""
        rng = self.rng
        if rng.random() < P.RT_NO_REFERRAL_SHARE:
            return None
        median, sigma = P.RT_REFERRAL_TO_PLAN_DAYS.get(intent, P.RT_REFERRAL_TO_PLAN_DAYS["other"])
        seniority = plan_day - dt.timedelta(days=_wait(rng, median, sigma))
        referrer = home_hf().get(person.home(plan_day.year))
        return self._make("H" + serie, seniority, plan_day, "str", referrer)


def referral_values(ref: Referral) -> dict[str, str]:
    """The Henvisningsperiode attributes of a referral, as written."""
    rid, seniority, received, kind, referrer = ref
    values = {
        "henvisningsperiodeID": rid,
        "mottattDato": received.isoformat(),
        "ansiennitetsdato": seniority.isoformat(),
        "henvType": kind,
    }
    if referrer is not None:
        values["fraInstitusjonID"] = referrer
    return values


# --- truth -----------------------------------------------------------------------------------------


def quantile_cont(values: list[int], q: float) -> float | None:
    """Linear interpolation between order statistics, as DuckDB's quantile_cont."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (pos - lo) * (xs[hi] - xs[lo])


def figures(waits: list[int | None]) -> dict[str, float | int | None]:
    """The waiting-time figures of one group: waits of None are activity without a referral."""
    known = [w for w in waits if w is not None]
    n = len(known)
    return {
        "n": n,
        "n_without_referral": len(waits) - n,
        "median_days": quantile_cont(known, 0.5),
        "p80_days": quantile_cont(known, 0.8),
        "share_within_14_days": sum(1 for w in known if w <= 14) / n if n else None,
        "share_within_28_days": sum(1 for w in known if w <= 28) / n if n else None,
    }


@functools.cache
def modality_of_letter() -> dict[str, str]:
    """NCRP 6th letter -> the warehouse's modality (seed ncrp_modality_letters)."""
    return {r["modality_letter"]: r["modality"] for r in read_seed("ncrp_modality_letters.csv", ",")}


def waiting_time_summary(
    series: Iterable[tuple[str, str, int | None]], examinations: Iterable[tuple[str, str | None, int | None]]
) -> dict:
    """Per year: radiotherapy by intent from (start date, intent, wait) and raa examinations by
    modality from (date, NCRP modality letter, wait); wait None = without a referral."""
    rt: dict[str, dict[str, list[int | None]]] = {}
    for start, intent, wait in series:
        rt.setdefault(start[:4], {}).setdefault(intent, []).append(wait)
    imaging: dict[str, dict[str, list[int | None]]] = {}
    letters = modality_of_letter()
    for day, letter, wait in examinations:
        modality = letters.get(letter or "", "unknown")
        imaging.setdefault(day[:4], {}).setdefault(modality, []).append(wait)
    years = sorted(set(rt) | set(imaging))
    return {
        "definition": "days from the referral period's ansiennitetsdato to the first treatment fraction "
        "of the series (radiotherapy, by start year and intent) or to the examination (raa, by "
        "examination year and modality); n counts those with a referral; median and p80 as DuckDB's "
        "quantile_cont; current state of the arrived files",
        "by_year": {
            y: {
                "rt_by_intent": {k: figures(v) for k, v in sorted(rt.get(y, {}).items())},
                "imaging_by_modality": {k: figures(v) for k, v in sorted(imaging.get(y, {}).items())},
            }
            for y in years
        },
    }


def wait_columns(ref: Referral | None, day: dt.date) -> tuple[str | None, str | None, int | None]:
    """(henvisningsperiodeID, ansiennitetsdato, days from it to `day`) of an activity; all None
    without a referral."""
    if ref is None:
        return None, None, None
    return ref[0], ref[1].isoformat(), (day - ref[1]).days

"""What happened at one institution in one year: visits, examinations, doses, procedures.

Plain dicts and tuples (fast to make, fast to write). Radiotherapy is `radiotherapy.py` (its series
cross year ends); reporting (files, resends, corrections) is `reporting.py`'s job. Episode ids
carry the year (`<module digit><yy><7 digits>`), so they are unique per institution over a history.
"""

from __future__ import annotations

import datetime as dt
import math
import random

from extract.checks import canonical_units
from synth import parameters as P
from synth import quality as Q
from synth.history import growth, tertial_bounds
from synth.referrals import Referrals
from synth.world import CatchmentSampler, Equipment, Institution, Person, Weighted, World, facility_typical

GROUP_MODALITIES = {
    "xray": ("DX", "CR", "MG"),
    "fluoro": ("RF",),
    "angio": ("XA",),
    "ct": ("CT",),
    "mr": ("MR",),
    "us": ("US",),
    "nm": ("NM",),
    "pet": ("PT",),
}
# Canonical unit per dose quantity (the unit_conversions seed); MBQ is Radiofarmakon's activity.
CANONICAL_UNIT = {**canonical_units(), "MBQ": "MBq"}


period_bounds = tertial_bounds
ID_DIGIT = {"raa": 1, "ord": 2, "str": 3, "orphan": 9}


def stochastic_round(rng: random.Random, x: float) -> int:
    n = math.floor(x)
    return n + (1 if rng.random() < x - n else 0)


def new_id(counters: dict[str, int], module: str, year: int, base: int = 0) -> str:
    """The next episode id of a module in a year: unique per institution over every year."""
    key = f"{module}:{year}:{base}"
    counters[key] = counters.get(key, base) + 1
    return f"{ID_DIGIT[module]}{year % 100:02d}{counters[key]:07d}"


def _days(start: dt.date, end: dt.date) -> Weighted:
    """Calendar days weighted like hospital activity: weekdays full, weekends ~15 % [A]."""
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return Weighted(days, [1.0 if d.weekday() < 5 else 0.15 for d in days])


def fmt_decimal(v: float) -> str:
    """A decimal as equipment sends it: about four significant digits, never exponent notation."""
    if v == 0:
        return "0"
    decimals = max(0, 3 - math.floor(math.log10(abs(v))))
    return f"{v:.{decimals}f}"


def at(day: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minutes)


class ActivityGenerator:
    def __init__(
        self,
        world: World,
        inst: Institution,
        rng: random.Random,
        year: int,
        referral_rng: random.Random | None = None,
        coding_rng: random.Random | None = None,
    ):
        self.world, self.inst, self.rng = world, inst, rng
        self.year = year
        # referral periods on a stream of their own: the activity is the same with or without them
        ref_rng = referral_rng or random.Random(f"referrals:{inst.orgnr}:{year}")
        self.referrals = Referrals(ref_rng, inst.orgnr, private=inst.kind == "private")
        # how the sender codes image-guided procedures (quality.py), on a stream of its own too
        self.coding_rng = coding_rng or random.Random(f"coding:{inst.orgnr}:{year}")
        self.zxm_missing_share = Q.zxm_missing_share(inst.orgnr)
        self.double_share = Q.double_reporting_share(inst.orgnr) if inst.kind == "hf" else 0.0
        self.doubles: list[tuple] = []  # raa examinations to send again in ord (ordinary())
        self.zxm_left_out = 0
        self.pool = world.pool
        self.typical_cache: dict[tuple, float] = {}
        self.counters: dict[str, int] = {}
        self.generated = {"raa": 0, "ord": 0, "orphan": 0}
        national = {m.komnr: 1.0 for m in _all_municipalities()}
        self.national = CatchmentSampler(self.pool, national, P.IMAGING_RATE_BY_AGE)
        self.local = CatchmentSampler(self.pool, inst.catchment, P.IMAGING_RATE_BY_AGE)
        # 5 % of patients from elsewhere; private institutes sell capacity to other regions [A].
        self.elsewhere = P.PRIVATE_OUT_OF_REGION_SHARE if inst.kind == "private" else 0.05
        self.reductions = {
            (site, modality): factor for site, modality, first, factor in P.DOSE_REDUCTIONS if year >= first
        }
        self._available: dict[str, dict[str, list[Equipment]]] = {}

    def new_id(self, module: str) -> str:
        self.generated[module] += 1
        return new_id(self.counters, module, self.year)

    def patient(self, day: dt.date) -> Person:
        sampler = self.national if self.rng.random() < self.elsewhere else self.local
        return sampler.draw(self.rng, day)

    def equipment(self, site) -> dict[str, list[Equipment]]:
        """The site's equipment installed by this year."""
        eqs = self._available.get(site.orgnr)
        if eqs is None:
            eqs = {m: [e for e in es if e.installed <= self.year] for m, es in site.equipment.items()}
            eqs = self._available[site.orgnr] = {m: es for m, es in eqs.items() if es}
        return eqs

    def typical(self, eq: Equipment, code: str, dose_type: str, median: float, sigma: float) -> float:
        key = (eq.equipment_id, code, dose_type)
        v = self.typical_cache.get(key)
        if v is None:
            v = facility_typical(eq, code, dose_type, median, sigma)
            v = self.typical_cache[key] = v * self.reductions.get((eq.site, eq.modality), 1.0)
        return v

    # --- dose ---------------------------------------------------------------------------------
    def dose(self, eq: Equipment, code: str, spec: dict, age: int, rad_code: str | None = None):
        """Dose indicators [(type, value as sent, unit as sent, canonical)] and radiopharmaceuticals."""
        rng = self.rng
        z = rng.gauss(0.0, 1.0)
        child = P.CHILD_DOSE_FACTOR if age < 18 else 1.0
        indicators, pharma = [], []
        for dose_type, (median, sigma) in spec.items():
            typical = self.typical(eq, code, dose_type, median, sigma)
            value = typical * child * math.exp(P.PATIENT_SIGMA * (0.8 * z + 0.6 * rng.gauss(0.0, 1.0)))
            if dose_type == "MBQ":
                pharma.append((rad_code or "ZTX6W9", fmt_decimal(value), value))
                continue
            if dose_type == "DAP":
                unit, factor = eq.dap_unit
            elif dose_type == "GJENNOMLYSNINGSTID":
                unit, factor = eq.time_unit
            else:
                unit, factor = CANONICAL_UNIT[dose_type], 1.0
            indicators.append([dose_type, fmt_decimal(value * factor), unit, value])
        return indicators, pharma

    # --- imaging (raa + its rad) ----------------------------------------------------------------
    def imaging(self):
        inst, rng = self.inst, self.rng
        weights = {
            g: share * growth(P.GROUP_YEARLY_GROWTH[g], self.year)
            for g, share in P.MODALITY_GROUP_SHARE.items()
        }
        n_exams = stochastic_round(rng, inst.imaging_volume * self.world.scale * sum(weights.values()))
        days = _days(dt.date(self.year, 1, 1), dt.date(self.year, 12, 31))
        groups = Weighted(weights, weights.values())
        catalog = {
            g: Weighted(entries, [e[1] for e in entries]) for g, entries in P.EXAMINATION_GROUPS.items()
        }
        visit_sizes = Weighted(
            [n for n, _ in P.EXAMINATIONS_PER_VISIT], [w for _, w in P.EXAMINATIONS_PER_VISIT]
        )
        site_weights = Weighted(inst.sites, [s.share for s in inst.sites])
        episodes, doses = [], []
        made = 0
        while made < n_exams:
            group = groups.draw(rng)
            capable = [s for s in inst.sites if any(m in self.equipment(s) for m in GROUP_MODALITIES[group])]
            if not capable:
                continue  # private institutes: no NM/PET/angiography; draw again
            site = site_weights.draw(rng) if len(capable) == len(inst.sites) else rng.choice(capable)
            if site not in capable:
                site = capable[0]
            available = self.equipment(site)
            day = days.draw(rng)
            person = self.patient(day)
            age = self.year - person.birth_year
            start = at(day, rng.randint(450, 1200))
            size = min(visit_sizes.draw(rng), n_exams - made)
            procs: list = []
            used: set[str] = set()
            for _ in range(size * 3):
                if len(procs) == size:
                    break
                entry = catalog[group].draw(rng)
                code, _w, modality, sex, min_age = entry[:5]
                if code in used or (sex and sex != person.sex) or age < min_age or modality not in available:
                    continue
                used.add(code)
                procs.append(entry)
            if not procs:
                continue
            ep_id = self.new_id("raa")
            pros = []
            for nr, entry in enumerate(procs, start=1):
                code, _w, modality, _sex, _age, spec = entry[:6]
                codes = [code, *self._additional(group, code)]
                eq = rng.choice(available[modality])
                pros.append({"nr": nr, "codes": codes, "equipment": eq.equipment_id, "group": group})
                if code in P.DOUBLE_REPORTED_CODES and self.coding_rng.random() < self.double_share:
                    self.doubles.append((ep_id, nr, code, person, start))
                if spec and eq.exports_dose and rng.random() >= P.DOSE_MISSING_SHARE:
                    ind, pharma = self.dose(eq, code, spec, age, entry[6] if len(entry) > 6 else None)
                    doses.append(self._dose_record(ep_id, nr, eq, start, person, ind, pharma, code))
                    if rng.random() < P.DOSE_WITHOUT_ACTIVITY_SHARE:
                        orphan = self.new_id("orphan")
                        doses.append(self._dose_record(orphan, 1, eq, start, person, ind, pharma, code))
            made += len(pros)
            inpatient = inst.kind == "hf" and rng.random() < 0.18
            ep = {
                "id": ep_id,
                "person": person,
                "komnr": person.home(self.year),
                "start": start,
                "end": start + dt.timedelta(minutes=rng.randint(10, 45)),
                "omsorg": "1" if inpatient else "3",
                "hast": "1" if rng.random() < 0.2 else "4",
                "unit": site.unit_id,
                "kontakt": "1",
                "prof": "16",
                "tiltak": "2",
                "diag": None,
                "procs": pros,
                "kodeverk": "R",
            }
            ep["ref"] = self.referrals.imaging(ep, group, self.year)
            episodes.append(ep)
        return episodes, doses

    def _additional(self, group: str, code: str) -> list[str]:
        rng = self.rng
        extra = []
        if code == "SHA0AA":
            extra.append(
                "ZTX0XC" if rng.random() < P.MAMMOGRAPHY_BILATERAL else rng.choice(("ZTX0XA", "ZTX0XB"))
            )
        elif code in P.SIDE_CODED:
            x = rng.random()
            for side, share in P.SIDE_SHARES:
                x -= share
                if x < 0:
                    extra.append(side)
                    break
        if code in P.INTRA_ARTERIAL:
            extra.append("ZTX0EE")
        elif group == "ct":
            share = P.CONTRAST_SHARE["ct_head"] if code.startswith("SAA") else P.CONTRAST_SHARE["ct"]
            if rng.random() < share:
                extra.append("ZTX0EA")
        elif group == "mr" and rng.random() < P.CONTRAST_SHARE["mr"]:
            extra.append("ZTX0EA")
        return extra

    @staticmethod
    def _dose_record(ep_id, nr, eq, start, person, indicators, pharma, code):
        return {
            "episode": ep_id,
            "pros": nr,
            "equipment": eq.equipment_id,
            "start": start,
            "person": person,
            "ind": [list(i) for i in indicators],
            "rf": list(pharma),
            "code": code,
        }

    # --- ord ----------------------------------------------------------------------------------
    def ordinary(self, public_volume_share: float):
        rng = self.rng
        inst = self.inst
        total = P.ORD_ZXM_PROCEDURES * (1 + P.ORD_EXTRA_WITHOUT_ZXM) * public_volume_share * self.world.scale
        n = stochastic_round(rng, total)
        days = _days(dt.date(self.year, 1, 1), dt.date(self.year, 12, 31))
        zxm = Weighted([z for z, _ in P.ZXM_SHARES], [s for _, s in P.ZXM_SHARES])
        by_modality = {
            e.modality: [x for x in inst.ord_equipment if x.modality == e.modality]
            for e in inst.ord_equipment
        }
        p_zxm = 1 / (1 + P.ORD_EXTRA_WITHOUT_ZXM)
        episodes, doses = [], []
        for _ in range(n):
            day = days.draw(rng)
            person = self.patient(day)
            age = self.year - person.birth_year
            start = at(day, rng.randint(420, 1080))
            ep_id = self.new_id("ord")
            left_out = False
            if rng.random() < p_zxm:
                z = zxm.draw(rng)
                code = rng.choice(P.ORD_PROCEDURES[z])
                codes = [code, z]
                # image-guided by nature, sent without its ZXM code (and so without its dose)
                left_out = Q.is_image_guided(code) and self.coding_rng.random() < self.zxm_missing_share
                if left_out:
                    codes = [code]
                    self.zxm_left_out += 1
            else:
                z, code = None, rng.choice(P.ORD_WITHOUT_ZXM)
                codes = [code]
            pros = [{"nr": 1, "codes": codes, "equipment": None, "group": "ord", "zxm_left_out": left_out}]
            if z in P.ORD_DOSE and rng.random() >= P.DOSE_MISSING_SHARE:
                modality, spec = P.ORD_DOSE[z]
                eq = rng.choice(by_modality[modality])
                ind, pharma = self.dose(eq, code, spec, age)
                if not left_out:
                    doses.append(self._dose_record(ep_id, 1, eq, start, person, ind, pharma, code))
            r = rng.random()
            ep = {
                "id": ep_id,
                "person": person,
                "komnr": person.home(self.year),
                "start": start,
                "end": start + dt.timedelta(minutes=rng.randint(30, 240)),
                "omsorg": "1" if r < 0.6 else ("2" if r < 0.85 else "3"),
                "hast": "1" if rng.random() < 0.35 else "4",
                "unit": "KIR1",
                "kontakt": "2",
                "prof": "1",
                "tiltak": "1",
                "diag": None,
                "procs": pros,
                "kodeverk": "K",
            }
            ep["ref"] = self.referrals.ordinary(ep, self.year)
            episodes.append(ep)
        # the raa examinations this sender reports twice, after its own ord procedures (same ids as
        # without them)
        for raa in self.doubles:
            episodes.append(Q.double_report(self.new_id("ord"), raa, raa[3].home(self.year)))
        return episodes, doses


def _all_municipalities():
    from synth.world import municipalities

    return municipalities()

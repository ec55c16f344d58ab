"""What happened at one institution in the year: visits, examinations, doses, procedures, RT series.

Plain dicts and tuples (fast to make, fast to write). Reporting (files, resends, corrections) is
`reporting.py`'s job; this module only decides the clinical activity and its dose.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from bisect import bisect
from itertools import accumulate

from extract.checks import canonical_units
from synth import parameters as P
from synth.world import CatchmentSampler, Equipment, Institution, Person, World, facility_typical

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


def period_bounds(year: int, period: int) -> tuple[dt.date, dt.date]:
    if period == 0:
        return dt.date(year - 1, 9, 1), dt.date(year - 1, 12, 31)
    start_month = 1 + 4 * (period - 1)
    end = dt.date(year, start_month + 4, 1) - dt.timedelta(days=1) if period < 3 else dt.date(year, 12, 31)
    return dt.date(year, start_month, 1), end


def period_of(year: int, day: dt.date) -> int:
    if day.year < year:
        return 0
    return 1 + (day.month - 1) // 4


def stochastic_round(rng: random.Random, x: float) -> int:
    n = math.floor(x)
    return n + (1 if rng.random() < x - n else 0)


class Weighted:
    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def draw(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


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
    def __init__(self, world: World, inst: Institution, rng: random.Random):
        self.world, self.inst, self.rng = world, inst, rng
        self.year = world.year
        self.pool = world.pool
        self.typical_cache: dict[tuple, float] = {}
        self.next_id = {"raa": 10_000_000, "ord": 20_000_000, "str": 30_000_000, "orphan": 90_000_000}
        national = {m.komnr: 1.0 for m in _all_municipalities()}
        self.national = CatchmentSampler(self.pool, national, P.IMAGING_RATE_BY_AGE)
        self.local = CatchmentSampler(self.pool, inst.catchment, P.IMAGING_RATE_BY_AGE)

    def new_id(self, module: str) -> str:
        self.next_id[module] += 1
        return str(self.next_id[module])

    def patient(self) -> Person:
        sampler = self.national if self.rng.random() < 0.05 else self.local  # 5 % from elsewhere [A]
        return sampler.draw(self.rng)

    def typical(self, eq: Equipment, code: str, dose_type: str, median: float, sigma: float) -> float:
        key = (eq.equipment_id, code, dose_type)
        v = self.typical_cache.get(key)
        if v is None:
            v = self.typical_cache[key] = facility_typical(eq, code, dose_type, median, sigma)
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
        n_exams = stochastic_round(rng, inst.imaging_volume * self.world.scale)
        days = _days(dt.date(self.year, 1, 1), dt.date(self.year, 12, 31))
        groups = Weighted(P.MODALITY_GROUP_SHARE, P.MODALITY_GROUP_SHARE.values())
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
            capable = [s for s in inst.sites if any(m in s.equipment for m in GROUP_MODALITIES[group])]
            if not capable:
                continue  # private institutes: no NM/PET/angiography; draw again
            site = site_weights.draw(rng) if len(capable) == len(inst.sites) else rng.choice(capable)
            if site not in capable:
                site = capable[0]
            person = self.patient()
            age = self.year - person.birth_year
            day = days.draw(rng)
            start = at(day, rng.randint(450, 1200))
            size = min(visit_sizes.draw(rng), n_exams - made)
            procs: list = []
            used: set[str] = set()
            for _ in range(size * 3):
                if len(procs) == size:
                    break
                entry = catalog[group].draw(rng)
                code, _w, modality, sex, min_age = entry[:5]
                if (
                    code in used
                    or (sex and sex != person.sex)
                    or age < min_age
                    or modality not in site.equipment
                ):
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
                eq = rng.choice(site.equipment[modality])
                pros.append({"nr": nr, "codes": codes, "equipment": eq.equipment_id, "group": group})
                if spec and eq.exports_dose and rng.random() >= P.DOSE_MISSING_SHARE:
                    ind, pharma = self.dose(eq, code, spec, age, entry[6] if len(entry) > 6 else None)
                    doses.append(self._dose_record(ep_id, nr, eq, start, person, ind, pharma, code))
                    if rng.random() < P.DOSE_WITHOUT_ACTIVITY_SHARE:
                        orphan = self.new_id("orphan")
                        doses.append(self._dose_record(orphan, 1, eq, start, person, ind, pharma, code))
            made += len(pros)
            inpatient = inst.kind == "hf" and rng.random() < 0.18
            episodes.append(
                {
                    "id": ep_id,
                    "person": person,
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
            )
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
            person = self.patient()
            age = self.year - person.birth_year
            day = days.draw(rng)
            start = at(day, rng.randint(420, 1080))
            ep_id = self.new_id("ord")
            if rng.random() < p_zxm:
                z = zxm.draw(rng)
                code = rng.choice(P.ORD_PROCEDURES[z])
                codes = [code, z]
            else:
                z, code = None, rng.choice(P.ORD_WITHOUT_ZXM)
                codes = [code]
            pros = [{"nr": 1, "codes": codes, "equipment": None, "group": "ord"}]
            if z in P.ORD_DOSE and rng.random() >= P.DOSE_MISSING_SHARE:
                modality, spec = P.ORD_DOSE[z]
                eq = rng.choice(by_modality[modality])
                ind, pharma = self.dose(eq, code, spec, age)
                doses.append(self._dose_record(ep_id, 1, eq, start, person, ind, pharma, code))
            r = rng.random()
            episodes.append(
                {
                    "id": ep_id,
                    "person": person,
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
            )
        return episodes, doses

    # --- radiotherapy ---------------------------------------------------------------------------
    def radiotherapy(self):
        inst, rng = self.inst, self.rng
        weight = inst.rt_share
        window_start = dt.date(self.year - 1, 9, 1)
        window_end = dt.date(self.year, 12, 31)
        span = ((window_end - window_start).days + 1) / 365.0
        n_series = stochastic_round(rng, P.RT_SERIES * self.world.scale * weight * span)
        sampler = CatchmentSampler(self.pool, inst.rt_catchment, P.RT_RATE_BY_AGE)
        diagnoses = Weighted(P.RT_DIAGNOSES, [d[1] for d in P.RT_DIAGNOSES])
        days = _days(window_start, window_end)
        short = inst.orgnr[-3:]
        series_list, episodes = [], []
        for n in range(n_series):
            for _ in range(50):  # a diagnosis that fits the person's sex and age
                person = sampler.draw(rng)
                diag = diagnoses.draw(rng)
                age = self.year - person.birth_year
                if (diag[3] is None or diag[3] == person.sex) and age >= P.RT_MIN_AGE[diag[0]]:
                    break
            name, _share, icd, _sex, schedules, volumes = diag
            sched = Weighted(schedules, [s[2] for s in schedules]).draw(rng)
            total, fractions, _s, intent = sched
            first = days.draw(rng)
            while first.weekday() >= 5:
                first += dt.timedelta(days=1)
            serie = f"S{short}{first.year % 100:02d}{n + 1:05d}"
            vols = [volumes[0]]
            if len(volumes) > 1 and (name == "head_neck" or rng.random() < P.RT_SECONDARY_VOLUME_SHARE):
                vols = list(volumes)
            per_fraction = total / fractions
            refvols = [
                {
                    "id": f"{serie}-{i + 1}",
                    "name": vname,
                    "region": region,
                    "fx": round(per_fraction * factor, 2),
                    "planned": round(total * factor, 2),
                }
                for i, (vname, region, factor) in enumerate(vols)
            ]
            curative = intent == "1"
            plan_codes = P.RT_PLANNING_CURATIVE if curative else P.RT_PLANNING_PALLIATIVE
            plan_code = Weighted([c for c, _ in plan_codes], [s for _, s in plan_codes]).draw(rng)
            linac = rng.choice(inst.rt_linacs)
            inpatient = rng.random() < (P.RT_INPATIENT_SHARE * (2.0 if not curative else 0.7))
            series = {
                "id": serie,
                "person": person,
                "diag": rng.choice(icd),
                "intent": intent,
                "new": "1" if rng.random() < P.RT_NEW_PATIENT_SHARE else "2",
                "first": first,
                "name": f"{name} {total:g} Gy / {fractions}",
                "volumes": refvols,
                "fractions": fractions,
            }
            series_list.append(series)
            plan_day = first - dt.timedelta(days=rng.randint(*P.RT_PLAN_TO_START_DAYS))
            omsorg = "8" if inpatient else "3"
            episodes.append(self._rt_episode(series, plan_day, plan_code, omsorg, None, "2"))
            day = first
            step = 2 if fractions <= 5 and per_fraction >= 7 else 1  # SBRT every other day [A]
            code = (
                P.RT_SPECIAL_TREATMENT_CODE
                if (fractions == 1 and name == "brain_metastases")
                else P.RT_TREATMENT_CODE
            )
            for _ in range(fractions):
                if day > window_end:
                    break
                machine = rng.choice(inst.rt_linacs) if rng.random() < P.RT_MACHINE_SWITCH_SHARE else linac
                contributions = []
                for v in refvols:
                    given = v["fx"]
                    if rng.random() < P.RT_GIVEN_DEVIATION_SHARE:
                        given = round(v["fx"] * rng.uniform(0.9, 1.02), 2)
                    contributions.append((v["id"], v["fx"], given))
                episodes.append(
                    self._rt_episode(series, day, code, omsorg, (machine.equipment_id, contributions), "2")
                )
                day += dt.timedelta(days=step)
                while day.weekday() >= 5:
                    day += dt.timedelta(days=1)
        return series_list, episodes

    def _rt_episode(self, series, day, code, omsorg, attendance, kontakt):
        start = at(day, self.rng.randint(480, 960))
        return {
            "id": self.new_id("str"),
            "person": series["person"],
            "start": start,
            "end": start + dt.timedelta(minutes=self.rng.randint(10, 30) if attendance else 60),
            "omsorg": omsorg,
            "hast": "4",
            "unit": "STR1",
            "kontakt": kontakt,
            "prof": "29",
            "tiltak": "1",
            "diag": series["diag"],
            "serie": series["id"],
            "attendance": attendance,
            "procs": [{"nr": 1, "codes": [code], "equipment": None, "group": "rt"}],
            "kodeverk": "M",
        }


def _all_municipalities():
    from synth.world import municipalities

    return municipalities()

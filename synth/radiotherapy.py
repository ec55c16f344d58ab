"""Radiotherapy at one centre over the whole history: series, plans, replans and fractions.

Series are drawn per calendar year (and, before the first year, an autumn lead-in so that the first
January already has courses under way) and run on into the next year when they start late. Ids are
unique per institution over every year: episodes `3<yy><7 digits>`, series `S<centre><yy><5 digits>`
with the year of the series' start; the lead-in numbers from 5,000,000 / 90,000.
"""

from __future__ import annotations

import datetime as dt
import random

from synth import parameters as P
from synth.activity import _days, at, new_id, stochastic_round
from synth.history import growth, hypo_factor
from synth.referrals import Referrals
from synth.world import CatchmentSampler, Institution, Person, Weighted, World

METASTASES = ("bone_metastases", "brain_metastases")


def fits(code: str, person: Person) -> bool:
    sex = P.SEX_SPECIFIC_DIAGNOSES.get(code)
    return sex is None or sex == person.sex


class RadiotherapyGenerator:
    def __init__(self, world: World, inst: Institution, seed: int):
        self.world, self.inst, self.seed = world, inst, seed
        self.counters: dict[str, int] = {}
        self.sampler = CatchmentSampler(world.pool, inst.rt_catchment, P.RT_RATE_BY_AGE)
        self.groups = {d[0]: d for d in P.RT_DIAGNOSES}
        self.treated: list[tuple[dt.date, Person, str]] = []  # (first day, person, group)
        self.episodes_made = 0

    def run(self) -> tuple[list[dict], list[dict]]:
        first, last = self.world.years[0], self.world.years[-1]
        self.end = dt.date(last, 12, 31)
        windows = [(first - 1, dt.date(first - 1, 9, 1), dt.date(first - 1, 12, 31), 5_000_000, 90_000)]
        windows += [(y, dt.date(y, 1, 1), dt.date(y, 12, 31), 0, 0) for y in self.world.years]
        series_list: list[dict] = []
        episodes: list[dict] = []
        for year, start, end, id_base, serie_base in windows:
            rng = random.Random(f"{self.seed}:{self.inst.orgnr}:rt:{year}:{start.month}")
            # referral periods on a stream of their own: the series are the same with or without them
            self.referrals = Referrals(
                random.Random(f"{self.seed}:{self.inst.orgnr}:rt:{year}:{start.month}:referrals"),
                self.inst.orgnr,
            )
            span = ((end - start).days + 1) / 365.0
            expected = P.RT_SERIES * self.world.scale * self.inst.rt_share * span
            n_series = stochastic_round(rng, expected * growth(P.RT_YEARLY_GROWTH, year))
            days = _days(start, end)
            firsts = sorted(days.draw(rng) for _ in range(n_series))
            for n, first_day in enumerate(firsts):
                while first_day.weekday() >= 5:
                    first_day += dt.timedelta(days=1)
                serie = f"S{self.inst.orgnr[-3:]}{year % 100:02d}{serie_base + n + 1:05d}"
                s, eps = self._series(rng, year, serie, first_day, id_base, start)
                series_list.append(s)
                episodes += eps
        return series_list, episodes

    # --- one series -------------------------------------------------------------------------------
    def _patient(self, rng: random.Random, year: int, day: dt.date):
        """(person, diagnosis group, new patient?): a further series for someone treated recently,
        or a new patient whose sex and age fit the diagnosis."""
        if self.treated and rng.random() < P.RT_REPEAT_SHARE:
            recent = [
                t
                for t in self.treated[-400:]
                if 21 <= (day - t[0]).days <= P.RT_REPEAT_WINDOW_DAYS and t[1].alive(day)
            ]
            if recent:
                _, person, group = rng.choice(recent)
                if group not in METASTASES:
                    group = "bone_metastases" if rng.random() < 0.75 else "brain_metastases"
                return person, self.groups[group], False
        diagnoses = Weighted(P.RT_DIAGNOSES, [d[1] for d in P.RT_DIAGNOSES])
        for _ in range(50):  # a diagnosis that fits the person's sex and age
            person = self.sampler.draw(rng, day)
            diag = diagnoses.draw(rng)
            age = year - person.birth_year
            if (
                (diag[3] is None or diag[3] == person.sex)
                and age >= P.RT_MIN_AGE[diag[0]]
                and any(fits(c, person) for c in diag[2])
            ):
                break
        return person, diag, rng.random() < P.RT_NEW_PATIENT_SHARE / (1 - P.RT_REPEAT_SHARE)

    def _series(self, rng, year, serie, first, id_base, window_start):
        person, diag, new = self._patient(rng, year, first)
        name, _share, icd, _sex, schedules, volumes = diag
        hypo = hypo_factor(year)
        weights = [s[2] * (hypo if s[3] == "1" and s[1] <= 5 else 1.0) for s in schedules]
        total, fractions, _s, intent = Weighted(schedules, weights).draw(rng)
        self.treated.append((first, person, name))
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
        linac = rng.choice(self.inst.rt_linacs)
        inpatient = rng.random() < (P.RT_INPATIENT_SHARE * (2.0 if not curative else 0.7))
        series = {
            "id": serie,
            "person": person,
            "diag": rng.choice([c for c in icd if fits(c, person)] or list(icd)),
            "intent": intent,
            "new": "1" if new else "2",
            "first": first,
            "name": f"{name} {total:g} Gy / {fractions}",
            "volumes": refvols,
            "fractions": fractions,
        }
        omsorg = "8" if inpatient else "3"
        plan_day = max(first - dt.timedelta(days=rng.randint(*P.RT_PLAN_TO_START_DAYS)), window_start)
        ref = self.referrals.radiotherapy(serie, intent, plan_day, person)

        def episode(day, code, attendance):
            self.episodes_made += 1
            start = at(day, rng.randint(480, 960))
            return {
                "id": new_id(self.counters, "str", year, id_base),
                "person": person,
                "komnr": person.home(day.year),
                "start": start,
                "end": start + dt.timedelta(minutes=rng.randint(10, 30) if attendance else 60),
                "omsorg": omsorg,
                "hast": "4",
                "unit": "STR1",
                "kontakt": "2",
                "prof": "29",
                "tiltak": "1",
                "diag": series["diag"],
                "serie": serie,
                "ref": ref,
                "attendance": attendance,
                "procs": [{"nr": 1, "codes": [code], "equipment": None, "group": "rt"}],
                "kodeverk": "M",
            }

        episodes = [episode(plan_day, plan_code, None)]
        replan_at = -1
        if fractions >= 10 and rng.random() < P.RT_REPLAN_SHARE[intent]:
            replan_at = rng.randint(fractions // 3, 2 * fractions // 3)
        day = first
        step = 2 if fractions <= 5 and per_fraction >= 7 else 1  # SBRT every other day [A]
        code = (
            P.RT_SPECIAL_TREATMENT_CODE
            if (fractions == 1 and name == "brain_metastases")
            else P.RT_TREATMENT_CODE
        )
        for k in range(fractions):
            if day > self.end or not person.alive(day):
                break  # not yet happened at the end of the history, or the patient died
            if k == replan_at:
                episodes.append(episode(day, plan_code, None))
            machine = rng.choice(self.inst.rt_linacs) if rng.random() < P.RT_MACHINE_SWITCH_SHARE else linac
            contributions = []
            for v in refvols:
                given = v["fx"]
                if rng.random() < P.RT_GIVEN_DEVIATION_SHARE:
                    given = round(v["fx"] * rng.uniform(0.9, 1.02), 2)
                contributions.append((v["id"], v["fx"], given))
            episodes.append(episode(day, code, (machine.equipment_id, contributions)))
            day += dt.timedelta(days=step)
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
        return series, episodes

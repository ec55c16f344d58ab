"""One unit of parallel work: everything one institution sends over the history, and its truth.

Activity is drawn per year (imaging, `ord`) and over the whole history (radiotherapy, whose series
cross year ends); each (module, year, tertial) slot then becomes files: the first `B`, maybe a
resend, maybe an `E`, with planted faults as the plan says. Every file has its extraction and
arrival dates fixed before anything is written; with `as_of` only the files that had arrived by then
are written (a file already on disk with the same bytes is left alone) and the truth is the state
those files give.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extract.model.messages import EPISODE_MODULES
from synth import corrections as C
from synth import history as H
from synth import parameters as P
from synth import quality as Q
from synth.activity import CANONICAL_UNIT as CANONICAL
from synth.activity import ActivityGenerator
from synth.radiotherapy import RadiotherapyGenerator
from synth.referrals import wait_columns
from synth.reporting import Reporter, canonical
from synth.world import World

MODULE_ORDER = {"str": 0, "raa": 1, "ord": 2, "rad": 3, "ide": 4}
Slot = tuple[str, int, int]  # (module, year, tertial)


def slots_of(world: World, orgnr: str) -> list[Slot]:
    """The (module, year, tertial) slots an institution reports (known before any activity)."""
    inst = world.institutions[orgnr]
    out: list[Slot] = []
    if inst.rt_orgnr:  # the autumn before the first year: radiotherapy courses under way
        out += [("str", world.years[0] - 1, 3), ("ide", world.years[0] - 1, 3)]
    for year in world.years:
        for t in (1, 2, 3):
            out += [("raa", year, t), ("rad", year, t)]
            if inst.kind == "hf":
                out.append(("ord", year, t))
            if inst.rt_orgnr:
                out.append(("str", year, t))
            out.append(("ide", year, t))
    return out


class InstitutionTask:
    def __init__(self, world: World, orgnr: str, out: Path, plan: dict, seed: int, as_of: dt.date | None):
        self.world, self.orgnr, self.out, self.plan, self.seed = world, orgnr, out, plan, seed
        self.inst = world.institutions[orgnr]
        self.as_of = as_of or dt.date.max
        self.rng = random.Random(f"{seed}:{orgnr}")

    def run(self) -> dict:
        inst = self.inst
        items: dict[Slot, list[dict]] = {}
        self.typical: list[tuple] = []
        self.generated = {
            "raa_visits": 0,
            "ord_procedures": 0,
            "dose_records_without_activity": 0,
            "ord_zxm_left_out": 0,
            "ord_double_reports": 0,
        }

        def add(module: str, records: list[dict]) -> None:
            for x in records:
                items.setdefault((module, *H.tertial_of(x["start"].date())), []).append(x)

        for year in self.world.years:
            gen = ActivityGenerator(
                self.world,
                inst,
                random.Random(f"{self.seed}:{self.orgnr}:{year}"),
                year,
                referral_rng=random.Random(f"{self.seed}:{self.orgnr}:{year}:referrals"),
                coding_rng=random.Random(f"{self.seed}:{self.orgnr}:{year}:coding"),
            )
            raa, doses = gen.imaging()
            add("raa", raa)
            if inst.kind == "hf":
                public = sum(w for w, _ in P.HOSPITALS.values())
                ord_eps, ord_doses = gen.ordinary(P.HOSPITALS[inst.orgnr][0] / public)
                add("ord", ord_eps)
                doses += ord_doses
            add("rad", doses)
            self.typical += [
                (self.orgnr, year, eq, code, d, v, CANONICAL[d])
                for (eq, code, d), v in sorted(gen.typical_cache.items())
            ]
            self.generated["raa_visits"] += gen.generated["raa"]
            self.generated["ord_procedures"] += gen.generated["ord"]
            self.generated["dose_records_without_activity"] += gen.generated["orphan"]
            self.generated["ord_zxm_left_out"] += gen.zxm_left_out
            self.generated["ord_double_reports"] += len(gen.doubles) if inst.kind == "hf" else 0
        self.series: dict[str, dict] = {}
        self.str_eps: list[dict] = []
        if inst.rt_orgnr:
            rt = RadiotherapyGenerator(self.world, inst, self.seed)
            series, self.str_eps = rt.run()
            self.series = {s["id"]: s for s in series}
            add("str", self.str_eps)
            self.generated["str_episodes"] = rt.episodes_made
            self.generated["rt_series"] = len(series)
        events: list[dict] = []
        for module, year, t in sorted(items, key=lambda s: (s[1], s[2], MODULE_ORDER[s[0]])):
            flags = self.plan.get((module, year, t), {})
            events += self._slot_events(module, (year, t), items[(module, year, t)], flags)
        events += self._ide_events(events)
        events.sort(key=lambda e: (e["uttak"], e["order"], e["slot"], e["kind"]))
        self._number(events)
        rep = Reporter(self.world, inst, self.out)
        for e in events:
            if e["arrival"] <= self.as_of:
                self._write(rep, e)
        truth = self._truth(events)
        truth["files"] = rep.files
        truth["pending"] = [e["arrival"] for e in events if e["arrival"] > self.as_of]
        return truth

    def _number(self, events: list[dict]) -> None:
        """lopenr: the sender's sequence number, counted per year of extraction."""
        counters: dict[int, int] = {}
        for e in events:
            year = e["uttak"].year
            counters[year] = counters.get(year, 0) + 1
            e["lopenr"] = f"{year}{counters[year]:06d}"

    def _write(self, rep: Reporter, e: dict) -> None:
        module, kind, (year, t) = e["module"], e["kind"], e["slot"]
        rng = random.Random(f"{self.seed}:{self.orgnr}:{e['lopenr']}")
        flags = self.plan.get((module, year, t), {})
        meta = (year, t, kind, e["uttak"], e["arrival"], e["lopenr"], rng)
        if kind == "IDE":
            entry = rep.write_ide_file(meta, e["persons"], plant=flags.get("findings"))
        elif module == "rad":
            entry = rep.write_dose_file(meta, e["items"], plant=e.get("findings"))
        else:
            entry = rep.write_episode_file(
                module, meta, e["items"], e.get("deletions", ()), e.get("series"), plant=e.get("findings")
            )
        if kind in ("B1", "IDE"):
            if flags.get("fault"):
                rep.faulty(entry, flags["fault"], rng)
            dup_arrival = e["arrival"] + dt.timedelta(days=rng.randint(*P.DUPLICATE_AFTER_DAYS))
            if flags.get("duplicate") and dup_arrival <= self.as_of:
                rep.duplicate(entry, dup_arrival)

    # --- one slot: B1, maybe B2 resend, maybe E ---------------------------------------------------
    def _slot_events(self, module: str, slot: tuple[int, int], content: list, flags: dict) -> list[dict]:
        rng = self.rng
        if not content:
            return []  # nothing happened: no file (NPR gets no empty deliveries here)
        _, end = H.tertial_bounds(*slot)
        base = {"module": module, "slot": slot, "order": MODULE_ORDER[module]}

        def event(kind: str, uttak: dt.date, **kw) -> dict:
            return {**base, "kind": kind, "uttak": uttak, "arrival": H.arrival(rng, uttak), **kw}

        d1 = end + dt.timedelta(days=rng.randint(*P.UPLOAD_DELAY_DAYS))
        series_v1 = dict(self.series) if module == "str" else None
        v1, findings = C.plant(rng, module, content, dict(flags.get("findings", {})))
        events = [event("B1", d1, items=v1, findings=findings, series=series_v1, state=(v1, series_v1))]
        state, series_state = v1, series_v1
        if flags.get("resend"):
            v2, series_v2 = C.resend(rng, module, slot, content, self.series, self.str_eps)
            d2 = H.resend_day(rng, *slot)
            state, series_state = v2, series_v2
            events.append(event("B2", d2, items=v2, series=series_v2, state=(state, series_state)))
        if flags.get("e") and module in EPISODE_MODULES and len(state) >= 3:
            changed, deleted, state = C.change(rng, module, state)
            d3 = end + dt.timedelta(days=rng.randint(*P.E_DELAY_DAYS))
            events.append(
                event(
                    "E",
                    d3,
                    items=changed,
                    deletions=deleted,
                    series=series_state,
                    state=(state, series_state),
                )
            )
        return events

    def _ide_events(self, events: list[dict]) -> list[dict]:
        """One person-identification file per tertial, the day after its last first B file."""
        out = []
        for slot in sorted({e["slot"] for e in events}):
            b1 = [e for e in events if e["slot"] == slot and e["kind"] == "B1"]
            uttak = max(e["uttak"] for e in b1) + dt.timedelta(days=1)
            persons = {
                x["person"].person_id: x["person"]
                for e in events
                if e["slot"] == slot and e["uttak"] < uttak
                for x in e["items"]
            }
            if persons:
                ide = {"module": "ide", "slot": slot, "order": MODULE_ORDER["ide"], "kind": "IDE"}
                ide.update(uttak=uttak, arrival=H.arrival(self.rng, uttak), items=[], persons=persons)
                out.append(ide)
        return out

    def _current(self, events: list[dict]) -> tuple[dict[str, list[dict]], dict[str, dict]]:
        """The state the arrived files give: per slot, the state after its last arrived file."""
        final: dict[str, list[dict]] = {m: [] for m in ("raa", "ord", "str", "rad")}
        final_series: dict[str, dict] = {}
        last: dict[tuple, dict] = {}
        for e in events:
            if e["kind"] != "IDE" and e["arrival"] <= self.as_of:
                last[(e["module"], e["slot"])] = e
        for (module, _slot), e in sorted(last.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            state, series_state = e["state"]
            final[module].extend(state)
            if module == "str":
                for ep in state:
                    final_series[ep["serie"]] = series_state[ep["serie"]]
        return final, final_series

    # --- truth ------------------------------------------------------------------------------------
    def _truth(self, events: list[dict]) -> dict:
        final, final_series = self._current(events)
        org = self.orgnr
        exams = []
        activity = set()
        for module in ("raa", "ord"):
            for ep in final[module]:
                day = ep["start"].date().isoformat()
                person = ep["person"].person_id
                for p in ep["procs"]:
                    activity.add((ep["id"], p["nr"]))
                    codes = p["codes"]
                    waits = wait_columns(ep.get("ref"), ep["start"].date())
                    if module == "raa":
                        exams.append(
                            (
                                org,
                                ep["id"],
                                p["nr"],
                                codes[0],
                                "raa",
                                codes[0][5:6] or None,
                                None,
                                day,
                                *waits,
                                person,
                            )
                        )
                    elif len(codes) > 1 and codes[1].startswith("ZXM"):
                        exams.append(
                            (org, ep["id"], p["nr"], codes[0], "ord", None, codes[1], day, *waits, person)
                        )
        doses = []
        n_ind = n_rf = 0
        for r in final["rad"]:
            has = (r["episode"], r["pros"]) in activity
            for ind in r["ind"]:
                n_ind += 1
                doses.append(
                    (
                        org,
                        r["episode"],
                        r["pros"],
                        ind[0],
                        canonical(ind),
                        CANONICAL[ind[0]],
                        ind[1],
                        ind[2],
                        r.get("ref_equipment", r["equipment"]),
                        r["code"],
                        has,
                        r.get("finding"),
                    )
                )
            for code, mbq, _v in r["rf"]:
                n_rf += 1
                doses.append(
                    (
                        org,
                        r["episode"],
                        r["pros"],
                        "MBQ",
                        float(mbq),
                        "MBq",
                        mbq,
                        "MBq",
                        r["equipment"],
                        code,
                        has,
                        None,
                    )
                )
        by_series: dict[str, list[dict]] = {}
        plans = attendances = 0
        for ep in final["str"]:
            if ep["attendance"]:
                attendances += 1
                by_series.setdefault(ep["serie"], []).append(ep)
            else:
                plans += 1
        rt = []
        for sid, eps in sorted(by_series.items()):
            s = final_series[sid]
            main = s["volumes"][0]
            delivered = sum(c[2] for ep in eps for c in ep["attendance"][1] if c[0] == main["id"])
            # the wait runs to the first fraction still current (every episode names the same period)
            first_fraction = min(ep["start"].date() for ep in eps)
            ref = next((ep["ref"] for ep in eps if ep.get("ref")), None)
            rt.append(
                (
                    org,
                    sid,
                    s["first"].isoformat(),
                    s["diag"],
                    len(eps),
                    round(delivered, 2),
                    main["planned"],
                    main["fx"],
                    s["intent"],
                    s["new"] == "1",
                    *wait_columns(ref, first_fraction),
                    first_fraction.isoformat(),
                )
            )
        typical = self.typical
        parts = self.out / "_truth" / "current" / "_parts"
        parts.mkdir(parents=True, exist_ok=True)
        _write(parts / f"examinations-{org}.parquet", EXAM_SCHEMA, exams)
        _write(parts / f"doses-{org}.parquet", DOSE_SCHEMA, doses)
        _write(parts / f"rt_series-{org}.parquet", RT_SCHEMA, rt)
        _write(parts / f"facility_typical_values-{org}.parquet", TYPICAL_SCHEMA, typical)
        ord_rows = Q.ord_procedure_rows(org, final["ord"], final["raa"])
        _write(parts / f"ord_procedures-{org}.parquet", Q.ORD_PROCEDURE_SCHEMA, ord_rows)
        persons: set[str] = set()
        for m in ("raa", "ord", "str", "rad"):
            persons.update(x["person"].person_id for x in final[m])
        current = {
            "raa": {"episodes": len(final["raa"]), "examinations": sum(1 for e in exams if e[4] == "raa")},
            "ord": {"episodes": len(final["ord"]), "examinations": sum(1 for e in exams if e[4] == "ord")},
            "str": {
                "episodes": len(final["str"]),
                "rt_series": len(rt),
                "rt_attendances": attendances,
                "dose_plans": plans,
            },
            "rad": {"dose_events": len(final["rad"]), "dose_indicators": n_ind, "radiopharmaceuticals": n_rf},
        }
        # referral periods are context (like Pasient): every one sent in an arrived file stays
        sent: dict[str, set[str]] = {m: set() for m in EPISODE_MODULES}
        for e in events:
            if e["kind"] != "IDE" and e["module"] in sent and e["arrival"] <= self.as_of:
                sent[e["module"]].update(x["ref"][0] for x in e["items"] if x.get("ref"))
        for module, ids in sent.items():
            current[module]["referral_periods"] = len(ids)
        eq_counts: dict[str, int] = {}
        for site in self.inst.sites:
            for mod, eqs in site.equipment.items():
                eq_counts[mod] = eq_counts.get(mod, 0) + len(eqs)
        eq_counts["RT"] = len(self.inst.rt_linacs)
        return {
            "current": current,
            "persons": persons,
            "equipment": eq_counts,
            "generated": dict(self.generated),
        }


EXAM_SCHEMA = pa.schema(
    [
        ("institution", pa.string()),
        ("episode_id", pa.string()),
        ("procedure_number", pa.int32()),
        ("procedure_code", pa.string()),
        ("module", pa.string()),
        ("modality", pa.string()),
        ("guidance_code", pa.string()),
        ("date", pa.string()),
        ("referral_id", pa.string()),  # Henvisningsperiode/@henvisningsperiodeID, none without one
        ("seniority_date", pa.string()),  # its ansiennitetsdato
        ("wait_days", pa.int32()),  # examination date - ansiennitetsdato
        # the synthetic person (world.Person.person_id): one person across institutions and years
        ("person_id", pa.int64()),
    ]
)
DOSE_SCHEMA = pa.schema(
    [
        ("institution", pa.string()),
        ("episode_id", pa.string()),
        ("procedure_number", pa.int32()),
        ("dose_type", pa.string()),
        ("value", pa.float64()),
        ("unit", pa.string()),
        ("value_as_sent", pa.string()),
        ("unit_as_sent", pa.string()),
        ("equipment_id", pa.string()),
        ("procedure_code", pa.string()),
        ("has_activity", pa.bool_()),
        ("finding", pa.string()),
    ]
)
RT_SCHEMA = pa.schema(
    [
        ("institution", pa.string()),
        ("series_id", pa.string()),
        ("start_date", pa.string()),
        ("diagnosis_code", pa.string()),
        ("fractions_delivered", pa.int32()),
        ("delivered_dose_gy", pa.float64()),
        ("planned_total_dose_gy", pa.float64()),
        ("dose_per_fraction_gy", pa.float64()),
        ("intent", pa.string()),
        ("is_new_patient", pa.bool_()),
        ("referral_id", pa.string()),  # the series' Henvisningsperiode, none without one
        ("seniority_date", pa.string()),  # its ansiennitetsdato
        ("wait_days", pa.int32()),  # first current treatment fraction - ansiennitetsdato
        ("first_treatment_date", pa.string()),
    ]
)
TYPICAL_SCHEMA = pa.schema(
    [
        ("institution", pa.string()),
        ("year", pa.int32()),
        ("equipment_id", pa.string()),
        ("procedure_code", pa.string()),
        ("dose_type", pa.string()),
        ("typical_value", pa.float64()),
        ("unit", pa.string()),
    ]
)


def _write(path: Path, schema: pa.Schema, rows: list[tuple]) -> None:
    cols: list = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    table = pa.table(
        [pa.array(list(c), type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema
    )
    pq.write_table(table, path)

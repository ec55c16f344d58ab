"""One unit of parallel work: everything one institution sends for the year, and its truth."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extract.model import faults as F
from extract.model.messages import EPISODE_MODULES
from synth import parameters as P
from synth.activity import CANONICAL_UNIT as CANONICAL
from synth.activity import ActivityGenerator, fmt_decimal, period_bounds, period_of
from synth.reporting import Reporter, canonical
from synth.world import World

MODULE_ORDER = {"str": 0, "raa": 1, "ord": 2, "rad": 3, "ide": 4}


def slots_of(world: World, orgnr: str) -> list[tuple[str, int]]:
    """The (module, period) slots an institution reports (known before any activity exists)."""
    inst = world.institutions[orgnr]
    out = []
    for period in (1, 2, 3):
        out += [("raa", period), ("rad", period)]
        if inst.kind == "hf":
            out.append(("ord", period))
        if inst.rt_orgnr:
            out.append(("str", period))
        out.append(("ide", period))
    if inst.rt_orgnr:
        out += [("str", 0), ("ide", 0)]
    return out


def _copy_ep(ep: dict) -> dict:
    new = dict(ep)
    new["procs"] = [dict(p, codes=list(p["codes"])) for p in ep["procs"]]
    return new


def _copy_rec(r: dict) -> dict:
    return dict(r, ind=[list(i) for i in r["ind"]], rf=list(r["rf"]))


class InstitutionTask:
    def __init__(self, world: World, orgnr: str, out: Path, plan: dict, seed: int):
        self.world, self.orgnr, self.out, self.plan = world, orgnr, out, plan
        self.inst = world.institutions[orgnr]
        self.rng = random.Random(f"{seed}:{orgnr}")
        self.year = world.year

    def run(self) -> dict:
        inst, rng, year = self.inst, self.rng, self.year
        gen = ActivityGenerator(self.world, inst, rng)
        raa, raa_doses = gen.imaging()
        ord_eps, ord_doses = [], []
        if inst.kind == "hf":
            public = sum(w for w, _ in P.HOSPITALS.values())
            ord_eps, ord_doses = gen.ordinary(P.HOSPITALS[inst.orgnr][0] / public)
        series, str_eps = [], []
        if inst.rt_orgnr:
            series, str_eps = gen.radiotherapy()
        self.series = {s["id"]: s for s in series}
        self.str_eps = str_eps
        items = {"raa": raa, "ord": ord_eps, "str": str_eps, "rad": raa_doses + ord_doses}
        rep = Reporter(self.world, inst, rng, self.out)
        events = []
        final: dict[str, list[dict]] = {m: [] for m in items}
        final_series: dict[str, dict] = {}
        for module, period in slots_of(self.world, self.orgnr):
            if module == "ide":
                continue
            flags = self.plan.get((module, period), {})
            content = [x for x in items[module] if period_of(year, x["start"].date()) == period]
            events += self._slot_events(module, period, content, flags, final, final_series)
        for period in sorted({p for m, p in slots_of(self.world, self.orgnr) if m == "ide"}):
            last_b1 = max((e[0] for e in events if e[2] == period and e[3] == "B1"), default=None)
            uttak = (last_b1 or period_bounds(year, period)[1] + dt.timedelta(days=20)) + dt.timedelta(days=1)
            events.append((uttak, 4, period, "IDE", "ide", None))
        events.sort(key=lambda e: (e[0], e[1], e[2], e[3]))
        for uttak, _order, period, kind, module, payload in events:
            flags = self.plan.get((module, period), {})
            if kind == "IDE":
                if not rep.persons_by_period.get(period):
                    continue
                entry, _ = rep.write_ide_file(period, uttak, plant=flags.get("findings"))
            elif module == "rad":
                entry = rep.write_dose_file(
                    period, kind, uttak, payload["items"], plant=payload.get("findings")
                )
            else:
                entry = rep.write_episode_file(
                    module,
                    period,
                    kind,
                    uttak,
                    payload["items"],
                    payload.get("deletions", ()),
                    payload.get("series"),
                    plant=payload.get("findings"),
                )
            if kind in ("B1", "IDE"):
                if flags.get("fault"):
                    rep.faulty(entry, flags["fault"])
                if flags.get("duplicate"):
                    rep.duplicate(entry)
        truth = self._truth(final, final_series, gen)
        truth["files"] = rep.files
        return truth

    # --- one slot: B1, maybe B2 resend, maybe E ---------------------------------------------------
    def _slot_events(self, module, period, content, flags, final, final_series):
        rng = self.rng
        if not content:
            return []  # nothing happened: no file (NPR gets no empty deliveries here)
        _, end = period_bounds(self.year, period)
        d1 = end + dt.timedelta(days=rng.randint(*P.UPLOAD_DELAY_DAYS))
        order = MODULE_ORDER[module]
        series_v1 = {sid: s for sid, s in self.series.items()} if module == "str" else None
        v1, findings = self._plant(module, content, dict(flags.get("findings", {})))
        events = [(d1, order, period, "B1", module, {"items": v1, "findings": findings, "series": series_v1})]
        state, series_state = v1, series_v1
        if flags.get("resend") and content:
            v2, series_v2 = self._resend(module, period, content)
            d2 = end + dt.timedelta(days=rng.randint(*P.RESEND_DELAY_DAYS))
            events.append((d2, order, period, "B2", module, {"items": v2, "series": series_v2}))
            state, series_state = v2, series_v2
        if flags.get("e") and module in EPISODE_MODULES and len(state) >= 3:
            changed, deleted, state = self._change(module, state)
            d3 = end + dt.timedelta(days=rng.randint(*P.E_DELAY_DAYS))
            events.append(
                (
                    d3,
                    order,
                    period,
                    "E",
                    module,
                    {"items": changed, "deletions": deleted, "series": series_state},
                )
            )
        final[module].extend(state)
        if module == "str":
            assert series_state is not None  # str always carries its series
            for ep in state:
                final_series[ep["serie"]] = series_state[ep["serie"]]
        return events

    def _plant(self, module, content, findings):
        """Copies of a few records with the planted problems; drops findings that cannot occur."""
        out = list(content)
        rng = self.rng
        planted = {}
        used: set[int] = set()  # one planted problem per record
        for cls, n in findings.items():
            if cls == F.DUPLICATE_KEY:
                planted[cls] = 1  # the first Utstyr of the register twice
                continue
            if cls == F.INVALID_FODSELSNUMMER:
                continue
            targets = [
                i
                for i, x in enumerate(out)
                if i not in used
                and (module != "str" or x.get("attendance"))
                and (module != "rad" or x["ind"])
            ]
            if not targets:
                continue
            done = 0
            for i in rng.sample(targets, min(n, len(targets))):
                x = _copy_rec(out[i]) if module == "rad" else _copy_ep(out[i])
                if cls == F.DANGLING_REFERENCE:
                    if module == "rad":
                        x["ref_equipment"] = "0000-XX99"
                    elif module == "str":
                        x["ref_equipment"] = "0000-RT99"
                    else:
                        x["ref_unit"] = "UKJENT99"
                elif cls == F.UNKNOWN_CODE and module in ("raa", "ord"):
                    x["procs"][0]["codes"][0] = P.UNKNOWN_NCRP_CODE if module == "raa" else "XXX99"
                elif (
                    module == "rad"
                    and x["ind"]
                    and cls in (F.NEGATIVE_DOSE, F.IMPLAUSIBLE_DOSE, F.UNKNOWN_UNIT)
                ):
                    ind = x["ind"][0]
                    if cls == F.NEGATIVE_DOSE:
                        ind[1] = "-" + ind[1]
                        ind[3] = -ind[3]
                    elif cls == F.IMPLAUSIBLE_DOSE:
                        ind[1] = f"{float(ind[1]) * P.IMPLAUSIBLE_FACTOR:.1f}"
                        ind[3] = ind[3] * P.IMPLAUSIBLE_FACTOR
                    else:
                        ind[2] = P.UNKNOWN_UNIT
                    x["finding"] = cls
                else:
                    continue
                out[i] = x
                used.add(i)
                done += 1
            if done:
                planted[cls] = done
        return out, planted

    def _new_code(self, ep: dict) -> None:
        """A corrected main code: another examination of the same kind."""
        p = ep["procs"][0]
        if ep["kodeverk"] == "R":
            entries = P.EXAMINATION_GROUPS[p["group"]]
            choices = [e[0] for e in entries if e[0] != p["codes"][0] and e[2] in {x[2] for x in entries}]
        else:
            choices = [c for z in P.ORD_PROCEDURES.values() for c in z if c != p["codes"][0]]
        p["codes"][0] = self.rng.choice(choices)

    def _resend(self, module, period, content):
        rng = self.rng
        n = len(content)
        drop = set(rng.sample(range(n), max(1 if n >= 5 else 0, round(n * P.RESEND_DROP_SHARE))))
        change = set(rng.sample(range(n), max(1, round(n * P.RESEND_CHANGE_SHARE)))) - drop
        series: dict | None = dict(self.series) if module == "str" else None
        out = []
        if series is not None:
            # Series-level corrections only for series wholly inside this period.
            in_period: dict[str, set[int]] = {}
            for ep in self.str_eps:
                in_period.setdefault(ep["serie"], set()).add(period_of(self.year, ep["start"].date()))
            candidates = sorted(s for s, ps in in_period.items() if ps == {period})
            for sid in rng.sample(candidates, min(len(candidates), max(1, len(candidates) // 50))):
                s = dict(series[sid])
                s["volumes"] = [dict(v) for v in s["volumes"]]
                what = rng.choice(("planned", "diag", "intent"))
                if what == "planned":
                    s["volumes"][0]["planned"] = round(s["volumes"][0]["planned"] + s["volumes"][0]["fx"], 2)
                elif what == "diag":
                    group = next(d for d in P.RT_DIAGNOSES if s["diag"] in d[2])
                    s["diag"] = rng.choice([c for c in group[2] if c != s["diag"]] or [s["diag"]])
                else:
                    s["intent"] = "3" if s["intent"] == "2" else ("2" if s["intent"] == "3" else s["intent"])
                series[sid] = s
            change = set()
        for i, x in enumerate(content):
            if i in drop:
                continue
            if series is not None:
                s = series[x["serie"]]
                if s["diag"] != x["diag"]:
                    x = dict(x, diag=s["diag"])
            elif i in change:
                if module == "rad":
                    x = _copy_rec(x)
                    if x["ind"]:
                        ind = x["ind"][0]
                        f = rng.uniform(0.8, 1.25)
                        ind[1], ind[3] = fmt_decimal(float(ind[1]) * f), ind[3] * f
                else:
                    x = _copy_ep(x)
                    self._new_code(x)
            out.append(x)
        return out, series

    def _change(self, module, state):
        rng = self.rng
        n = len(state)
        k_change = max(1, round(n * P.E_CHANGE_SHARE))
        k_delete = max(1, round(n * P.E_DELETE_SHARE))
        picked = rng.sample(range(n), min(n - 1, k_change + k_delete))
        change_idx, delete_idx = set(picked[:k_change]), set(picked[k_change:])
        changed, new_state = [], []
        deleted = [state[i]["id"] for i in sorted(delete_idx)]
        for i, ep in enumerate(state):
            if i in delete_idx:
                continue
            if i in change_idx:
                ep = _copy_ep(ep)
                if module == "str":
                    ep["omsorg"] = "8" if ep["omsorg"] == "3" else "3"
                else:
                    self._new_code(ep)
                changed.append(ep)
            new_state.append(ep)
        return changed, deleted, new_state

    # --- truth ------------------------------------------------------------------------------------
    def _truth(self, final, final_series, gen: ActivityGenerator) -> dict:
        org = self.orgnr
        exams = []
        activity = set()
        for module in ("raa", "ord"):
            for ep in final[module]:
                day = ep["start"].date().isoformat()
                for p in ep["procs"]:
                    activity.add((ep["id"], p["nr"]))
                    codes = p["codes"]
                    if module == "raa":
                        exams.append(
                            (org, ep["id"], p["nr"], codes[0], "raa", codes[0][5:6] or None, None, day)
                        )
                    elif len(codes) > 1 and codes[1].startswith("ZXM"):
                        exams.append((org, ep["id"], p["nr"], codes[0], "ord", None, codes[1], day))
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
                )
            )
        typical = [
            (org, eq, code, dt_, v, CANONICAL[dt_])
            for (eq, code, dt_), v in sorted(gen.typical_cache.items())
        ]
        parts = self.out / "_truth" / "current" / "_parts"
        parts.mkdir(parents=True, exist_ok=True)
        _write(parts / f"examinations-{org}.parquet", EXAM_SCHEMA, exams)
        _write(parts / f"doses-{org}.parquet", DOSE_SCHEMA, doses)
        _write(parts / f"rt_series-{org}.parquet", RT_SCHEMA, rt)
        _write(parts / f"facility_typical_values-{org}.parquet", TYPICAL_SCHEMA, typical)
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
        eq_counts: dict[str, int] = {}
        for site in self.inst.sites:
            for mod, eqs in site.equipment.items():
                eq_counts[mod] = eq_counts.get(mod, 0) + len(eqs)
        eq_counts["RT"] = len(self.inst.rt_linacs)
        return {
            "current": current,
            "persons": persons,
            "equipment": eq_counts,
            "generated": {
                "raa_visits": gen.next_id["raa"] - 10_000_000,
                "ord_procedures": gen.next_id["ord"] - 20_000_000,
                "str_episodes": gen.next_id["str"] - 30_000_000,
                "rt_series": len(self.series),
                "dose_records_without_activity": gen.next_id["orphan"] - 90_000_000,
            },
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
    ]
)
TYPICAL_SCHEMA = pa.schema(
    [
        ("institution", pa.string()),
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

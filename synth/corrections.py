"""Corrections a sender makes: planted record problems, complete B resends, E change messages.

Pure functions of a random stream and the records; `task.py` decides which slot gets which.
"""

from __future__ import annotations

import random

from extract.model import faults as F
from synth import parameters as P
from synth.activity import fmt_decimal
from synth.history import tertial_of


def copy_ep(ep: dict) -> dict:
    new = dict(ep)
    new["procs"] = [dict(p, codes=list(p["codes"])) for p in ep["procs"]]
    return new


def copy_rec(r: dict) -> dict:
    return dict(r, ind=[list(i) for i in r["ind"]], rf=list(r["rf"]))


def plant(rng: random.Random, module: str, content: list, findings: dict):
    """Copies of a few records with the planted problems; drops findings that cannot occur."""
    out = list(content)
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
            if i not in used and (module != "str" or x.get("attendance")) and (module != "rad" or x["ind"])
        ]
        if not targets:
            continue
        done = 0
        for i in rng.sample(targets, min(n, len(targets))):
            x = copy_rec(out[i]) if module == "rad" else copy_ep(out[i])
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
                module == "rad" and x["ind"] and cls in (F.NEGATIVE_DOSE, F.IMPLAUSIBLE_DOSE, F.UNKNOWN_UNIT)
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


def new_code(rng: random.Random, ep: dict) -> None:
    """A corrected main code: another examination of the same kind."""
    p = ep["procs"][0]
    if ep["kodeverk"] == "R":
        entries = P.EXAMINATION_GROUPS[p["group"]]
        choices = [e[0] for e in entries if e[0] != p["codes"][0] and e[2] in {x[2] for x in entries}]
    else:
        choices = [c for z in P.ORD_PROCEDURES.values() for c in z if c != p["codes"][0]]
    p["codes"][0] = rng.choice(choices)


def resend(
    rng: random.Random, module: str, slot: tuple[int, int], content: list, all_series: dict, str_eps: list
):
    n = len(content)
    drop = set(rng.sample(range(n), max(1 if n >= 5 else 0, round(n * P.RESEND_DROP_SHARE))))
    change = set(rng.sample(range(n), max(1, round(n * P.RESEND_CHANGE_SHARE)))) - drop
    series: dict | None = dict(all_series) if module == "str" else None
    out = []
    if series is not None:
        # Series-level corrections only for series wholly inside this period.
        in_period: dict[str, set[tuple[int, int]]] = {}
        for ep in str_eps:
            in_period.setdefault(ep["serie"], set()).add(tertial_of(ep["start"].date()))
        candidates = sorted(s for s, ps in in_period.items() if ps == {slot})
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
                x = copy_rec(x)
                if x["ind"]:
                    ind = x["ind"][0]
                    f = rng.uniform(0.8, 1.25)
                    ind[1], ind[3] = fmt_decimal(float(ind[1]) * f), ind[3] * f
            else:
                x = copy_ep(x)
                new_code(rng, x)
        out.append(x)
    return out, series


def change(rng: random.Random, module: str, state: list):
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
            ep = copy_ep(ep)
            if module == "str":
                ep["omsorg"] = "8" if ep["omsorg"] == "3" else "3"
            else:
                new_code(rng, ep)
            changed.append(ep)
        new_state.append(ep)
    return changed, deleted, new_state

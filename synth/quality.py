"""How a sender reports image-guided procedures badly, and the truth of it (docs/domain.md section 4).

Two faults, each at a share per sender (`parameters.py`): an `ord` procedure that is image-guided by
nature (its main code in the seed `image_guided_code_groups.csv`, the list the warehouse uses) sent
without its ZXM code, and a `raa` intervention sent again in `ord` as the NCSP procedure with a ZXM
code, same patient and day (double reporting). `activity.py` draws them on a random stream of their
own, so the rest of the activity is the same with or without them; this module says which procedures
they hit and what the truth records: one row per current `ord` procedure
(`_truth/current/ord_procedures.parquet`) and a summary per sender (`truth.json` `imaging_quality`).
"""

from __future__ import annotations

import datetime as dt
import functools

import pyarrow as pa

from extract.reference import read_seed
from synth import parameters as P

ORD_PROCEDURE_SCHEMA = pa.schema(
    [
        ("institution", pa.string()),
        ("episode_id", pa.string()),
        ("procedure_number", pa.int32()),
        ("procedure_code", pa.string()),
        ("guidance_code", pa.string()),  # the ZXM code sent (an ionising one first), none without
        ("date", pa.string()),
        ("is_image_guided", pa.bool_()),  # main code in image_guided_code_groups (by nature)
        ("zxm_left_out", pa.bool_()),  # the generator left its ZXM code out (ZXM_MISSING_SHARE)
        # a double report still current on both sides: the raa examination it repeats, '<episode>:<nr>'
        ("double_of", pa.string()),
    ]
)
IONISING_ZXM = ("ZXM10", "ZXM20", "ZXM70")
SUMMARY_COUNTS = ("image_guided_procedures", "without_zxm", "zxm_left_out", "double_reports")


@functools.cache
def image_guided_prefixes() -> tuple[str, ...]:
    """The code prefixes of procedures that are image-guided by nature (the warehouse's seed)."""
    return tuple(r["code_prefix"] for r in read_seed("image_guided_code_groups.csv"))


def is_image_guided(code: str) -> bool:
    return code.startswith(image_guided_prefixes())


def zxm_missing_share(orgnr: str) -> float:
    return P.ZXM_MISSING_SHARE.get(orgnr, P.ZXM_MISSING_SHARE_DEFAULT)


def double_reporting_share(orgnr: str) -> float:
    return P.DOUBLE_REPORTING_SHARE.get(orgnr, 0.0)


def double_report(ep_id: str, raa: tuple, komnr: str) -> dict:
    """The ord episode that repeats the raa examination `raa` = (episode id, procedure number, NCRP
    code, person, start): the NCSP code with its ZXM code, same patient and time; an acute episode
    (no referral period), no dose of its own (rad points to the raa examination)."""
    raa_id, nr, raa_code, person, start = raa
    ncsp, zxm = P.DOUBLE_REPORTED_CODES[raa_code]
    proc = {
        "nr": 1,
        "codes": [ncsp, zxm],
        "equipment": None,
        "group": "ord",
        "double_of": (raa_id, nr, raa_code),
    }
    return {
        "id": ep_id,
        "person": person,
        "komnr": komnr,
        "start": start,
        "end": start + dt.timedelta(minutes=90),
        "omsorg": "1",
        "hast": "1",
        "unit": "KIR1",
        "kontakt": "2",
        "prof": "1",
        "tiltak": "1",
        "diag": None,
        "procs": [proc],
        "kodeverk": "K",
        "ref": None,
    }


def _guidance(codes: list[str]) -> str | None:
    zxm = [c for c in codes[1:] if c.startswith("ZXM")]
    return next((c for c in zxm if c in IONISING_ZXM), zxm[0] if zxm else None)


def ord_procedure_rows(org: str, ord_episodes: list[dict], raa_episodes: list[dict]) -> list[tuple]:
    """One truth row per procedure of the current ord episodes. A planted double report is one still
    when both halves are current with the codes it was made with (a correction may have changed or
    withdrawn either)."""
    raa_codes = {(ep["id"], p["nr"]): p["codes"][0] for ep in raa_episodes for p in ep["procs"]}
    rows = []
    for ep in ord_episodes:
        for p in ep["procs"]:
            codes = p["codes"]
            guidance = _guidance(codes)
            double_of = None
            if p.get("double_of") and guidance:
                raa_id, nr, raa_code = p["double_of"]
                ncsp = P.DOUBLE_REPORTED_CODES[raa_code][0]
                if raa_codes.get((raa_id, nr)) == raa_code and codes[0] == ncsp:
                    double_of = f"{raa_id}:{nr}"
            rows.append(
                (
                    org,
                    ep["id"],
                    p["nr"],
                    codes[0],
                    guidance,
                    ep["start"].date().isoformat(),
                    is_image_guided(codes[0]),
                    bool(p.get("zxm_left_out")),
                    double_of,
                )
            )
    return rows


def summary(ord_procedures: pa.Table, institutions: list[str]) -> dict:
    """truth.json `imaging_quality`: the configured shares and, per sender (hospital trusts: they send
    ord), its current image-guided procedures, those without a ZXM code and its double reports."""
    by: dict[str, dict[str, int]] = {}
    for r in ord_procedures.to_pylist():
        s = by.setdefault(r["institution"], dict.fromkeys(SUMMARY_COUNTS, 0))
        if r["is_image_guided"]:
            s["image_guided_procedures"] += 1
            s["without_zxm"] += r["guidance_code"] is None
        s["zxm_left_out"] += r["zxm_left_out"]
        s["double_reports"] += r["double_of"] is not None
    totals = {k: sum(s[k] for s in by.values()) for k in SUMMARY_COUNTS}
    return {
        "note": "image-guided by nature: main code in seeds/reference/image_guided_code_groups.csv; per "
        "procedure in current/ord_procedures.parquet (double_of: the raa examination it repeats)",
        "zxm_missing_share": {o: zxm_missing_share(o) for o in institutions},
        "double_reporting_share": {o: double_reporting_share(o) for o in institutions},
        "double_reported_codes": {k: list(v) for k, v in P.DOUBLE_REPORTED_CODES.items()},
        **totals,
        "by_institution": dict(sorted(by.items())),
    }

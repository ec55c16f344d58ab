"""`generate`: a synthetic national history (one year or several), in parallel, with its truth.

Work is split per institution (all its modules and years: `rad` must match `raa`/`ord`, `ide`
covers every module, radiotherapy series cross tertials and years). Each institution has its own
random streams seeded from (seed, orgnr, ...), so the bytes do not depend on the number of workers
or their order. `as_of` writes only the files that had arrived at NPR by that date; a later call
with a later date adds the newly arrived files and leaves the others untouched.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import shutil
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from extract.model import faults as F
from extract.workers import safe_start_method
from synth import history as H
from synth import parameters as P
from synth import quality as Q
from synth.referrals import waiting_time_summary
from synth.task import DOSE_SCHEMA, EXAM_SCHEMA, RT_SCHEMA, TYPICAL_SCHEMA, InstitutionTask, slots_of
from synth.world import World, build_world, population_rows

# Which module can carry which planted finding.
FINDING_MODULES = {
    F.DANGLING_REFERENCE: ("raa", "rad", "ord", "str"),
    F.DUPLICATE_KEY: ("raa", "rad", "ord", "str"),
    F.NEGATIVE_DOSE: ("rad",),
    F.IMPLAUSIBLE_DOSE: ("rad",),
    F.UNKNOWN_UNIT: ("rad",),
    F.UNKNOWN_CODE: ("raa",),
    F.INVALID_FODSELSNUMMER: ("ide",),
}
POPULATION_YEARS = tuple(range(2020, 2027))


def plan_reporting(world: World, seed: int, fault_share: float) -> dict[str, dict]:
    """Which slots get resends, E messages, duplicates, faulty attempts and planted findings.

    Guaranteed classes (one of each rejection and finding class, one resend, E and duplicate)
    go to the largest institutions' tertial-2 slots, which have data at any scale >= 0.001.
    """
    rng = random.Random(f"plan:{seed}")
    first = world.years[0]
    order = sorted(world.institutions, key=lambda o: (-world.institutions[o].imaging_volume, o))
    slots = [(o, m, (y, t)) for o in order for m, y, t in slots_of(world, o)]
    plan: dict[str, dict] = {o: {} for o in order}

    def flags(o: str, m: str, p: int | tuple[int, int]) -> dict:
        """The flags of a slot; a bare tertial number means that tertial of the first year."""
        y, t = (first, p) if isinstance(p, int) else p
        return plan[o].setdefault((m, y, t), {})

    big = [(o, m, t) for o in order[:6] for m, y, t in slots_of(world, o) if (y, t) == (first, 2)]
    rt_big = next(o for o in order if world.institutions[o].rt_orgnr)
    for cls in F.REJECTION_CLASSES:
        o, m, t = big[len(F.REJECTION_CLASSES) + F.REJECTION_CLASSES.index(cls)]
        flags(o, m, t)["fault"] = cls
    for cls, modules in FINDING_MODULES.items():
        o = order[0]
        m = modules[F.FINDING_CLASSES.index(cls) % len(modules)]
        flags(o, m, 2).setdefault("findings", {})[cls] = 1
    for o, m, t in ((order[0], "raa", 2), (order[1], "rad", 2), (rt_big, "str", 2), (order[0], "ord", 3)):
        flags(o, m, t)["resend"] = True
    for o, m, t in ((order[1], "raa", 2), (rt_big, "str", 3), (order[0], "ord", 2)):
        flags(o, m, t)["e"] = True
    flags(order[2], "raa", 1)["duplicate"] = True
    for o, m, slot in slots:
        f = flags(o, m, slot)
        if m != "ide" and rng.random() < P.B_RESEND_SHARE:
            f["resend"] = True
        if m in ("raa", "ord", "str") and rng.random() < P.E_MESSAGE_SHARE:
            f["e"] = True
        if rng.random() < P.DUPLICATE_FILE_SHARE:
            f["duplicate"] = True
        if "fault" not in f and rng.random() < fault_share:
            f["fault"] = rng.choice(F.REJECTION_CLASSES)
        if rng.random() < P.FINDING_FILE_SHARE:
            choices = [c for c, mods in FINDING_MODULES.items() if m in mods]
            if choices:
                cls = rng.choice(choices)
                f.setdefault("findings", {})[cls] = f.get("findings", {}).get(cls, 0) + 1
    return plan


_WORLD: World | None = None


def _init_worker(first: int, last: int, scale: float, seed: int) -> None:
    global _WORLD
    _WORLD = build_world(last, scale, seed, first_year=first)


def _run(args) -> tuple[str, dict]:
    orgnr, out, plan, seed, as_of = args
    assert _WORLD is not None
    return orgnr, InstitutionTask(_WORLD, orgnr, Path(out), plan, seed, as_of).run()


class Progress:
    def __init__(self, enabled: bool, total_weight: float):
        self.enabled, self.total, self.done = enabled, total_weight, 0.0
        self.files = 0
        self.bytes = 0
        self.t0 = time.monotonic()

    def update(self, weight: float, files: list[dict]) -> None:
        self.done += weight
        self.files += len(files)
        self.bytes += sum(f["size"] for f in files)
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.t0
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        mb = self.bytes / 1e6
        print(
            f"\rgenerate: {self.files} files, {mb:,.1f} MB, {mb / max(elapsed, 1e-9):.1f} MB/s, "
            f"{100 * self.done / self.total:.0f} %, ETA {eta:.0f} s   ",
            end="",
            file=sys.stderr,
            flush=True,
        )

    def finish(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


def write_population_csv(path: Path, years=POPULATION_YEARS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["year", "municipality_number", "sex", "age_group", "population"])
        for year in years:
            w.writerows(population_rows(year))


def _years(year: int | None, years: tuple[int, int] | str | None) -> tuple[int, int]:
    if years is None:
        return (2025, 2025) if year is None else (year, year)
    first, last = H.parse_years(years) if isinstance(years, str) else years
    if not first <= last or (year is not None and year != last):
        raise ValueError(f"years {first}-{last} do not fit year={year}")
    return first, last


def generate(
    out: Path,
    *,
    year: int | None = None,
    years: tuple[int, int] | str | None = None,
    as_of: dt.date | str | None = None,
    scale: float = 0.01,
    seed: int = 1,
    workers: int | None = None,
    fault_share: float | None = None,
    progress: bool = True,
) -> Path:
    """Write synthetic NPR messages to `out`; returns the truth manifest's path.

    `year` (default 2025) for one year, or `years` (first, last) / "2021-2025" for a history of one
    population. `as_of` (a date or ISO string): only the files that had arrived at NPR by then
    (default: all, including the corrections that arrive in the spring after the last year).
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    first, last = _years(year, years)
    cut = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file, not a folder")
    out.mkdir(parents=True, exist_ok=True)
    truth_dir = out / "_truth"
    if truth_dir.exists():
        shutil.rmtree(truth_dir)
    world = build_world(last, scale, seed, first_year=first)
    plan = plan_reporting(world, seed, P.DEFAULT_FAULT_SHARE if fault_share is None else fault_share)
    orgs = sorted(world.institutions, key=lambda o: (-_weight(world, o), o))
    tasks = [(o, str(out), plan[o], seed, cut) for o in orgs]
    bar = Progress(progress, sum(_weight(world, o) for o in orgs))
    results: dict[str, dict] = {}
    workers = max(1, workers or os.cpu_count() or 1)
    if workers == 1:
        _init_worker(first, last, scale, seed)
        for t in tasks:
            orgnr, res = _run(t)
            results[orgnr] = res
            bar.update(_weight(world, orgnr), res["files"])
    else:
        ctx = mp.get_context(safe_start_method())
        with ctx.Pool(
            min(workers, len(tasks)), initializer=_init_worker, initargs=(first, last, scale, seed)
        ) as pool:
            for orgnr, res in pool.imap_unordered(_run, tasks):
                results[orgnr] = res
                bar.update(_weight(world, orgnr), res["files"])
    bar.finish()
    path = _write_truth(out, world, results, scale, seed, cut)
    _warn_about_strays(out, {f["name"] for r in results.values() for f in r["files"]})
    return path


def _warn_about_strays(out: Path, written: set[str]) -> None:
    """Files from an earlier run with other settings stay (nothing is deleted) but are not in truth."""
    strays = [
        p
        for p in out.rglob("*.xml")
        if not any(part.startswith(("_", ".")) for part in p.relative_to(out).parts)
        and p.relative_to(out).as_posix() not in written
    ]
    if strays:
        print(
            f"generate: warning: {len(strays)} XML files in {out} are from an earlier run and not in "
            f"the truth manifest (e.g. {strays[0].name}); use an empty folder for a clean year",
            file=sys.stderr,
        )


def _weight(world: World, orgnr: str) -> float:
    inst = world.institutions[orgnr]
    return inst.imaging_volume * (1.3 if inst.kind == "hf" else 1.0) + (60_000 if inst.rt_orgnr else 0)


def _waiting_times(current_dir: Path) -> dict:
    """What the generator produced for the waiting-time deliveries (synth/referrals.py)."""
    rt = pq.read_table(current_dir / "rt_series.parquet", columns=["start_date", "intent", "wait_days"])
    ex = pq.read_table(
        current_dir / "examinations.parquet", columns=["module", "date", "modality", "wait_days"]
    )
    r, e = rt.to_pydict(), ex.to_pydict()
    raa = (
        (day, letter, wait)
        for module, day, letter, wait in zip(
            e["module"], e["date"], e["modality"], e["wait_days"], strict=True
        )
        if module == "raa"
    )
    return waiting_time_summary(zip(r["start_date"], r["intent"], r["wait_days"], strict=True), raa)


def _write_truth(
    out: Path, world: World, results: dict[str, dict], scale: float, seed: int, as_of: dt.date | None
) -> Path:
    truth_dir = out / "_truth"
    current_dir = truth_dir / "current"
    parts = current_dir / "_parts"
    for table, schema in (
        ("examinations", EXAM_SCHEMA),
        ("doses", DOSE_SCHEMA),
        ("rt_series", RT_SCHEMA),
        ("facility_typical_values", TYPICAL_SCHEMA),
        ("ord_procedures", Q.ORD_PROCEDURE_SCHEMA),
    ):
        tables = [pq.read_table(parts / f"{table}-{o}.parquet") for o in sorted(results)]
        merged = pa.concat_tables(tables) if tables else schema.empty_table()
        pq.write_table(merged, current_dir / f"{table}.parquet")
    shutil.rmtree(parts)
    files = sorted((f for o in sorted(results) for f in results[o]["files"]), key=lambda f: f["name"])
    current: dict[str, dict[str, int]] = {}
    generated: dict[str, int] = {}
    equipment: dict[str, int] = {}
    persons: set[int] = set()
    for o in sorted(results):
        r = results[o]
        for module, counts in r["current"].items():
            for k, v in counts.items():
                current.setdefault(module, {})[k] = current.get(module, {}).get(k, 0) + v
        for k, v in r["generated"].items():
            generated[k] = generated.get(k, 0) + v
        for k, v in r["equipment"].items():
            equipment[k] = equipment.get(k, 0) + v
        persons |= r["persons"]
    n_patients = sum(len(r["persons"]) for r in results.values())
    insts = world.institutions.values()
    entities = {
        "institutions": len(world.institutions),
        "hospital_trusts": sum(1 for i in insts if i.kind == "hf"),
        "private_institutes": sum(1 for i in insts if i.kind == "private"),
        "radiotherapy_centres": sum(1 for i in insts if i.rt_orgnr),
        "sites": sum(len(i.sites) for i in insts),
        "equipment": dict(sorted(equipment.items())),
        "persons": len(persons),
        "patients_per_sender_sum": n_patients,
        **generated,
    }
    year, first = world.years[-1], world.years[0]
    pending = sorted(d for r in results.values() for d in r["pending"])
    manifest = {
        "generator": "synth",
        "year": year,
        "years": list(world.years),
        "as_of": as_of.isoformat() if as_of else None,
        "arrivals": {
            "first": min((f["arrival_date"] for f in files), default=None),
            "last": max((f["arrival_date"] for f in files), default=None),
            "pending_files": len(pending),
            "next": pending[0].isoformat() if pending else None,
            "yearly_deadlines": {str(y): H.yearly_deadline(y).isoformat() for y in world.years},
        },
        "scale": scale,
        "seed": seed,
        "population": {
            "seed_table": "dbt_project/seeds/synthetic/population.csv",
            "note": "population is the full synthetic world (scale 1.0); activity is scale × a national "
            "year, so per-1,000 rates at scale s are s × the national rate: divide by scale",
            "total": sum(n for *_, n in population_rows(year)),
        },
        "files": files,
        "entities": entities,
        "current": current,
        "waiting_times": _waiting_times(current_dir),
        "imaging_quality": Q.summary(
            pq.read_table(current_dir / "ord_procedures.parquet"),
            sorted(o for o, i in world.institutions.items() if i.kind == "hf"),
        ),
    }
    path = truth_dir / "truth.json"
    path.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    write_population_csv(truth_dir / "population.csv", tuple(range(first - 1, year + 1)))
    return path

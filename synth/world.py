"""The synthetic world: municipalities and population, persons, institutions, units, equipment.

Built deterministically: the population from `WORLD_SEED` only (so the committed population seed
matches every run), everything else from the run seed. Every worker process builds the same
world, so no state has to be shipped between processes.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate

from extract.checks import unit_factors
from extract.reference import read_seed
from synth import fnr as fnrmod
from synth import parameters as P

# 99,999,989 is prime: x -> (x * a + b) mod M is a bijection, so pasientNr never collides.
_PASIENTNR_MODULUS = 99_999_989


@functools.cache
def region_names() -> dict[int, str]:
    return {int(r["regionkode"]): r["regionnavn"] for r in read_seed("rt_region_codes.csv")}


@functools.cache
def organisations() -> dict[str, dict[str, str]]:
    return {r["orgnr"]: r for r in read_seed("organisation_hierarchy.csv") if r["orgnr"]}


# --- Population -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Municipality:
    komnr: str
    name: str
    catchments: tuple[str, ...]  # boomr bohf names (one per bydel row where the city is split)
    population: int


@functools.cache
def municipalities() -> tuple[Municipality, ...]:
    rows = [r for r in read_seed("municipality_catchment.csv") if r["komnr"]]
    by_kom: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_kom.setdefault(r["komnr"].zfill(4), []).append(r)
    rng = random.Random(P.WORLD_SEED)
    raw: dict[str, float] = {}
    known = {**P.BIG_MUNICIPALITIES, **P.MUNICIPALITY_POPULATION_FIXED}
    for komnr in sorted(by_kom):
        drawn = rng.lognormvariate(P.SMALL_MUNICIPALITY_LOG_MEAN, P.SMALL_MUNICIPALITY_LOG_SD)
        raw[komnr] = known.get(komnr, drawn)
    big = sum(v for k, v in raw.items() if k in known)
    small = sum(v for k, v in raw.items() if k not in known)
    factor = (P.POPULATION_TOTAL - big) / small
    out = []
    for komnr, krows in sorted(by_kom.items()):
        parts = [r for r in krows if r["bydel"] and not r["bydel"].endswith("99")] or krows[:1]
        catchments = tuple(r["bohf_navn"] for r in parts if r["bohf_navn"] in P.CATCHMENT_TO_HF)
        if komnr in P.MUNICIPALITY_CATCHMENT_FIXED:
            catchments = (P.MUNICIPALITY_CATCHMENT_FIXED[komnr],)
        size = round(raw[komnr]) if komnr in known else max(200, round(raw[komnr] * factor))
        name = krows[0]["komnr_navn"].split(" ", 1)[-1]
        out.append(Municipality(komnr, name, catchments, size))
    return tuple(out)


@functools.cache
def _move_targets() -> Weighted:
    return Weighted([m.komnr for m in municipalities()], [m.population for m in municipalities()])


class Weighted:
    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = list(accumulate(weights))

    def draw(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


@functools.cache
def population_cells() -> tuple[tuple[str, str, int, int], ...]:
    """(komnr, sex '1'/'2', age band index, population at scale 1.0), the table's rows."""
    cells = []
    for m in municipalities():
        if not m.population:
            continue  # no residents (Jan Mayen, the continental shelf): not in the table
        for b in range(len(P.AGE_BANDS)):
            n = m.population * P.AGE_SHARE[b]
            male = round(n * P.MALE_SHARE[b])
            cells.append((m.komnr, "1", b, male))
            cells.append((m.komnr, "2", b, round(n) - male))
    return tuple(cells)


def population_rows(year: int) -> list[tuple[int, str, str, str, int]]:
    return [(year, k, s, P.AGE_BANDS[b][0], n) for k, s, b, n in population_cells()]


Moves = tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Person:
    """A person of the synthetic population: fixed identity, a residence history and a death."""

    person_id: int
    komnr: str  # residence on 1 January of the pool's first year
    sex: str  # '1' male, '2' female
    birth_year: int
    fid: str
    id_type: str  # '1' fødselsnummer, '2' D-number
    moves: tuple[tuple[int, str], ...] = ()  # (year moved, new municipality), from 1 January
    death: dt.date | None = None

    def home(self, year: int) -> str:
        """Municipality of residence in a year (the last move at or before it)."""
        komnr = self.komnr
        for y, k in self.moves:
            if y <= year:
                komnr = k
        return komnr

    def alive(self, day: dt.date) -> bool:
        return self.death is None or day < self.death


class PersonPool:
    """Persons of the synthetic world at a scale; a person is a pure function of its index.

    Cell (municipality, sex, band) holds max(1, round(population × scale)) person slots. A slot
    maps to a birth date and individual number that no other slot uses, so fødselsnumre are
    unique; slots whose control digits do not exist are skipped to the next slot.
    """

    def __init__(self, year: int, scale: float, seed: int, last_year: int | None = None):
        self.year = year
        self.last_year = year if last_year is None else last_year
        self.seed = seed
        self.cells = population_cells()
        self.slots = [max(1, round(n * scale)) if n else 0 for *_, n in self.cells]
        # Offsets within each (band, sex) block make (birth date, individual number) unique.
        self.block_offset: list[int] = []
        running: dict[tuple[int, str], int] = {}
        for (_, sex, b, _), n in zip(self.cells, self.slots, strict=True):
            self.block_offset.append(running.get((b, sex), 0))
            running[(b, sex)] = running.get((b, sex), 0) + n
        self.block_size = running
        self.block_ids = {key: i for i, key in enumerate(sorted(running))}
        self.cell_index = {(k, s, b): i for i, (k, s, b, _) in enumerate(self.cells)}
        self._cache: dict[tuple[int, int], Person] = {}

    def person(self, cell: int, k: int) -> Person:
        key = (cell, k)
        p = self._cache.get(key)
        if p is None:
            p = self._cache[key] = self._make(cell, k)
        return p

    def _make(self, cell: int, k: int) -> Person:
        komnr, sex, band, _ = self.cells[cell]
        lo, hi = P.AGE_BANDS[band][1], P.AGE_BANDS[band][2]
        first = dt.date(self.year - hi, 1, 1)
        days = (dt.date(self.year - lo, 12, 31) - first).days + 1
        size = self.block_size[(band, sex)]
        slot = self.block_offset[cell] + k
        day = (slot % days * 7919 + self.seed * 104729) % days
        birth = first + dt.timedelta(days=day)
        j, j_max = slot // days, -(-size // days)
        d_number = (slot * 2654435761 + self.seed) % 1000 < 5  # ~0.5 % D-numbers [A]
        # Slots that share a birth date differ in j; when the control digits do not exist for
        # j, try j + j_max, j + 2 j_max ... (numbers no other slot uses), then the D-number space,
        # then H-numbers (month + 40): disjoint spaces, so identifiers stay unique by construction.
        # A national-size cohort needs them: ~84 persons per birth date and sex share 250 numbers.
        for use_d, use_h in ((d_number, False), (True, False), (False, True), (True, True)):
            for jj in range(j, 250, j_max):
                individual = fnrmod.individual_base(birth.year) + 2 * jj + (1 if sex == "1" else 0)
                fid = fnrmod.make(birth.day, birth.month, birth.year, individual, use_d, use_h)
                if fid is not None:
                    block = self.block_ids[(band, sex)]
                    pid = block * 100_000_000 + slot
                    id_type = "3" if use_h else "2" if use_d else "1"
                    moves, death = self._life(pid, komnr, birth)
                    return Person(pid, komnr, sex, birth.year, fid, id_type, moves, death)
        raise AssertionError("no valid fødselsnummer in cell")

    def _life(self, pid: int, komnr: str, birth: dt.date) -> tuple[Moves, dt.date | None]:
        """Moves and death over the pool's years: a pure function of (seed, person)."""
        rng = random.Random(self.seed * 1_000_003 + pid)
        moves: list[tuple[int, str]] = []
        a, b, floor = P.MORTALITY
        for year in range(self.year, self.last_year + 1):
            if year > self.year and rng.random() < P.MOVE_RATE:
                target = _move_targets().draw(rng)
                if target != komnr:
                    moves.append((year, target))
                    komnr = target
            age = year - birth.year
            if rng.random() < max(floor, a * math.exp(b * (age - 50))):
                return tuple(moves), dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
        return tuple(moves), None


def pasient_nr(person_id: int, institution: str) -> str:
    """The sender-local patient number: a bijection of the person, different per sender."""
    a = 1 + int(institution) % 97_531
    compact = (person_id // 100_000_000) * 6_000_000 + person_id % 100_000_000  # < modulus
    return str((compact * a + int(institution) % 1_000_003) % _PASIENTNR_MODULUS + 1)


class CatchmentSampler:
    """Draws persons living in a catchment, weighted by population × an age profile."""

    def __init__(self, pool: PersonPool, komnr_weights: dict[str, float], age_rates: tuple[float, ...]):
        self.pool = pool
        cells, weights = [], []
        for i, (komnr, _sex, band, n) in enumerate(pool.cells):
            w = komnr_weights.get(komnr, 0.0)
            if w > 0 and n > 0:
                cells.append(i)
                weights.append(w * n * age_rates[band])
        if not cells:
            raise ValueError("empty catchment")
        self.cells = cells
        self.cum = list(accumulate(weights))

        self.komnr_weights = komnr_weights

    def draw(self, rng: random.Random, day: dt.date | None = None) -> Person:
        """A person alive on `day`; one who has moved out of the catchment is mostly redrawn."""
        for _ in range(30):
            cell = self.cells[bisect(self.cum, rng.random() * self.cum[-1])]
            p = self.pool.person(cell, int(rng.random() * self.pool.slots[cell]))
            if day is None:
                return p
            if not p.alive(day):
                continue
            if p.moves and p.home(day.year) not in self.komnr_weights and rng.random() < 0.8:
                continue
            return p
        return p


# --- Institutions and equipment ---------------------------------------------------------------


@dataclass
class Equipment:
    equipment_id: str
    modality: str  # DICOM modality; RT for linacs
    manufacturer: str
    model: str
    site: str
    level: float  # the unit's general dose level (log), shared by all its examinations
    dap_unit: tuple[str, float]
    time_unit: tuple[str, float]
    exports_dose: bool
    installed: int


@dataclass
class Site:
    orgnr: str
    name: str
    tier: str
    unit_id: str
    share: float
    equipment: dict[str, list[Equipment]] = field(default_factory=dict)


@dataclass
class Institution:
    orgnr: str
    name: str
    kind: str  # "hf" or "private"
    imaging_volume: float  # examinations per year at scale 1.0
    sites: list[Site]
    catchment: dict[str, float]  # komnr → weight
    rt_orgnr: str | None = None
    rt_linacs: list[Equipment] = field(default_factory=list)
    rt_catchment: dict[str, float] = field(default_factory=dict)
    rt_share: float = 0.0  # share of the nation's radiotherapy series
    ord_equipment: list[Equipment] = field(default_factory=list)
    msghead: bool = False
    encoding: str = "UTF-8"


def _name(orgnr: str) -> str:
    org = organisations().get(orgnr)
    if org is None:
        raise KeyError(f"orgnr {orgnr} is not in behandler.csv")
    return org["org_navn"]


def _catchment(names: set[str]) -> dict[str, float]:
    weights: dict[str, float] = {}
    for m in municipalities():
        if m.catchments:
            share = sum(1 for c in m.catchments if c in names) / len(m.catchments)
            if share:
                weights[m.komnr] = share
    return weights


def _population(catchment: dict[str, float]) -> float:
    return sum(m.population * catchment.get(m.komnr, 0.0) for m in municipalities())


def _hf_catchment_names(hf_orgnr: str) -> set[str]:
    names = {n for n, hf in P.CATCHMENT_TO_HF.items() if hf == hf_orgnr}
    return names or {"Bergen"}  # Haraldsplass serves Bergen residents


def _unit_choice(rng: random.Random, dose_type: str, shares: dict[str, float]) -> tuple[str, float]:
    """A unit spelling drawn by its share, with its factor (unit per canonical unit) from the seed."""
    units = list(shares)
    unit = units[min(bisect(list(accumulate(shares.values())), rng.random()), len(units) - 1)]
    return unit, 1 / unit_factors()[(dose_type, unit)]


def _equipment(rng: random.Random, site: Site, modality: str, n: int, year: int) -> Equipment:
    short = site.orgnr[-4:]
    manufacturer = rng.choice(P.MANUFACTURERS[modality])
    return Equipment(
        equipment_id=f"{short}-{modality}{n:02d}",
        modality=modality,
        manufacturer=manufacturer,
        model=rng.choice(P.MODELS.get(modality, {}).get(manufacturer, ("Standard",))),
        site=site.orgnr,
        level=rng.gauss(0.0, 1.0),
        dap_unit=_unit_choice(rng, "DAP", P.DAP_UNIT_SHARES),
        time_unit=_unit_choice(rng, "GJENNOMLYSNINGSTID", P.FLUORO_TIME_UNIT_SHARES),
        exports_dose=rng.random() >= P.EQUIPMENT_WITHOUT_DOSE_EXPORT,
        installed=year - rng.randint(0, 12),
    )


@dataclass
class World:
    year: int  # the last year
    scale: float
    seed: int
    pool: PersonPool
    institutions: dict[str, Institution]
    years: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.years = self.years or (self.year,)


def build_world(year: int, scale: float, seed: int, first_year: int | None = None) -> World:
    """The world of a history `first_year`..`year` (one year when first_year is None)."""
    first = year if first_year is None else first_year
    rng = random.Random(f"world:{seed}")
    pool = PersonPool(first, scale, seed, last_year=year)
    public_total = sum(w for w, _ in P.HOSPITALS.values())
    private_total = sum(w for w, _ in P.PRIVATE_INSTITUTES.values())
    institutions: dict[str, Institution] = {}
    for orgnr, (weight, sites) in P.HOSPITALS.items():
        volume = P.IMAGING_EXAMINATIONS * (1 - P.PRIVATE_IMAGING_SHARE) * weight / public_total
        shares = [2.0] + [1.0] * (len(sites) - 1)  # the main site does about half [A]
        site_objs = [
            Site(s, _name(s), tier, f"RAD{i + 1}", sh / sum(shares))
            for i, ((s, tier), sh) in enumerate(zip(sites, shares, strict=True))
        ]
        institutions[orgnr] = Institution(
            orgnr, _name(orgnr), "hf", volume, site_objs, _catchment(_hf_catchment_names(orgnr))
        )
    for orgnr, (weight, catchment) in P.PRIVATE_INSTITUTES.items():
        volume = P.IMAGING_EXAMINATIONS * P.PRIVATE_IMAGING_SHARE * weight / private_total
        site = Site(orgnr, _name(orgnr), "private", "RAD1", 1.0)
        institutions[orgnr] = Institution(
            orgnr, _name(orgnr), "private", volume, [site], _catchment({catchment})
        )
    for inst in institutions.values():
        inst.msghead = rng.random() < P.MSGHEAD_SHARE
        inst.encoding = "ISO-8859-1" if rng.random() < P.ISO_8859_1_SHARE else "UTF-8"
        for site in inst.sites:
            per_100k = P.EQUIPMENT_PER_100K[site.tier]
            site_volume = inst.imaging_volume * site.share
            for modality, density in per_100k.items():
                count = max(1, math.ceil(site_volume / 100_000 * density))
                site.equipment[modality] = [
                    _equipment(rng, site, modality, n + 1, first) for n in range(count)
                ]
            for site_orgnr, modality, installed, maker, model in P.NEW_EQUIPMENT:
                if site_orgnr == site.orgnr and modality in site.equipment and installed <= year:
                    eqs = site.equipment[modality]
                    new = _equipment(rng, site, modality, len(eqs) + 1, installed)
                    new.manufacturer, new.model, new.installed = maker, model, installed
                    eqs.append(new)
        if inst.kind == "hf":
            main = inst.sites[0]
            inst.ord_equipment = [
                _equipment(rng, main, m, 90 + n, first) for n, m in enumerate(("RF", "RF", "CT", "XA"))
            ]
    for orgnr, (rt_orgnr, linacs, served) in P.RT_CENTRES.items():
        inst = institutions[orgnr]
        inst.rt_orgnr = rt_orgnr
        rt_site = Site(rt_orgnr, _name(rt_orgnr), "rt", "STR1", 0.0)
        inst.rt_linacs = [_equipment(rng, rt_site, "RT", n + 1, first) for n in range(linacs)]
        names: set[str] = set()
        for hf in served:
            names |= _hf_catchment_names(hf)
        inst.rt_catchment = _catchment(names)
    _rt_migration(institutions)
    rt_population = {o: _population(world_inst.rt_catchment) for o, world_inst in institutions.items()}
    total = sum(rt_population.values())
    for orgnr, pop in rt_population.items():
        institutions[orgnr].rt_share = pop / total
    return World(year, scale, seed, pool, institutions, tuple(range(first, year + 1)))


def _rt_migration(institutions: dict[str, Institution]) -> None:
    """Oslo University Hospital takes a share of every other centre's residents (more from the
    south-east); each municipality's weights over the centres still sum to its own share."""
    ous = institutions.get(P.OUS_ORGNR)
    if ous is None or not ous.rt_orgnr:
        return
    for orgnr, inst in institutions.items():
        if orgnr == P.OUS_ORGNR or not inst.rt_orgnr:
            continue
        rhf = organisations().get(orgnr, {}).get("behrhf_navn", "")
        share = P.RT_OUS_SOUTH_EAST_SHARE if rhf == P.SOUTH_EAST_RHF else P.RT_OUS_NATIONAL_SHARE
        for komnr, w in inst.rt_catchment.items():
            inst.rt_catchment[komnr] = w * (1 - share)
            ous.rt_catchment[komnr] = ous.rt_catchment.get(komnr, 0.0) + w * share


def facility_typical(equipment: Equipment, code: str, dose_type: str, median: float, sigma: float) -> float:
    """The facility's typical value (its median) for one examination and quantity.

    Log-normal around the national median: 70 % of the spread from the unit's general level,
    the rest examination-specific (protocol choices), both fixed for the equipment.
    """
    h = random.Random(f"{equipment.equipment_id}:{code}:{dose_type}:{equipment.level}").gauss(0.0, 1.0)
    return median * math.exp(sigma * (0.7 * equipment.level + 0.714 * h))

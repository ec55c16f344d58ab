"""The generator as a history: one population over years, ids, arrivals and `--as-of` replays,
trends, and the realism fixes (residence, sex-specific diagnoses, migration, replanning)."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lxml import etree

from extract.model import faults as F
from extract.model.xsd import MSGHEAD_NS, load_schema
from extract.reference import read_seed
from synth import generate
from synth import history as H
from synth import parameters as P
from synth.fnr import is_valid
from synth.world import CatchmentSampler, build_world, municipalities, organisations, population_cells

SCALE = 0.002
YEARS = "2022-2025"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
FEMALE_ONLY = ("C50", "C51", "C52", "C53", "C54", "C55", "C56", "C57", "C58")
MALE_ONLY = ("C60", "C61", "C62", "C63")


@pytest.fixture(scope="module")
def hist(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("history")
    manifest = generate(out, years=YEARS, scale=SCALE, seed=5, workers=2, progress=False)
    return out, json.loads(manifest.read_text(encoding="utf-8"))


def _loaded(truth, module=None):
    return [
        f for f in truth["files"] if f["expected"] == F.LOADED and (module is None or f["module"] == module)
    ]


def _melding(out: Path, f: dict) -> etree._Element:
    root = etree.parse(str(out / f["name"]), _PARSER).getroot()
    if root.tag == f"{{{MSGHEAD_NS}}}MsgHead":
        return root.find(f"{{{MSGHEAD_NS}}}Document/{{{MSGHEAD_NS}}}RefDoc/{{{MSGHEAD_NS}}}Content")[0]
    return root


@pytest.fixture(scope="module")
def episodes(hist) -> list[dict]:
    """Every episode in every loaded episode file, with its holder's pasientNr and sex."""
    out, truth = hist
    rows = []
    for f in _loaded(truth):
        if f["module"] not in ("raa", "ord", "str"):
            continue
        for holder in _melding(out, f).iter("{*}Objektholder"):
            patient = holder.find("{*}Pasient")
            for ep in holder.iter("{*}Episode"):
                codes = [k.get("kodeVerdi") for k in ep.iter("{*}Prosedyre") for k in k.iter("{*}Kode")]
                diag = [k.get("kodeVerdi") for k in ep.findall("{*}Tilstand/{*}Kode")]
                rows.append(
                    {
                        "file": f,
                        "id": ep.get("episodeID"),
                        "serie": ep.get("serieID"),
                        "pid": holder.get("pasientNr"),
                        "sex": patient.get("kjonn"),
                        "komnr": ep.get("komNrHjem"),
                        "start": ep.get("innDatoTid"),
                        "codes": codes,
                        "diag": diag[0] if diag else None,
                    }
                )
    return rows


def test_history_covers_the_years_and_validates(hist):
    out, truth = hist
    assert truth["years"] == [2022, 2023, 2024, 2025] and truth["year"] == 2025
    periods = {f["period_from"][:4] for f in _loaded(truth)}
    assert {"2022", "2023", "2024", "2025"} <= periods
    for f in _loaded(truth)[::25]:
        doc = etree.parse(str(out / f["name"]), _PARSER)
        assert load_schema(f["module"], f["version"]).validate(doc), f["name"]


def test_episode_and_series_ids_are_unique_per_institution_over_all_years(episodes):
    periods: dict[tuple[str, str], set[str]] = defaultdict(set)
    series_start: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in episodes:
        periods[(e["file"]["institution"], e["id"])].add(e["file"]["period_from"])
        if e["serie"]:
            series_start[(e["file"]["institution"], e["serie"])].add(e["pid"])
    # an id never comes back in a file of another period, and a series is one patient's
    assert all(len(p) == 1 for p in periods.values())
    assert all(len(p) == 1 for p in series_start.values())
    assert len({k[1][1:3] for k in periods}) >= 4  # ids carry the year


def test_radiotherapy_series_cross_year_ends(episodes):
    years_of_series: dict[str, set[str]] = defaultdict(set)
    for e in episodes:
        if e["serie"]:
            years_of_series[e["serie"]].add(e["start"][:4])
    assert any(len(y) > 1 for y in years_of_series.values())


def test_persons_keep_fodselsnummer_and_pasientnr_over_the_years(hist):
    out, truth = hist
    fid_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    years_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in _loaded(truth, "ide"):
        for el in _melding(out, f).iter("{*}PasientIdent"):
            if is_valid(el.get("fid")):
                fid_of[(f["institution"], el.get("pid"))].add(el.get("fid"))
                years_of[(f["institution"], el.get("pid"))].add(f["period_from"][:4])
    assert all(len(fids) == 1 for fids in fid_of.values())
    pid_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for (inst, pid), fids in fid_of.items():
        pid_of[(inst, next(iter(fids)))].add(pid)
    assert all(len(pids) == 1 for pids in pid_of.values())
    assert sum(len(y) > 1 for y in years_of.values()) > 50  # patients come back in later years


def test_receiver_moves_to_fhi_in_march_2024(hist):
    out, truth = hist
    seen = Counter()
    for f in _loaded(truth):
        if f["envelope"] != "msghead":
            continue
        root = etree.parse(str(out / f["name"]), _PARSER).getroot()
        ident = root.find(f"{{{MSGHEAD_NS}}}MsgInfo/{{{MSGHEAD_NS}}}Receiver//{{{MSGHEAD_NS}}}Id").text
        after = f["uttak_dato"] >= "2024-03-01"
        assert ident == ("983744516" if after else P.NPR_ORGNR), f["name"]
        seen[after] += 1
    assert seen[True] and seen[False]


def test_senders_move_from_57_to_58_over_time(hist):
    _, truth = hist
    by_year: dict[str, Counter] = defaultdict(Counter)
    for f in _loaded(truth):
        by_year[f["uttak_dato"][:4]][f["version"]] += 1
    share = {y: c["58.0.1"] / sum(c.values()) for y, c in by_year.items()}
    assert share["2022"] < 0.4 and share["2026"] == 1.0
    assert share["2022"] < share["2023"] < share["2024"] < share["2025"]
    # one sender never goes back
    for inst in {f["institution"] for f in _loaded(truth)}:
        files = sorted((f["uttak_dato"], f["version"]) for f in _loaded(truth) if f["institution"] == inst)
        versions = [v for _, v in files]
        assert versions == sorted(versions), inst


def test_every_file_has_an_arrival_date_in_the_registry_cycle(hist):
    _, truth = hist
    for f in truth["files"]:
        assert f["arrival_date"] >= f["uttak_dato"] and f["arrival_date"] > f["period_to"]
    first_b = [f for f in _loaded(truth) if f["message_type"] == "B" and f["module"] != "ide"]
    delays = [
        (dt.date.fromisoformat(f["arrival_date"]) - dt.date.fromisoformat(f["period_to"])).days
        for f in first_b
    ]
    assert min(delays) <= 30  # tertial B files a few weeks after their period
    # some resends of a year arrive in the yearly round, before the deadline in the spring after it
    slots = Counter((f["institution"], f["module"], f["period_from"]) for f in first_b)
    yearly = [
        f
        for f in first_b
        if slots[(f["institution"], f["module"], f["period_from"])] > 1
        and f["arrival_date"][:4] > f["period_to"][:4]
        and f["arrival_date"] <= H.yearly_deadline(int(f["period_to"][:4])).isoformat()
        and f["period_to"][5:] != "12-31"
    ]
    assert yearly


def test_as_of_replay_adds_only_new_files_and_equals_one_shot(tmp_path):
    inbox, once = tmp_path / "inbox", tmp_path / "once"
    kw = {"years": "2024-2025", "scale": 0.001, "seed": 2, "workers": 1, "progress": False}
    first = json.loads(generate(inbox, as_of="2024-10-15", **kw).read_text("utf-8"))
    assert first["files"] and all(f["arrival_date"] <= "2024-10-15" for f in first["files"])
    assert first["arrivals"]["pending_files"] > 0 and first["arrivals"]["next"] > "2024-10-15"
    before = {p: p.stat().st_mtime_ns for p in inbox.rglob("*.xml")}
    second = json.loads(generate(inbox, as_of="2025-06-30", **kw).read_text("utf-8"))
    assert set(before) < set(inbox.rglob("*.xml"))
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # untouched
    new = [f for f in second["files"] if inbox / f["name"] not in before]
    assert new and all("2024-10-15" < f["arrival_date"] <= "2025-06-30" for f in new)
    assert not list(inbox.rglob("*.part"))
    generate(once, as_of="2025-06-30", **kw)
    names = sorted(p.relative_to(once).as_posix() for p in once.rglob("*.xml"))
    assert names == sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*.xml"))
    for name in names:
        assert (once / name).read_bytes() == (inbox / name).read_bytes(), name
    for part in ["truth.json", *(f"current/{t}.parquet" for t in ("examinations", "doses", "rt_series"))]:
        assert (once / "_truth" / part).read_bytes() == (inbox / "_truth" / part).read_bytes(), part
    # the truth as of a date is what its files give: fewer current episodes early on
    assert first["current"]["raa"]["episodes"] < second["current"]["raa"]["episodes"]


def test_trends_ct_grows_and_a_facility_lowers_its_dose(hist):
    out, _ = hist
    exams = pq.read_table(out / "_truth" / "current" / "examinations.parquet").to_pylist()
    ct = Counter(e["date"][:4] for e in exams if e["module"] == "raa" and e["modality"] in ("D", "E", "P"))
    assert ct["2025"] > ct["2022"] * 1.05
    typical = pq.read_table(out / "_truth" / "current" / "facility_typical_values.parquet").to_pylist()
    site, modality, year, factor = P.DOSE_REDUCTIONS[0]
    values = defaultdict(dict)
    for r in typical:
        if r["equipment_id"].startswith(f"{site[-4:]}-{modality}"):
            values[(r["equipment_id"], r["procedure_code"], r["dose_type"])][r["year"]] = r["typical_value"]
    pairs = [v for v in values.values() if year - 1 in v and year + 1 in v]
    assert pairs and all(v[year + 1] == pytest.approx(v[year - 1] * factor) for v in pairs)
    assert H.hypo_factor(2025) > H.hypo_factor(2022)


def test_a_new_ct_is_installed_during_the_history():
    world = build_world(2025, SCALE, 1, first_year=2021)
    site_orgnr, modality, year, maker, model = P.NEW_EQUIPMENT[0]
    site = next(s for i in world.institutions.values() for s in i.sites if s.orgnr == site_orgnr)
    new = [e for e in site.equipment[modality] if e.installed == year and e.model == model]
    assert len(new) == 1 and new[0].manufacturer == maker
    added = {(m, mod) for *_, m, mod in P.NEW_EQUIPMENT}
    # models belong to their manufacturer
    for inst in world.institutions.values():
        for s in inst.sites:
            for eqs in s.equipment.values():
                for e in eqs:
                    models = P.MODELS.get(e.modality, {}).get(e.manufacturer)
                    assert models is None or e.model in models or (e.manufacturer, e.model) in added


def test_diagnoses_fit_the_patients_sex(episodes):
    str_eps = [e for e in episodes if e["file"]["module"] == "str" and e["diag"]]
    assert str_eps
    for e in str_eps:
        if e["sex"] == "1":
            assert not e["diag"].startswith(FEMALE_ONLY), e
        elif e["sex"] == "2":
            assert not e["diag"].startswith(MALE_ONLY), e


def test_radiotherapy_patients_from_other_regions(episodes):
    region = {
        r["komnr"].zfill(4): r["borhf_navn"] for r in read_seed("municipality_catchment.csv") if r["komnr"]
    }
    orgs = organisations()
    migrants = Counter()
    for e in episodes:
        if e["file"]["module"] == "str":
            treated = orgs[e["file"]["institution"]]["behrhf_navn"]
            migrants[region.get(e["komnr"]) != treated] += 1
    assert 0.02 < migrants[True] / sum(migrants.values()) < 0.25


def test_palliative_share_replanning_and_second_series(hist, episodes):
    out, truth = hist
    series = pq.read_table(out / "_truth" / "current" / "rt_series.parquet").to_pylist()
    palliative = sum(s["intent"] == "2" for s in series) / len(series)
    assert 0.40 <= palliative <= 0.62
    plans = Counter(e["serie"] for e in episodes if e["serie"] and e["codes"][0].startswith("WEGX"))
    assert truth["current"]["str"]["dose_plans"] > truth["current"]["str"]["rt_series"]
    assert any(n > 1 for n in plans.values())
    per_patient: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for e in episodes:
        if e["serie"]:
            per_patient[(e["file"]["institution"], e["pid"], e["start"][:4])].add(e["serie"])
    assert sum(len(s) for s in per_patient.values()) / len(per_patient) > 1.05


def test_population_has_real_small_places_and_ages_moves_and_dies():
    by = {m.komnr: m.population for m in municipalities()}
    assert by["2211"] == 0 and 2_400 <= by["2100"] <= 3_000  # Jan Mayen, Svalbard
    assert not [c for c in population_cells() if c[0] in ("2211", "2311", "2321")]
    world = build_world(2025, 0.01, 3, first_year=2021)
    pool = world.pool
    people = [pool.person(c, k) for c in range(0, len(pool.cells), 7) for k in range(pool.slots[c])]
    assert all(p.home(2021) != "2211" for p in people)
    moved = sum(bool(p.moves) for p in people) / len(people)
    dead = sum(p.death is not None for p in people) / len(people)
    assert 0.05 < moved < 0.2 and 0.01 < dead < 0.1
    sampler = CatchmentSampler(pool, {m.komnr: 1.0 for m in municipalities()}, P.RT_RATE_BY_AGE)
    rng = random.Random(1)
    day = dt.date(2025, 6, 1)
    assert all(sampler.draw(rng, day).alive(day) for _ in range(2000))


def test_years_argument():
    assert H.parse_years("2021-2025") == (2021, 2025) and H.parse_years("2024") == (2024, 2024)
    with pytest.raises(ValueError):
        H.parse_years("2025-2021")
    with pytest.raises(ValueError):
        generate(Path("/nonexistent"), year=2024, years="2021-2025", progress=False)

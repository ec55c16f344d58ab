"""The synthetic generator: schema-valid output, faults as declared, determinism, truth, realism."""

from __future__ import annotations

import csv
import filecmp
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from lxml import etree

from extract.checks import code_lists
from extract.model import faults as F
from extract.model.messages import ELEMENTS, MODULES, VERSIONS, parse_namespace
from extract.model.xsd import MSGHEAD_NS, load_schema
from synth import generate
from synth import parameters as P
from synth.fnr import is_valid
from synth.generator import write_population_csv

SCALE = 0.002
SEED_CSV = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "synthetic" / "population.csv"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth")
    manifest = generate(out, scale=SCALE, seed=7, workers=2, progress=False)
    return out, json.loads(manifest.read_text(encoding="utf-8"))


def _files(truth, expected=None):
    return [f for f in truth["files"] if expected is None or f["expected"] == expected]


def _melding(doc: etree._ElementTree) -> etree._Element:
    root = doc.getroot()
    if root.tag == f"{{{MSGHEAD_NS}}}MsgHead":
        return root.find(f"{{{MSGHEAD_NS}}}Document/{{{MSGHEAD_NS}}}RefDoc/{{{MSGHEAD_NS}}}Content")[0]
    return root


def test_every_loaded_file_validates_against_its_schema(run):
    out, truth = run
    seen = Counter()
    for f in _files(truth, F.LOADED):
        doc = etree.parse(str(out / f["name"]), _PARSER)
        schema = load_schema(f["module"], f["version"])
        assert schema.validate(doc), (f["name"], schema.error_log.last_error)
        seen[(f["envelope"], f["encoding"], f["version"])] += 1
    # Both envelopes, both encodings and both versions occur.
    assert {e for e, _, _ in seen} == {"bare", "msghead"}
    assert {c for _, c, _ in seen} == {"UTF-8", "ISO-8859-1"}
    assert {v for _, _, v in seen} == set(VERSIONS)


def test_msghead_envelope_is_the_official_one(run):
    out, truth = run
    wrapped = [f for f in _files(truth, F.LOADED) if f["envelope"] == "msghead"]
    assert wrapped
    for f in wrapped[:20]:
        doc = etree.parse(str(out / f["name"]), _PARSER)
        assert doc.getroot().tag == f"{{{MSGHEAD_NS}}}MsgHead"
        info = doc.getroot()[0]
        assert info.findtext(f"{{{MSGHEAD_NS}}}MIGversion") == "v1.2 2006-05-24"
        assert load_schema(f["module"], f["version"]).validate(doc)
        # The Melding inside must also be valid on its own.
        bare = etree.ElementTree(etree.fromstring(etree.tostring(_melding(doc))))
        assert load_schema(f["module"], f["version"]).validate(bare)


def _declared_encoding(data: bytes) -> str:
    return re.match(rb'<\?xml[^>]*encoding="([^"]+)"', data).group(1).decode()


def test_every_faulty_file_fails_the_declared_way(run):
    out, truth = run
    rejected = _files(truth, F.REJECTED)
    assert {f["reason_class"] for f in rejected} == set(F.REJECTION_CLASSES)
    for f in rejected:
        data = (out / f["name"]).read_bytes()
        reason = f["reason_class"]
        if reason == F.ENCODING_ERROR:
            with pytest.raises(UnicodeDecodeError):
                data.decode(_declared_encoding(data))
            continue
        if reason == F.UNSAFE_XML:
            assert b"<!DOCTYPE" in data and b"<!ENTITY" in data
            continue
        if reason == F.NOT_WELL_FORMED:
            with pytest.raises(etree.XMLSyntaxError):
                etree.fromstring(data, _PARSER)
            continue
        melding = _melding(etree.ElementTree(etree.fromstring(data, _PARSER)))
        version, module = parse_namespace(etree.QName(melding).namespace)
        if reason == F.UNKNOWN_MODULE:
            assert module not in MODULES and module == f["module"]
        elif reason == F.UNKNOWN_VERSION:
            assert version not in VERSIONS and melding.get("versjon") == version == f["version"]
        else:
            assert reason == F.SCHEMA_INVALID
            assert (module, version) == (f["module"], f["version"])
            assert not load_schema(module, version).validate(
                etree.ElementTree(etree.fromstring(data, _PARSER))
            )


def test_hashes_sizes_and_duplicates(run):
    out, truth = run
    by_sha: dict[str, list[dict]] = {}
    for f in truth["files"]:
        data = (out / f["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["size"]
        by_sha.setdefault(f["sha256"], []).append(f)
    duplicates = _files(truth, F.DUPLICATE)
    assert duplicates
    for d in duplicates:
        group = by_sha[d["sha256"]]
        assert sorted(x["expected"] for x in group) == [F.DUPLICATE, F.LOADED]
    # Every file on disk is in the manifest.
    on_disk = {
        p.relative_to(out).as_posix() for p in out.rglob("*.xml") if p.relative_to(out).parts[0] != "_truth"
    }
    assert on_disk == {f["name"] for f in truth["files"]}


def test_a_threaded_caller_gets_workers_from_a_fork_server_and_the_same_files(run, tmp_path, monkeypatch):
    """Forking a process that runs other threads (Dagster, a test process that has used DuckDB) can
    leave a child hanging on a lock it inherited held: such a caller's workers come from a fork
    server (extract.workers.safe_start_method), and write the same bytes."""
    import multiprocessing
    import threading
    from types import SimpleNamespace

    from synth import generator

    methods: list[str] = []

    def get_context(method):
        methods.append(method)
        return multiprocessing.get_context(method)

    monkeypatch.setattr(generator, "mp", SimpleNamespace(get_context=get_context))
    stop = threading.Event()
    threading.Thread(target=stop.wait, daemon=True).start()
    try:
        generate(tmp_path, scale=SCALE, seed=7, workers=2, progress=False)
    finally:
        stop.set()
    assert methods == ["forkserver"]
    out, _ = run
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.xml"))
    assert names == sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.xml"))
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_two_runs_with_one_seed_are_byte_identical(run, tmp_path):
    out, _ = run
    again = tmp_path / "again"
    generate(again, scale=SCALE, seed=7, workers=1, progress=False)
    cmp = filecmp.dircmp(out, again)
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.xml"))
    assert names == sorted(p.relative_to(again).as_posix() for p in again.rglob("*.xml"))
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    assert not cmp.left_only and not cmp.right_only
    truth = Path("_truth") / "truth.json"
    assert (out / truth).read_bytes() == (again / truth).read_bytes()


def test_fodselsnumre_pass_mod11_except_planted(run):
    out, truth = run
    planted = 0
    invalid = 0
    total = 0
    for f in _files(truth, F.LOADED):
        if f["module"] != "ide":
            continue
        planted += f["findings"].get(F.INVALID_FODSELSNUMMER, 0)
        pids: list[str] = []
        for el in etree.parse(str(out / f["name"]), _PARSER).iter("{*}PasientIdent"):
            total += 1
            fid = el.get("fid")
            pids.append(el.get("pid"))
            assert len(fid) == 11
            invalid += not is_valid(fid)
            if el.get("typeID") == "2":
                assert int(fid[0]) >= 4  # D-number: day + 40
        assert len(set(pids)) == len(pids)  # pasientNr is one person per sender
    assert total > 100
    assert planted >= 1 and invalid == planted


def _count_rows(melding: etree._Element, module: str) -> Counter:
    counts: Counter = Counter()

    def visit(el, key):
        counts[key] += 1
        children = {ELEMENTS[c.element].tag: c.element for c in ELEMENTS[key].children_in(module)}
        for child in el:
            if isinstance(child.tag, str):
                visit(child, children[etree.QName(child).localname])

    visit(melding, "message")
    return counts


def test_truth_rows_match_element_counts(run):
    out, truth = run
    for f in _files(truth, F.LOADED):
        melding = _melding(etree.parse(str(out / f["name"]), _PARSER))
        assert dict(_count_rows(melding, f["module"])) == f["rows"], f["name"]


def test_planted_findings_of_every_class(run):
    _, truth = run
    found = Counter()
    for f in _files(truth, F.LOADED):
        found.update(f["findings"])
    assert set(found) == set(F.FINDING_CLASSES)


def test_resends_and_change_messages(run):
    _, truth = run
    loaded = _files(truth, F.LOADED)
    e_files = [f for f in loaded if f["message_type"] == "E"]
    assert e_files and any(f["rows"].get("deletion") for f in e_files)
    b = Counter((f["institution"], f["module"], f["period_from"]) for f in loaded if f["message_type"] == "B")
    assert any(n > 1 for n in b.values())  # a later B resend of the same slot


def test_codes_come_from_the_reference_lists(run):
    out, truth = run
    known = code_lists()["R"] | code_lists()["K"] | code_lists()["M"]
    icd = code_lists()["D"]
    unknown = 0
    for f in _files(truth, F.LOADED):
        if f["module"] not in ("raa", "ord", "str"):
            continue
        doc = etree.parse(str(out / f["name"]), _PARSER)
        for el in doc.iter("{*}Kode"):
            code = el.get("kodeVerdi")
            parent = etree.QName(el.getparent()).localname
            if parent == "Tilstand":
                assert code in icd, code
            elif code not in known:
                unknown += 1
    planted = sum(f["findings"].get(F.UNKNOWN_CODE, 0) for f in _files(truth, F.LOADED))
    assert unknown == planted


def test_realism_modality_mix_and_radiotherapy(run):
    out, truth = run
    exams = pq.read_table(out / "_truth" / "current" / "examinations.parquet").to_pylist()
    raa = [e for e in exams if e["module"] == "raa"]
    letters = Counter(e["modality"] for e in raa)
    n = len(raa)
    assert n == truth["current"]["raa"]["examinations"]
    assert 0.42 <= letters["A"] / n <= 0.58  # conventional X-ray ~50 %
    assert 0.15 <= (letters["D"] + letters["P"] + letters["E"]) / n <= 0.26  # CT ~20 %
    assert 0.002 <= (letters["N"] + letters["L"]) / n <= 0.04  # NM + PET a few per cent
    series = pq.read_table(out / "_truth" / "current" / "rt_series.parquet").to_pylist()
    assert len(series) == truth["current"]["str"]["rt_series"] > 10
    schedules = [(s[0], round(s[0] / s[1], 2)) for d in P.RT_DIAGNOSES for s in d[4]]
    for s in series:
        dpf, planned = s["dose_per_fraction_gy"], s["planned_total_dose_gy"]
        # A schedule from the list (a resend may have added one fraction to the plan).
        assert any(
            abs(dpf - f) < 0.011 and (abs(planned - t) < 0.011 or abs(planned - t - f) < 0.011)
            for t, f in schedules
        ), s
        assert s["fractions_delivered"] >= 1
    # The 10-digit radiotherapy unit orgnr quirk occurs.
    str_files = [f for f in _files(truth, F.LOADED) if f["module"] == "str"]
    orgnrs = {
        el.get("orgNr")
        for f in str_files
        for el in etree.parse(str(out / f["name"]), _PARSER).iter("{*}Enhet")
    }
    assert any(len(o) == 10 for o in orgnrs) and any(len(o) == 9 for o in orgnrs)


def test_dose_truth_is_canonical_and_near_typical(run):
    out, _ = run
    doses = pq.read_table(out / "_truth" / "current" / "doses.parquet").to_pylist()
    chest = [
        d["value"]
        for d in doses
        if d["procedure_code"] == "SSC0AA" and d["dose_type"] == "DAP" and d["finding"] is None
    ]
    assert len(chest) > 50
    chest.sort()
    median = chest[len(chest) // 2]
    assert 0.15 < median < 0.7  # national median ~0.33 Gy·cm² (DSA P25 0.25, P75 0.43)
    assert {d["unit_as_sent"] for d in doses if d["dose_type"] == "DAP"} >= {"Gy.cm2", "mGy.cm2"}
    # MR and ultrasound never carry dose.
    assert not [
        d
        for d in doses
        if len(d["procedure_code"]) == 6
        and d["procedure_code"][5] in "GHKQ"
        and not d["procedure_code"].startswith("ZTX")  # radiopharmaceuticals (ZTX6LG, ZTX6LH)
    ]
    typical = pq.read_table(out / "_truth" / "current" / "facility_typical_values.parquet")
    assert typical.num_rows > 50


def test_population_seed_matches_the_world(tmp_path):
    fresh = tmp_path / "population.csv"
    write_population_csv(fresh)
    assert SEED_CSV.read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8")
    with SEED_CSV.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    total_2025 = sum(int(r["population"]) for r in rows if r["year"] == "2025")
    assert abs(total_2025 - P.POPULATION_TOTAL) / P.POPULATION_TOTAL < 0.01
    assert all(len(r["municipality_number"]) == 4 for r in rows)
    assert "0301" in {r["municipality_number"] for r in rows}


def _replay(out: Path, truth: dict) -> dict[str, Counter]:
    """Current state rebuilt from the loaded files alone, by docs/messages.md section 8's rules."""
    by_stream: dict[tuple[str, str], list[dict]] = {}
    for f in _files(truth, F.LOADED):
        if f["module"] != "ide":
            by_stream.setdefault((f["institution"], f["module"]), []).append(f)
    counts: dict[str, Counter] = {m: Counter() for m in ("raa", "ord", "str", "rad")}
    for (_inst, module), files in by_stream.items():
        files.sort(key=lambda f: (f["uttak_dato"], int(f["lopenr"])))
        state: dict[str, dict[str, dict]] = {}  # period -> key -> record
        for f in files:
            melding = _melding(etree.parse(str(out / f["name"]), _PARSER))
            records: dict[str, dict] = {}
            if module == "rad":
                for ev in melding.iter("{*}ApparatFremmote"):
                    records[f"{ev.get('episodeID')}/{ev.get('prosNr')}"] = {
                        "indicators": len(ev.findall("{*}Doseindikator"))
                    }
            else:
                for ep in melding.iter("{*}Episode"):
                    codes = [
                        [k.get("kodeVerdi") for k in p.findall("{*}Kode")] for p in ep.iter("{*}Prosedyre")
                    ]
                    records[ep.get("episodeID")] = {"codes": codes}
            period = f["period_from"]
            if f["message_type"] == "B":
                state[period] = records
            else:
                for ep_id in [s.get("episodeID") for s in melding.iter("{*}Slett")] + list(records):
                    for recs in state.values():
                        recs.pop(ep_id, None)
                state.setdefault(period, {}).update(records)
        c = counts[module]
        for recs in state.values():
            for rec in recs.values():
                if module == "rad":
                    c["dose_indicators"] += rec["indicators"]
                    continue
                c["episodes"] += 1
                for codes in rec["codes"]:
                    if module == "raa":
                        c["examinations"] += 1
                    elif module == "ord":
                        c["examinations"] += any(x.startswith("ZXM") for x in codes)
                    elif codes[0].startswith("WEGX"):
                        c["dose_plans"] += 1
                    elif codes[0].startswith("WEO"):
                        c["rt_attendances"] += 1
    return counts


def test_current_state_replays_from_the_files(run):
    out, truth = run
    replay = _replay(out, truth)
    current = truth["current"]
    for module in ("raa", "ord"):
        assert replay[module]["episodes"] == current[module]["episodes"]
        assert replay[module]["examinations"] == current[module]["examinations"]
    for key in ("episodes", "rt_attendances", "dose_plans"):
        assert replay["str"][key] == current["str"][key], key
    assert replay["rad"]["dose_indicators"] == current["rad"]["dose_indicators"]


def test_every_class_occurs_at_the_smallest_scale(tmp_path):
    truth = json.loads(generate(tmp_path, scale=0.001, seed=3, workers=1, progress=False).read_text("utf-8"))
    assert {f["reason_class"] for f in _files(truth, F.REJECTED)} == set(F.REJECTION_CLASSES)
    found = Counter()
    for f in _files(truth, F.LOADED):
        found.update(f["findings"])
    assert set(found) == set(F.FINDING_CLASSES)
    assert _files(truth, F.DUPLICATE)
    rejected_share = len(_files(truth, F.REJECTED)) / len(truth["files"])
    assert rejected_share < 0.05  # small, never zero


def test_generate_refuses_a_file_as_output(tmp_path):
    target = tmp_path / "inbox"
    target.write_text("not a folder")
    with pytest.raises(NotADirectoryError):
        generate(target, scale=0.001, progress=False)

"""Round trip against the generator's truth manifest: every file ends as the generator says, with
the entity counts it wrote and the findings it planted."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from extract.ingest import ingest
from tests.extract.conftest import TEST_KEY, findings, ledger_by_path, rows_of

try:
    from synth import generate
except ImportError as e:  # the generator is another helper's work; say why this is skipped
    generate = None
    IMPORT_ERROR = str(e)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    if generate is None:
        pytest.skip(f"synth.generate cannot be imported: {IMPORT_ERROR}")
    out = tmp_path_factory.mktemp("gen") / "inbox"
    truth = generate(out, year=2025, scale=0.002, seed=7, workers=2, progress=False)
    return out, json.loads(truth.read_text())


@pytest.fixture(scope="module")
def ingested(generated, tmp_path_factory):
    inbox, truth = generated
    lake = tmp_path_factory.mktemp("lake")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STRALEBRUK_PSEUDONYM_KEY", TEST_KEY)
        summary = ingest(inbox, lake, workers=2)
    return lake, truth, summary


def test_every_file_ends_as_generated(ingested):
    lake, truth, summary = ingested
    entries = ledger_by_path(lake)
    assert sorted(entries) == sorted(f["name"] for f in truth["files"])
    for f in truth["files"]:
        e = entries[f["name"]]
        assert (e["status"], e["file_id"]) == (f["expected"], f["sha256"]), f["name"]
        if f["expected"] == "rejected":
            assert e["reason_class"] == f["reason_class"], (f["name"], e["reason"])
        else:  # a rejected file's module is what it claims (kpp, say), not what was meant
            assert (e["module"], e["version"], e["lopenr"]) == (f["module"], f["version"], f["lopenr"]), f[
                "name"
            ]
    expected = Counter(f["expected"] for f in truth["files"])
    assert (summary.loaded, summary.rejected, summary.duplicates) == (
        expected["loaded"],
        expected["rejected"],
        expected["duplicate"],
    )
    assert {f["expected"] for f in truth["files"]} >= {"loaded", "rejected", "duplicate"}


def test_entity_counts_per_file(ingested):
    lake, truth, _ = ingested
    entries = ledger_by_path(lake)
    for f in truth["files"]:
        if f["expected"] != "loaded":
            continue
        got = {k: v for k, v in rows_of(entries[f["name"]]).items() if v}
        assert got == {k: v for k, v in f["rows"].items() if v}, f["name"]


def test_planted_findings_per_file(ingested):
    lake, truth, _ = ingested
    by_file: dict[str, Counter] = defaultdict(Counter)
    for row in findings(lake):
        by_file[row["file_id"]][row["finding_class"]] += 1
    for f in truth["files"]:
        if f["expected"] != "loaded":
            continue
        got, planted = dict(by_file.get(f["sha256"], {})), dict(f.get("findings") or {})
        # Implausible dose: the generator multiplies a typical value by 1000, which can stay inside
        # the per-dose-type bounds of extract.checks (e.g. a chest DAP); never more than planted.
        assert got.pop("implausible_dose", 0) <= planted.pop("implausible_dose", 0), f["name"]
        assert got == planted, f["name"]

"""An episode id the sender uses again (for another patient, or in another period) is a finding of
its own class and both episodes count (docs/messages.md section 8): nothing vanishes.

A generated year is built; then two files reuse every episode id of one raa batch: one a year later
(same patients: outside the period), one an E message for the same period with other patients.
Rebuilt, the marts hold every earlier examination plus every examination of the two files."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from lxml import etree

from extract.model.faults import EPISODE_ID_REUSED
from tests.warehouse.conftest import CORE_SELECTION, run_dbt

pytestmark = pytest.mark.slow


def _procedures(path: Path) -> int:
    return sum(1 for el in etree.parse(str(path)).iter() if etree.QName(el).localname == "Prosedyre")


def _rewrite(source: Path, target: Path, edits: list[tuple[str, str]]) -> None:
    text = source.read_bytes().decode("iso-8859-1")
    for pattern, replacement in edits:
        text, n = re.subn(pattern, replacement, text)
        assert n, pattern
    target.write_bytes(text.encode("iso-8859-1"))


def _counts(paths) -> tuple[int, set[tuple], list[tuple]]:
    with duckdb.connect(str(paths.build_warehouse), read_only=True) as con:
        raa = "select count(*) from marts.fct_imaging_examination where source_module = 'raa'"
        n = con.sql(raa).fetchall()
        keys = set(
            con.sql(
                "select institution_orgnr, episode_id, procedure_no from marts.fct_imaging_examination"
            ).fetchall()
        )
        reuses = con.sql(
            "select finding_class, reuse_kind, count(*) from intermediate.int_episode_id_reuses group by all"
        ).fetchall()
    return n[0][0], keys, reuses


def test_a_reused_episode_id_loses_nothing(tmp_path):
    from extract.ingest import ingest
    from orchestration.settings import Paths
    from synth import generate

    paths = Paths.from_env(tmp_path)
    generate(paths.inbox, year=2025, scale=0.002, seed=5, progress=False)
    ingest(paths.inbox, paths.lake)
    build = run_dbt(paths, "build", *CORE_SELECTION, target_dir=tmp_path)
    assert build.returncode == 0, build.stdout[-3000:]
    before, keys_before, reuses_before = _counts(paths)
    assert reuses_before == []

    source = max(paths.inbox.rglob("raa_*_2025T1_B*.xml"), key=_procedures)
    later = source.parent / "reuse_next_year.xml"
    # the same episodes a year later, same patients: outside the period of the file that sent them
    _rewrite(
        source,
        later,
        [
            (r'((?:Dato\w*|Tidspunkt)="|GenDate>)2025-', r"\g<1>2026-"),
            (r'lopenr="\d+"', 'lopenr="2026999998"'),
        ],
    )
    other = source.parent / "reuse_other_patients.xml"
    # the same period, an E message, every episode under another pasientNr
    _rewrite(
        source,
        other,
        [
            (r'meldingstype="B"', 'meldingstype="E"'),
            (r'uttakDato="[\d-]+"', 'uttakDato="2026-06-01"'),
            (r'lopenr="\d+"', 'lopenr="2026999999"'),
            (r'pasientNr="([^"]+)"', r'pasientNr="R\1"'),
        ],
    )
    added = _procedures(later) + _procedures(other)
    assert added > 0
    ingest(paths.inbox, paths.lake)
    build = run_dbt(paths, "build", *CORE_SELECTION, target_dir=tmp_path)
    assert build.returncode == 0, build.stdout[-3000:]  # incl. the reconciliation test
    after, keys_after, reuses = _counts(paths)

    assert after == before + added
    assert keys_before <= keys_after, "an examination that counted before vanished"
    kinds = {kind: n for cls, kind, n in reuses if cls == EPISODE_ID_REUSED}
    episodes = sum(
        1
        for f in (later, other)
        for el in etree.parse(str(f)).iter()
        if etree.QName(el).localname == "Episode"
    )
    assert sum(kinds.values()) == episodes
    assert set(kinds) == {"outside_period", "another_patient"}

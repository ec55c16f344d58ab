"""The `stralebruk` command wires each subcommand to the code behind it (the behaviour itself is
tested where it lives: synth, extract.doctor, extract.rotate)."""

from __future__ import annotations

import json

import pytest

from extract import lake as lk
from extract.ingest import ingest
from orchestration.cli import main


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A data directory with a two-year history as it had arrived by mid-2025, ingested."""
    data = tmp_path_factory.mktemp("cli")
    inbox = data / "inbox"
    args = ["generate", "--out", str(inbox), "--years", "2024-2025", "--scale", "0.001", "--quiet"]
    assert main([*args, "--as-of", "2025-06-30", "--workers", "1"]) == 0
    ingest(inbox, data / "lake", workers=1)
    return data


def test_generate_history_as_of_a_date(small):
    truth = json.loads(next((small / "inbox").rglob("truth.json")).read_text(encoding="utf-8"))
    assert truth["as_of"] == "2025-06-30"
    assert truth["years"] == [2024, 2025]


def test_year_must_end_the_history(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--out", str(tmp_path), "--years", "2021-2024", "--year", "2025"])
    assert exit_.value.code == 2
    assert "last year of --years" in capsys.readouterr().err


def test_doctor_check_reports_a_healthy_lake_and_a_garbled_part(small, capsys):
    assert main(["doctor", "--check", "--data-dir", str(small)]) == 0
    assert "0 problems" in capsys.readouterr().out
    part = next(p for p in sorted(lk.ledger_dir(small / "lake").glob("*.parquet")))
    original = part.read_bytes()
    try:
        part.write_bytes(original[: len(original) // 2])
        assert main(["doctor", "--check", "--data-dir", str(small)]) == 1
        assert str(part.name) in capsys.readouterr().out
    finally:
        part.write_bytes(original)


def test_rotate_key_refuses_when_the_inbox_lost_a_file(small, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STRALEBRUK_PSEUDONYM_KEY", "another key")
    empty = tmp_path / "empty-inbox"
    empty.mkdir()
    assert main(["rotate-key", "--data-dir", str(small), "--inbox", str(empty)]) == 1
    assert "refused" in capsys.readouterr().out

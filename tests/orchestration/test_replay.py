"""A registry that lives for years (issue 13): a small three-year history arrives as it would at NPR
(`stralebruk generate --as-of`, a few dates from the first tertial to the spring after the last
year), each arrival followed by `stralebruk run`, all in one data directory.

After the last arrival the served marts equal a one-shot run over the same inbox and the generator's
truth; a run with no new file builds nothing and writes no delivery; each delivery version exists
only because its content changed."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
import math
import re
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.settings import Paths
from tests.warehouse.test_end_to_end import (
    EXAMINATIONS_MART,
    EXAMINATIONS_TRUTH,
    SERIES_MART,
    SERIES_TRUTH,
)

pytestmark = pytest.mark.slow

YEARS = (2023, 2025)
SCALE = 0.002
SEED = 11
# Arrival dates that cover each kind of arrival (the first tertial's files, then a year with its
# spring resends of the year before, then the rest up to the final corrections): each a real run.
# Month by month would be 36 builds; benchmarks/history.py measures one month's run instead.
ARRIVALS = ("2023-06-15", "2024-03-20", "2025-10-15", None)  # None: everything


def _run(data_dir: Path, inbox: Path, *, full_refresh: bool = False) -> tuple[int, str]:
    from orchestration.run import run_pipeline

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = run_pipeline(inbox=inbox, data_dir=data_dir, full_refresh=full_refresh)
    return code, out.getvalue()


def _sort_key(row: tuple) -> str:
    """Rows in a stable order: doubles to six significant digits (the values are compared by _same)."""
    return repr(tuple(float(f"{v:.6g}") if isinstance(v, float) else v for v in row))


def _same(a: list[tuple], b: list[tuple]) -> bool:
    """The same rows, doubles equal to a relative 1e-9: DuckDB's parallel sums differ run to run in
    the last bits (about 1e-15 relative), which is no change of content."""
    return len(a) == len(b) and all(
        len(x) == len(y)
        and all(
            math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-12)
            if isinstance(u, float) and isinstance(v, float)
            else u == v
            for u, v in zip(x, y, strict=True)
        )
        for x, y in zip(a, b, strict=True)
    )


def _folders(paths: Paths) -> dict[str, list[str]]:
    return {
        kind: sorted(p.name for p in (paths.deliveries / kind).iterdir() if not p.name.startswith("."))
        for kind in ("dsa", "rhf")
        if (paths.deliveries / kind).is_dir()
    }


def _table_rows(folder: Path) -> dict[str, list[tuple]]:
    manifest = json.loads((folder / "manifest.json").read_text())
    tables = {}
    for name in manifest["tables"]:
        rows = pq.read_table(folder / f"{name}.parquet").to_pylist()
        tables[name] = sorted((tuple(row.values()) for row in rows), key=_sort_key)
    return tables


def _rebuilt_years(build_warehouse: Path, stage: str = "deliveries") -> set[int] | None:
    """The years the last build recomputed in a stage's year-partitioned tables (deliveries, or the
    imaging tables): those whose fingerprint (int_<stage>__build_fingerprints) differs from the
    build before; None when that is every year (a full refresh, or a changed input without a
    year)."""
    with duckdb.connect(str(build_warehouse), read_only=True) as con:
        rows = con.execute(
            "select build_no, input_name, year, n_rows, row_hash"
            f" from intermediate.int_{stage}__build_fingerprints"
        ).fetchall()
    last = max(r[0] for r in rows)
    if last == 1:
        return None
    now, before = ({r[1:3]: r[3:] for r in rows if r[0] == n} for n in (last, last - 1))
    changed = {key[1] for key in now.keys() | before.keys() if now.get(key) != before.get(key)}
    return None if None in changed else changed


def _marts(path: Path) -> dict[str, list[tuple]]:
    """Every table of schema marts, rows in a stable order."""
    with duckdb.connect(str(path), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        out = {}
        for name in names:
            rows = con.execute(f"select * from marts.{name}").fetchall()
            out[name] = sorted((tuple(row) for row in rows), key=_sort_key)
    return out


@pytest.fixture(scope="module")
def replay(tmp_path_factory, dbt_manifest):
    from synth import generate

    root = tmp_path_factory.mktemp("replay")
    inbox = root / "inbox"
    paths = Paths.from_env(root / "data")
    history = []
    for as_of in ARRIVALS:
        truth = generate(inbox, years=YEARS, as_of=as_of, scale=SCALE, seed=SEED, progress=False)
        code, output = _run(paths.data_dir, inbox)
        assert code == 0, output[-4000:]
        rebuilt = {stage: _rebuilt_years(paths.build_warehouse, stage) for stage in ("deliveries", "imaging")}
        folders = _folders(paths)
        served_at = paths.served_warehouse.stat().st_mtime_ns
        again, output_again = _run(paths.data_dir, inbox)
        history.append(
            {
                "as_of": as_of,
                "output": output,
                "rebuilt_years": rebuilt,
                "folders": folders,
                "served_at": served_at,
                "again": (again, output_again, _folders(paths), paths.served_warehouse.stat().st_mtime_ns),
            }
        )
    # what the incremental builds served, before the full refresh below replaces it
    shutil.copy(paths.served_warehouse, root / "served_incremental.duckdb")
    history[-1]["served_copy"] = root / "served_incremental.duckdb"
    # the same data rebuilt from scratch: a new served file, the same content, no new delivery
    code, output = _run(paths.data_dir, inbox, full_refresh=True)
    assert code == 0, output[-4000:]
    history.append({"as_of": "full refresh", "output": output, "folders": _folders(paths)})
    return paths, inbox, Path(truth), history


def test_the_first_build_is_full_and_later_arrivals_build_incrementally(replay):
    _, _, _, history = replay
    modes = [re.search(r"build: (full refresh|incremental)", step["output"]).group(1) for step in history]
    assert modes == ["full refresh"] + ["incremental"] * (len(ARRIVALS) - 1) + ["full refresh"]


def test_a_full_refresh_of_unchanged_data_writes_no_delivery(replay):
    _, _, _, history = replay
    assert history[-1]["folders"] == history[-2]["folders"]
    assert history[-1]["output"].count("unchanged") >= 2, history[-1]["output"][-3000:]


def test_a_run_with_no_new_file_builds_nothing_and_delivers_nothing(replay):
    _, _, _, history = replay
    for step in history[:-1]:
        code, output, folders, served_at = step["again"]
        assert code == 0
        assert "Nothing new" in output, (step["as_of"], output[-2000:])
        assert folders == step["folders"], step["as_of"]
        assert served_at == step["served_at"], step["as_of"]


def test_each_delivery_version_differs_from_the_one_before(replay):
    paths, _, _, history = replay
    for kind in ("dsa", "rhf"):
        names = history[-1]["folders"].get(kind, [])
        assert names, kind
        by_period: dict[tuple, list[Path]] = {}
        for name in names:
            manifest = json.loads((paths.deliveries / kind / name / "manifest.json").read_text())
            by_period.setdefault((manifest["year"], manifest["month"]), []).append(
                (manifest["created_at"], paths.deliveries / kind / name)
            )
        for versions in by_period.values():
            folders = [f for _, f in sorted(versions)]
            for before, after in itertools.pairwise(folders):
                old, new = _table_rows(before), _table_rows(after)
                assert old.keys() != new.keys() or not all(_same(old[t], new[t]) for t in old), (
                    before.name,
                    after.name,
                )


def test_after_the_last_arrival_the_marts_equal_a_one_shot_run(replay, tmp_path):
    paths, inbox, _, history = replay
    one_shot = Paths.from_env(tmp_path / "one_shot")
    code, output = _run(one_shot.data_dir, inbox)
    assert code == 0, output[-4000:]
    fresh = _marts(one_shot.served_warehouse)
    # both what the incremental builds served and the final full refresh of the same data
    for served in (history[-2]["served_copy"], paths.served_warehouse):
        replayed = _marts(served)
        assert replayed.keys() == fresh.keys()
        differing = [name for name in replayed if not _same(replayed[name], fresh[name])]
        assert not differing, (served, differing)


@pytest.mark.parametrize("stage", ["deliveries", "imaging"])
def test_an_arrival_rebuilds_only_the_years_it_changed(replay, stage):
    _, _, _, history = replay
    first, *later = [step["rebuilt_years"][stage] for step in history[: len(ARRIVALS)]]
    assert first is None  # a full refresh: every year
    # the last arrival holds 2025's last tertial and its corrections: 2023 stays as it was
    assert later[-1] and YEARS[0] not in later[-1], later


def test_after_the_last_arrival_the_marts_equal_the_truth_per_year(replay):
    paths, _, truth_path, _ = replay
    truth_dir = truth_path.parent
    truth = json.loads(truth_path.read_text())
    assert truth["as_of"] is None or dt.date.fromisoformat(truth["as_of"]) >= dt.date(YEARS[1] + 1, 1, 1)
    with duckdb.connect(str(paths.served_warehouse), read_only=True) as con:
        for mart, truth_sql, table, date_at in (
            (EXAMINATIONS_MART, EXAMINATIONS_TRUTH, "examinations", -1),
            (SERIES_MART, SERIES_TRUTH, "rt_series", 2),
        ):
            source = f"read_parquet('{truth_dir / 'current' / f'{table}.parquet'}')"
            got = set(con.sql(mart).fetchall())
            want = set(con.sql(truth_sql.format(**{table: source})).fetchall())
            years = {r[date_at].year for r in want | got}
            assert set(range(YEARS[0], YEARS[1] + 1)) <= years, (table, years)
            for year in sorted(years):
                mine = {r for r in got if r[date_at].year == year}
                theirs = {r for r in want if r[date_at].year == year}
                assert mine == theirs, (table, year, len(mine - theirs), len(theirs - mine))

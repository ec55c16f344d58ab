"""Issue #15 items 5 and 7 and issue #12 item 12, orchestration side, each on a small fixture (no dbt):
the served file (WAL, read-only, no staging), two deliveries at once, the step failure message,
waiting for another run's pool slot, a dead run found at the next start, the CLI's bad arguments
and empty delivery, the delivery manifest's input files."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.lake import LEDGER_SCHEMA
from orchestration.cli import main as cli_main
from orchestration.settings import Paths

CUT = "2026-03-31"
FNR = "01018012345"  # the shape of a fødselsnummer, in a rejection reason


def _build(path: Path, persons: int = 5) -> Path:
    con = duckdb.connect(str(path))
    con.execute(
        "create schema staging; create schema intermediate; create schema marts; create schema reference"
    )
    con.execute("create table staging.stg_person as select i as person_key, 'raw' as fnr from range(4) t(i)")
    con.execute("create table intermediate.int_x as select 1 as x")
    con.execute(f"create table marts.dim_person as select i as person_key from range({persons}) t(i)")
    con.execute("create table reference.codes as select 'A' as code")
    con.close()
    return path


def _count(path: Path, table: str) -> int:
    from deliver.package import open_warehouse

    with open_warehouse(path) as con:
        return con.execute(f"select count(*) from {table}").fetchall()[0][0]


# A client that opens the served file read-write, adds 3 rows and dies without a checkpoint: the
# rows stay in warehouse.duckdb.wal beside the file.
WRITER = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("insert into marts.dim_person select * from marts.dim_person limit 3")
os._exit(0)
"""


def test_a_leftover_wal_is_not_replayed_onto_the_next_publish(tmp_path):
    from orchestration.publish import publish

    build, served = _build(tmp_path / "build.duckdb"), tmp_path / "warehouse.duckdb"
    publish(build, served)
    os.chmod(served, 0o644)  # a client that made it writable (root can write it anyway)
    subprocess.run([sys.executable, "-c", WRITER, str(served)], check=True)
    assert Path(f"{served}.wal").exists()
    publish(build, served)
    assert not Path(f"{served}.wal").exists()
    assert _count(served, "marts.dim_person") == 5  # not 8
    assert served.stat().st_mode & 0o222 == 0  # served read-only


def test_the_served_file_holds_marts_and_reference_only(tmp_path):
    from orchestration.publish import publish

    served = tmp_path / "warehouse.duckdb"
    rows = publish(_build(tmp_path / "build.duckdb"), served)
    assert rows == {"dim_person": 5}
    with duckdb.connect(str(served), read_only=True) as con:
        schemas = {
            s
            for (s,) in con.execute("select distinct table_schema from information_schema.tables").fetchall()
        }
    assert schemas == {"marts", "reference"}
    assert b"raw" not in served.read_bytes()  # staging's rows are not in the file at all


def test_open_warehouse_sees_a_new_publish_while_an_old_connection_is_open(tmp_path):
    from deliver.package import open_warehouse
    from orchestration.publish import publish

    served = tmp_path / "warehouse.duckdb"
    publish(_build(tmp_path / "b1.duckdb", persons=5), served)
    old = duckdb.connect(str(served), read_only=True)
    try:
        publish(_build(tmp_path / "b2.duckdb", persons=7), served)
        # duckdb.connect on the same path returns the cached (old) database while `old` is open
        assert duckdb.connect(str(served), read_only=True).execute(
            "select count(*) from marts.dim_person"
        ).fetchall() == [(5,)]
        with open_warehouse(served) as con:
            assert con.execute("select count(*) from marts.dim_person").fetchall() == [(7,)]
    finally:
        old.close()


def test_publish_leftovers_of_a_dead_process_are_removed(tmp_path):
    from orchestration.publish import remove_leftovers

    served = tmp_path / "warehouse.duckdb"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / f".warehouse.duckdb.{dead.pid}.tmp"
    mine = tmp_path / f".warehouse.duckdb.{os.getpid()}.tmp"
    left.write_bytes(b"x")
    mine.write_bytes(b"x")
    assert remove_leftovers(served) == [left]
    assert not left.exists() and mine.exists()


# ---- deliveries -------------------------------------------------------------------------------------


@pytest.fixture
def toy(tmp_path) -> Path:
    """A served warehouse with one dsa_ table, a ledger with a rejection naming a fødselsnummer, and
    a dbt manifest without grains."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema marts")
    con.execute("create table marts.dsa_toy as select 2025 as year, i as k, i * 10 as n from range(20) t(i)")
    con.close()
    (tmp_path / "lake" / "_ledger").mkdir(parents=True)
    rows = [
        {
            "file_id": "b" * 64,
            "size": 1,
            "path": "raa/b.xml",
            "mtime_ns": 1,
            "status": "rejected",
            "reason": f"bad {FNR}",
        },
        {
            "file_id": "a" * 64,
            "size": 1,
            "path": "raa/a.xml",
            "mtime_ns": 1,
            "status": "loaded",
            "module": "raa",
        },
    ]
    pq.write_table(
        pa.Table.from_pylist(rows, schema=LEDGER_SCHEMA), tmp_path / "lake" / "_ledger" / "part-0.parquet"
    )
    (tmp_path / "manifest.json").write_text(json.dumps({"metadata": {"project_name": "p"}, "nodes": {}}))
    return tmp_path


DELIVER = """
import sys, time
from pathlib import Path
from deliver import make_delivery
d = Path(sys.argv[1])
while time.time() < float(sys.argv[2]):  # start together
    time.sleep(0.005)
result = make_delivery("dsa", year=2025, warehouse=Path(sys.argv[4]), lake=d / "lake",
                       deliveries=d / "deliveries", dbt_manifest=d / "manifest.json", cut=sys.argv[3])
print(result.folder, result.new)
"""


def _deliveries_at_once(toy: Path, warehouses: list[Path]) -> list[tuple[str, str]]:
    """One delivery process per warehouse file, all starting at the same moment: (folder name, new)."""
    start = time.time() + 4  # after every interpreter has imported deliver
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", DELIVER, str(toy), str(start), CUT, str(warehouse)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for warehouse in warehouses
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in results]
    assert not list((toy / "deliveries" / "dsa").glob(".tmp-*"))
    return sorted((Path(folder).name, new) for folder, new in (out.split() for out, _ in results))


def _toy_rows(warehouse: Path, factor: int) -> None:
    # Rows enough that writing a delivery takes a while (the spreadsheet): the three overlap.
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create or replace table marts.dsa_toy as "
            f"select 2025 as year, i as k, i * {factor} as n from range(30000) t(i)"
        )


def test_identical_deliveries_at_once_give_one_folder(toy):
    _toy_rows(toy / "warehouse.duckdb", 10)
    results = _deliveries_at_once(toy, [toy / "warehouse.duckdb"] * 3)
    # one wrote the folder; the two that waited for it found the same content there
    assert results == [(CUT, "False"), (CUT, "False"), (CUT, "True")]
    assert [p.name for p in (toy / "deliveries" / "dsa").iterdir()] == [CUT]


def test_changed_deliveries_at_once_each_get_their_own_folder(toy):
    warehouses = []
    for factor in (10, 11, 12):  # three builds, each with other content
        warehouses.append(toy / f"warehouse-{factor}.duckdb")
        shutil.copy(toy / "warehouse.duckdb", warehouses[-1])
        _toy_rows(warehouses[-1], factor)
    results = _deliveries_at_once(toy, warehouses)
    folders = [name for name, _ in results]
    assert results == [(CUT, "True"), (f"{CUT}_v2", "True"), (f"{CUT}_v3", "True")]
    kind_dir = toy / "deliveries" / "dsa"
    previous, supersedes = set(), set()
    for name in folders:
        manifest = json.loads((kind_dir / name / "manifest.json").read_text())
        assert manifest["folder"] == name
        previous.add(manifest["previous_delivery"])
        supersedes.add(manifest["supersedes"])
    # one after the other, each diffed against (and superseding) the last
    assert previous == supersedes == {None, CUT, f"{CUT}_v2"}


def test_the_manifest_lists_input_files_by_name_hash_and_status_only(toy):
    from deliver import deliver

    folder = deliver(
        "dsa",
        year=2025,
        warehouse=toy / "warehouse.duckdb",
        lake=toy / "lake",
        deliveries=toy / "deliveries",
        dbt_manifest=toy / "manifest.json",
        cut=CUT,
    )
    text = (folder / "manifest.json").read_text()
    files = json.loads(text)["input_files"]
    assert files == [
        {"name": "raa/a.xml", "file_id": "a" * 64, "status": "loaded"},
        {"name": "raa/b.xml", "file_id": "b" * 64, "status": "rejected"},
    ]
    assert FNR not in text and FNR not in (folder / "report.html").read_text()


def test_delivery_leftovers_of_a_dead_process_are_removed(toy):
    from deliver import deliver

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = toy / "deliveries" / "dsa" / f".tmp-{CUT}-{dead.pid}"
    left.mkdir(parents=True)
    (left / "part.csv").write_text("x")
    deliver(
        "dsa",
        year=2025,
        warehouse=toy / "warehouse.duckdb",
        lake=toy / "lake",
        deliveries=toy / "deliveries",
        dbt_manifest=toy / "manifest.json",
        cut=CUT,
    )
    assert not left.exists()


def test_cli_deliver_for_a_year_without_data_says_so_and_writes_nothing(toy, capsys):
    code = cli_main(["deliver", "dsa", "--year", "1999", "--data-dir", str(toy)])
    err = capsys.readouterr().err
    assert code == 1
    assert "no dsa data for 1999" in err and "nothing written" in err and "2025" in err
    assert not (toy / "deliveries" / "dsa").exists() or not [
        p for p in (toy / "deliveries" / "dsa").iterdir() if not p.name.startswith(".")
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["generate", "--out", "{tmp}/inbox", "--scale", "-1"],
        ["generate", "--out", "{tmp}/inbox", "--scale", "0"],
        ["generate", "--out", "{tmp}/inbox", "--scale", "nan"],
        ["generate", "--out", "{tmp}/inbox", "--scale", "much"],
        ["generate", "--out", "{tmp}/inbox", "--year", "20255"],
        ["generate", "--out", "{tmp}/inbox", "--year", "-3"],
        ["generate", "--out", "{tmp}/inbox", "--seed", "1.5"],
        ["generate", "--out", "{tmp}/inbox", "--seed", "-1"],
        ["generate", "--out", "{tmp}/inbox", "--workers", "0"],
        ["generate", "--out", "{tmp}/inbox", "--fault-share", "2"],
        ["generate", "--out", "{tmp}/afile"],
        ["generate", "--out", "{tmp}/afile/inbox"],
        ["generate", "--out", ""],
        ["run", "--inbox", "{tmp}/missing"],
        ["run", "--data-dir", "{tmp}/afile"],
        ["deliver", "dsa", "--year", "1850"],
        ["deliver", "rhf", "--year", "2025", "--month", "13"],
        ["ui", "--port", "70000"],
    ],
)
def test_cli_bad_arguments_are_usage_errors_not_tracebacks(argv, tmp_path):
    (tmp_path / "afile").write_text("x")
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", *args], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "error: argument" in out.stderr
    assert not (tmp_path / "inbox").exists()


# ---- the run: failure message, waiting, a dead run ---------------------------------------------------


def _fail_deep() -> None:
    raise ValueError("cannot read raa/broken.xml: truncated")


def test_a_failed_step_prints_the_cause_and_where(tmp_path):
    import dagster as dg

    from orchestration.run import Progress

    @dg.asset
    def broken() -> None:
        _fail_deep()

    out = io.StringIO()
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([broken], instance=instance, raise_on_error=False)
        progress = Progress(out)
        for entry in instance.all_logs(result.run_id):
            progress(entry)
    text = out.getvalue()
    assert "✗ broken failed" in text
    assert "ValueError: cannot read raa/broken.xml: truncated" in text
    assert f"at tests/reliability/{Path(__file__).name}:" in text
    assert "Error occurred while executing op" not in text


def _home(tmp_path: Path):
    import dagster as dg

    from orchestration.instance import dagster_home

    return dg.DagsterInstance.from_config(str(dagster_home(Paths.from_env(tmp_path / "data"))))


def _fake_run(instance, tags: dict, run_id: str | None = None):
    import dagster as dg

    run = instance.add_run(
        dg.DagsterRun(
            job_name="__ASSET_JOB",
            run_id=run_id or str(uuid.uuid4()),
            status=dg.DagsterRunStatus.STARTED,
            tags=tags,
        )
    )
    return run


def test_a_dead_run_is_failed_and_its_pool_slot_freed_at_the_next_start(tmp_path):
    import dagster as dg

    from orchestration.recovery import HOST_TAG, PID_START_TAG, PID_TAG, recover

    paths = Paths.from_env(tmp_path / "data")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    tags = {PID_TAG: str(dead.pid), PID_START_TAG: "1", HOST_TAG: os.uname().nodename}
    with _home(tmp_path) as instance:
        instance.event_log_storage.set_concurrency_slots("warehouse", 1)
        run = _fake_run(instance, tags)
        assert instance.event_log_storage.claim_concurrency_slot(
            "warehouse", run.run_id, "dbt_warehouse"
        ).is_claimed
        paths.build_warehouse.parent.mkdir(parents=True)
        paths.build_warehouse.write_bytes(b"half written")
        marker = paths.build_warehouse.parent / ".dbt-writing.json"
        marker.write_text(json.dumps({"run_id": run.run_id, **tags}))
        recovered = recover(instance, paths)
        assert recovered.runs == [run.run_id]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert not instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots
        assert not paths.build_warehouse.exists() and not marker.exists()
        assert any("died" in line for line in recovered.lines)


def test_a_run_waiting_for_a_live_run_says_whom_it_waits_for(tmp_path):
    import dagster as dg

    from orchestration.recovery import describe_holders, run_tags
    from orchestration.run import Progress

    @dg.asset(pool="warehouse")
    def pooled() -> None:
        pass

    out = io.StringIO()
    with _home(tmp_path) as instance:
        holder = _fake_run(instance, run_tags())  # this live process
        instance.event_log_storage.set_concurrency_slots("warehouse", 1)
        assert instance.event_log_storage.claim_concurrency_slot(
            "warehouse", holder.run_id, "dbt_warehouse"
        ).is_claimed
        run_id = str(uuid.uuid4())
        progress = Progress(out, waiting_for=lambda pool: describe_holders(instance, pool, run_id))
        instance.add_event_listener(run_id, progress)

        def release() -> None:
            deadline = time.time() + 60
            while "waits for pool" not in out.getvalue() and time.time() < deadline:
                time.sleep(0.2)
            instance.event_log_storage.free_concurrency_slots_for_run(holder.run_id)

        releaser = threading.Thread(target=release)
        releaser.start()
        job = dg.Definitions(assets=[pooled]).resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(instance=instance, run_id=run_id)
        releaser.join()
    assert result.success
    text = out.getvalue()
    assert "pooled waits for pool 'warehouse'" in text
    assert f"run {holder.run_id[:8]} step dbt_warehouse (pid {os.getpid()}, live)" in text


def test_the_watchdog_kills_the_run_processes_when_the_run_dies(tmp_path):
    """What `stralebruk run` starts beside itself: its children (marked by the run token) die with it."""
    token = str(uuid.uuid4())
    script = textwrap.dedent(
        f"""
        import os, subprocess, sys, time
        os.environ["STRALEBRUK_RUN_TOKEN"] = "{token}"
        from orchestration.lifetime import start_watchdog
        start_watchdog("{token}")
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
        print(child.pid, flush=True)
        time.sleep(300)
        """
    )
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        child = int(run.stdout.readline())
        time.sleep(0.5)  # the watchdog is up
        run.kill()
        run.wait()
        deadline = time.time() + 10
        while os.path.exists(f"/proc/{child}") and time.time() < deadline:
            time.sleep(0.1)
        from orchestration.lifetime import alive

        assert not alive(child)
    finally:
        run.kill()

"""The whole graph on a tiny generated inbox: every step succeeds, every check passes, the served
warehouse answers for every mart, the deliveries are written."""

import json
import re

import dagster as dg
import duckdb
import pytest

from orchestration.instance import dagster_home
from tests.contract import DELIVERY_ASSETS, DELIVERY_MODELS, MARTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def instance(pipeline):
    with dg.DagsterInstance.from_config(str(dagster_home(pipeline.paths))) as instance:
        yield instance


def test_the_run_succeeds_with_a_readable_summary(pipeline):
    assert pipeline.exit_code == 0, pipeline.output[-4000:]
    out = pipeline.output
    assert re.search(r"▶ extract\b", out) and "✓ dbt_warehouse" in out
    assert "Done in" in out and "Checks:" in out and " 0 failed" in out
    assert str(pipeline.paths.served_warehouse) in out
    assert "stralebruk ui" in out


def test_every_asset_is_materialized_and_every_check_passes(defs, pipeline, instance):
    graph = defs.resolve_asset_graph()
    for key in graph.materializable_asset_keys:
        assert instance.get_latest_materialization_event(key) is not None, key.to_user_string()
    checks = graph.asset_check_keys
    assert len(checks) > 4
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(checks))
    for check in checks:
        assert check in latest, f"{check.to_user_string()} never ran"
        evaluation = latest[check].event.dagster_event.event_specific_data
        assert evaluation.passed, f"{check.to_user_string()}: {evaluation.metadata}"


def test_the_served_warehouse_answers_for_every_contract_name(pipeline):
    with duckdb.connect(str(pipeline.paths.served_warehouse), read_only=True) as con:
        counts = {
            name: con.execute(f"select count(*) from marts.{name}").fetchall()[0][0]
            for name in (*MARTS, *DELIVERY_MODELS)
        }
    assert counts["fct_imaging_examination"] > 0 and counts["fct_rt_attendance"] > 0, counts


def test_the_ledger_accounts_for_every_inbox_file(pipeline):
    from extract.inbox import inbox_files
    from orchestration.checks import ledger_statuses

    statuses = ledger_statuses(pipeline.paths.lake)
    assert sum(statuses.values()) == len(inbox_files(pipeline.paths.inbox))
    assert statuses.get("loaded", 0) > 0 and statuses.get("rejected", 0) > 0


def test_the_deliveries_are_written(pipeline, instance):
    for asset in DELIVERY_ASSETS:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        folder = event.asset_materialization.metadata["path"].value
        manifest = json.loads(
            (
                pipeline.paths.deliveries / asset.split("_")[0] / folder.split("/")[-1] / "manifest.json"
            ).read_text()
        )
        assert manifest["tables"], asset


def test_a_run_with_nothing_new_builds_and_delivers_nothing(pipeline, tmp_path, capsys):
    """A second run over the same inbox ends at once: no build, no publish, no new delivery version;
    one new inbox file makes it run again."""
    import shutil

    from orchestration.run import run_pipeline, up_to_date
    from orchestration.settings import Paths

    paths = Paths.from_env(tmp_path / "data")
    shutil.copytree(pipeline.paths.data_dir, paths.data_dir, symlinks=True)
    deliveries = sorted(p.relative_to(paths.deliveries) for p in paths.deliveries.glob("*/*"))
    served_at = paths.served_warehouse.stat().st_mtime_ns

    assert run_pipeline(data_dir=paths.data_dir) == 0
    assert "Nothing new" in capsys.readouterr().out
    assert paths.served_warehouse.stat().st_mtime_ns == served_at
    assert sorted(p.relative_to(paths.deliveries) for p in paths.deliveries.glob("*/*")) == deliveries

    upload = next(p for p in sorted(paths.inbox.rglob("raa_*.xml")))
    shutil.copy(upload, paths.inbox / "resent_copy.xml")  # a duplicate still has to be recorded
    assert not up_to_date(paths)


def test_a_run_whose_deliveries_are_unchanged_is_followed_by_a_no_op(pipeline, tmp_path, capsys):
    """`--full-refresh` rebuilds from the same lake and publishes another served file with the same
    content: the deliveries find their content unchanged and write no folder, yet record that they
    were checked against the new file, so the next run has nothing to do."""
    import shutil

    from deliver import warehouse_stamp
    from orchestration.run import run_pipeline, up_to_date
    from orchestration.settings import Paths

    paths = Paths.from_env(tmp_path / "data")
    shutil.copytree(pipeline.paths.data_dir, paths.data_dir, symlinks=True)
    deliveries = sorted(p.relative_to(paths.deliveries) for p in paths.deliveries.glob("*/*"))
    served_at = paths.served_warehouse.stat().st_mtime_ns
    assert up_to_date(paths)

    assert run_pipeline(data_dir=paths.data_dir, full_refresh=True) == 0
    out = capsys.readouterr().out
    assert paths.served_warehouse.stat().st_mtime_ns != served_at  # published again
    for kind in ("dsa", "rhf"):
        assert re.search(rf"{kind} delivery for \d{{4}} unchanged: the latest is ", out), out[-4000:]
        record = json.loads((paths.deliveries / f".checked-{kind}.json").read_text())
        assert record["new"] is False and record["warehouse"] == warehouse_stamp(paths.served_warehouse)
    assert sorted(p.relative_to(paths.deliveries) for p in paths.deliveries.glob("*/*")) == deliveries

    assert up_to_date(paths)
    served_at = paths.served_warehouse.stat().st_mtime_ns
    assert run_pipeline(data_dir=paths.data_dir) == 0
    assert "Nothing new" in capsys.readouterr().out
    assert paths.served_warehouse.stat().st_mtime_ns == served_at


def test_a_run_killed_before_its_deliveries_were_checked_is_not_up_to_date(pipeline, tmp_path):
    """What a run killed between publishing and delivering leaves: a served file newer than the
    deliveries' check records; killed after the DSA delivery, before the RHF one: one record stale."""
    import os
    import shutil

    from deliver import warehouse_stamp
    from orchestration.run import up_to_date
    from orchestration.settings import Paths

    paths = Paths.from_env(tmp_path / "data")
    shutil.copytree(pipeline.paths.data_dir, paths.data_dir, symlinks=True)
    assert up_to_date(paths)
    published = paths.data_dir / ".publishing"
    shutil.copy(paths.served_warehouse, published)  # a publish: the same content, another file
    os.replace(published, paths.served_warehouse)
    assert not up_to_date(paths)

    def checked(kind: str) -> None:
        record = paths.deliveries / f".checked-{kind}.json"
        data = json.loads(record.read_text())
        record.write_text(json.dumps({**data, "warehouse": warehouse_stamp(paths.served_warehouse)}))

    checked("dsa")
    assert not up_to_date(paths)
    checked("rhf")
    assert up_to_date(paths)
    (paths.deliveries / ".checked-rhf.json").unlink()
    assert not up_to_date(paths)

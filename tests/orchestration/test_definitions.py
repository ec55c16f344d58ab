"""The definitions load, `dg` accepts them, and the graph is wired as the contract says."""

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime

import dagster as dg
import pyarrow.parquet as pq
import pytest

from extract import lake as lk
from extract.lake import LEDGER_SCHEMA
from extract.model.messages import MODULES, lake_tables
from orchestration.resources import DataDir
from orchestration.settings import PROJECT_ROOT, Paths
from tests.contract import DELIVERY_ASSETS, DELIVERY_MODELS, MARTS


def test_dg_check_defs_passes(dbt_manifest):
    dg_cli = f"{sys.executable.rsplit('/', 1)[0]}/dg"
    done = subprocess.run([dg_cli, "check", "defs"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_every_lake_table_is_an_asset_and_every_dependency_resolves(defs):
    graph = defs.resolve_asset_graph()
    for module in MODULES:
        for table in lake_tables(module):
            assert graph.get(dg.AssetKey([f"npr_{module}", table])).is_materializable
    for key in graph.get_all_asset_keys():
        for parent in graph.get(key).parent_keys:
            # A dbt source that did not match an extraction asset would be a stub here.
            assert graph.get(parent).is_materializable, f"{key.to_user_string()} <- {parent.to_user_string()}"


def test_dbt_sources_are_the_lake_assets(defs, dbt_manifest):
    manifest = json.loads(dbt_manifest.read_text())
    graph = defs.resolve_asset_graph()
    sources = [(s["source_name"], s["name"]) for s in manifest["sources"].values()]
    assert {name for name, _ in sources} >= {f"npr_{m}" for m in MODULES} | {"lake"}
    for source, table in sources:
        assert graph.get(dg.AssetKey([source, table])).is_materializable


def test_contract_names_are_assets_grouped_by_model_folder(defs):
    graph = defs.resolve_asset_graph()
    # dagster-dbt's default keys: [schema, model], the name analysts query in the served warehouse.
    for name in MARTS:
        assert graph.get(dg.AssetKey(["marts", name])).group_name == "marts", name
    for name in DELIVERY_MODELS:
        assert graph.get(dg.AssetKey(["marts", name])).group_name == "deliveries", name
    for name in DELIVERY_ASSETS:
        assert dg.AssetKey("served_warehouse") in graph.get(dg.AssetKey(name)).parent_keys


def test_everything_touching_the_build_file_shares_the_warehouse_pool(defs):
    pools = {
        key.to_user_string(): defs.resolve_assets_def(key).op.pool
        for key in defs.resolve_asset_graph().get_all_asset_keys()
    }
    for name in (*[f"marts/{m}" for m in MARTS + DELIVERY_MODELS], "served_warehouse"):
        assert pools[name] == "warehouse", name
    assert pools["npr_str/message"] == "lake"


def test_dbt_tests_become_asset_checks(defs, dbt_manifest):
    from orchestration.defs.transform.assets import translator

    manifest = json.loads(dbt_manifest.read_text())
    expected = {
        dg.AssetCheckKey(translator.get_asset_key(manifest["nodes"][t["attached_node"]]), t["name"])
        for t in manifest["nodes"].values()
        if t["resource_type"] == "test" and (t.get("attached_node") or "").startswith("model.")
    }
    if not expected:
        pytest.skip("the dbt project has no tests on models yet")
    assert expected <= set(defs.resolve_asset_graph().asset_check_keys)


@pytest.mark.parametrize(
    ("schedule", "at", "expected"),
    [
        ("monthly_rhf_delivery", datetime(2026, 1, 3, 6), {"year": 2025, "month": 12}),
        ("monthly_rhf_delivery", datetime(2026, 7, 3, 6), {"year": 2026, "month": 6}),
        ("yearly_dsa_delivery", datetime(2026, 5, 1, 6), {"year": 2025}),
    ],
)
def test_delivery_schedules_ask_for_the_period_just_ended(defs, schedule, at, expected):
    schedule_def = defs.resolve_schedule_def(schedule)
    request = schedule_def(dg.build_schedule_context(scheduled_execution_time=at))
    asset = f"{schedule.split('_')[1]}_delivery"
    assert request.run_config == {"ops": {asset: {"config": expected}}}
    job = defs.resolve_job_def(schedule_def.job_name)
    assert dg.validate_run_config(job, request.run_config)


def test_nightly_refresh_only_when_something_is_stale(defs, tmp_path, generated_inbox):
    schedule_def = defs.resolve_schedule_def("nightly_refresh")
    paths = Paths.from_env(tmp_path)

    def evaluate():
        context = dg.build_schedule_context(resources={"data": DataDir(data_dir=str(tmp_path))})
        return schedule_def(context)

    assert "not published" in evaluate().tags["stralebruk/stale"]
    ledger = lk.ledger_dir(paths.lake)
    ledger.mkdir(parents=True)
    pq.write_table(LEDGER_SCHEMA.empty_table(), ledger / "b1.parquet")
    paths.served_warehouse.write_bytes(b"")
    assert isinstance(evaluate(), dg.SkipReason)

    later = paths.served_warehouse.stat().st_mtime + 10
    pq.write_table(LEDGER_SCHEMA.empty_table(), ledger / "b2.parquet")
    os.utime(ledger / "b2.parquet", (later, later))
    assert "_ledger" in evaluate().tags["stralebruk/stale"]
    os.utime(paths.served_warehouse, (later + 1, later + 1))
    assert isinstance(evaluate(), dg.SkipReason)

    paths.inbox.mkdir()
    shutil.copy(next(generated_inbox.rglob("*.xml")), paths.inbox / "new.xml")
    assert evaluate().tags["stralebruk/stale"] == "1 inbox files not ingested"

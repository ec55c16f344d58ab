"""dbt as assets: every seed and model of the one dbt project; dbt tests become asset checks."""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration import incremental
from orchestration.project import dbt_project
from orchestration.recovery import mark_build_done, mark_build_started
from orchestration.resources import DataDir

WAREHOUSE_POOL = "warehouse"  # everything that opens the DuckDB build file; limit 1 (dagster.yaml)


class FolderGroups(DagsterDbtTranslator):
    """Groups follow the model folders (staging, intermediate, marts, deliveries); seeds are
    `reference`. Sources keep dagster-dbt's default key [source, table], which is exactly the key
    the extraction assets emit, so the lake connects to staging with no special case."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        if dbt_resource_props["resource_type"] in ("model", "snapshot"):
            return dbt_resource_props["fqn"][1]
        return super().get_group_name(dbt_resource_props)


class BuildConfig(dg.Config):
    """`full_refresh`: rebuild every model from the whole lake (`stralebruk run --full-refresh`).
    Without it the build is incremental when that is exact (orchestration/incremental.py)."""

    full_refresh: bool = False


translator = FolderGroups(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    pool=WAREHOUSE_POOL,
    name="dbt_warehouse",
)
def dbt_warehouse(context: dg.AssetExecutionContext, dbt: DbtCliResource, data: DataDir, config: BuildConfig):
    """`dbt build` of the selected models into the build file (only dbt writes it): incremental
    when only new lake parts arrived, else a full refresh (the reasons are logged)."""
    paths = data.paths()
    paths.build_warehouse.parent.mkdir(parents=True, exist_ok=True)
    # dbt runs as a subprocess of this step and reads its paths from the environment.
    os.environ.update(paths.dbt_env())
    # No fetch_row_counts(): it would open the build file while dbt holds its write lock; the
    # serving asset reports rows per mart from the published copy instead.
    # dbt's artefacts (manifest, run results, compiled SQL, log) beside the build file, one set per
    # data dir that the next build overwrites (and partially re-parses), not a new folder per run.
    target = paths.build_warehouse.parent / "dbt_target"
    # While dbt writes, a marker names this run: if the process dies meanwhile, the next
    # `stralebruk run` discards the half-written build file (orchestration/recovery.py).
    args, reasons = incremental.dbt_build_args(paths, config.full_refresh)
    mode = "incremental: new lake parts only, no unit tests"
    context.log.info("full refresh: " + "; ".join(reasons) if reasons else mode)
    parts = incremental.lake_parts(paths.lake)
    incremental.forget_build(paths)
    mark_build_started(paths, context.run.run_id)
    try:
        yield from dbt.cli(args, context=context, target_path=target).stream()
        incremental.record_build(paths, parts)
    finally:
        mark_build_done(paths)

"""When things run: an inbox sensor, a nightly rebuild, the monthly RHF and yearly DSA deliveries."""

import hashlib
import json
from datetime import datetime
from pathlib import Path

import dagster as dg

from orchestration.checks import stale_reasons
from orchestration.defs.extract.assets import extract_lake
from orchestration.defs.serve.assets import SERVED_WAREHOUSE
from orchestration.resources import DataDir

TIMEZONE = "Europe/Oslo"

lake_selection = dg.AssetSelection.assets(extract_lake)  # every lake table, the ledger and the findings

ingest_job = dg.define_asset_job(
    "ingest_job", selection=lake_selection, description="New inbox files into the lake (and the ledger)."
)
refresh_job = dg.define_asset_job(
    "refresh_job",
    selection=dg.AssetSelection.assets(SERVED_WAREHOUSE).upstream().required_multi_asset_neighbors(),
    description="Ingest what is new, dbt build the warehouse, publish the served copy.",
)
dsa_delivery_job = dg.define_asset_job("dsa_delivery_job", selection=dg.AssetSelection.assets("dsa_delivery"))
rhf_delivery_job = dg.define_asset_job("rhf_delivery_job", selection=dg.AssetSelection.assets("rhf_delivery"))


def inbox_pending(data: DataDir) -> dict[Path, str]:
    """The inbox files not in the ledger yet, with their SHA-256."""
    from extract.inbox import pending_files

    return pending_files(data.inbox_dir(), data.paths().lake)


@dg.sensor(job=ingest_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def inbox_sensor(context: dg.SensorEvaluationContext, data: DataDir):
    """One ingest run per batch of new inbox files. The cursor holds the hashes of files already
    asked for and still pending, so the same bytes (under any name) ask for nothing more while they
    wait; the run key is derived from the new hashes, so Dagster also refuses a second run for the
    same batch later."""
    pending = set(inbox_pending(data).values())
    requested = set(json.loads(context.cursor)) if context.cursor else set()
    new = sorted(pending - requested)
    # Forget hashes that left the inbox's pending set (ingested): the cursor stays small.
    context.update_cursor(json.dumps(sorted(pending)))
    if not new:
        return dg.SkipReason(f"no new files ({len(pending)} pending, already requested)")
    run_key = hashlib.sha256("\n".join(new).encode()).hexdigest()[:32]
    return dg.RunRequest(run_key=run_key, tags={"stralebruk/new_files": str(len(new))})


@dg.schedule(
    job=refresh_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def nightly_refresh(context: dg.ScheduleEvaluationContext, data: DataDir):
    """Every night at 02:00, if anything is stale: ingest what the sensor has not (it may be off, or
    a run failed), rebuild and publish the warehouse."""
    waiting = inbox_pending(data)
    reasons = ([f"{len(waiting)} inbox files not ingested"] if waiting else []) + stale_reasons(data.paths())
    if not reasons:
        return dg.SkipReason("nothing is stale: every inbox file is ingested and the warehouse published")
    return dg.RunRequest(tags={"stralebruk/stale": "; ".join(reasons)[:200]})


def _previous_month(at: datetime) -> tuple[int, int]:
    return (at.year, at.month - 1) if at.month > 1 else (at.year - 1, 12)


def _delivery_config(asset: str, year: int, month: int | None = None) -> dict:
    config = {"year": year} if month is None else {"year": year, "month": month}
    return {"ops": {asset: {"config": config}}}


@dg.schedule(
    job=rhf_delivery_job,
    cron_schedule="0 6 3 * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def monthly_rhf_delivery(context: dg.ScheduleEvaluationContext):
    """On the 3rd of every month at 06:00 (after the nightly rebuild): the RHF delivery for the
    month that just ended."""
    year, month = _previous_month(context.scheduled_execution_time)
    return dg.RunRequest(
        run_key=f"rhf-{year}-{month:02d}", run_config=_delivery_config("rhf_delivery", year, month)
    )


@dg.schedule(
    job=dsa_delivery_job,
    cron_schedule="0 6 1 5 *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def yearly_dsa_delivery(context: dg.ScheduleEvaluationContext):
    """On 1 May: the DSA delivery for the previous year, once radiotherapy for it is complete (the
    series that run over New Year are reported by April)."""
    year = context.scheduled_execution_time.year - 1
    return dg.RunRequest(run_key=f"dsa-{year}", run_config=_delivery_config("dsa_delivery", year))

"""The Dagster instance of a data directory: `<data dir>/dagster/`, shared by `stralebruk run` and
`stralebruk ui`, so the UI shows the runs the command line made."""

from __future__ import annotations

from pathlib import Path

from orchestration.settings import Paths

DAGSTER_YAML = """\
# Written by stralebruk (orchestration/instance.py); delete it to get the default back.
concurrency:
  pools:
    # Pools "warehouse" (everything that opens the DuckDB build file) and "lake" (ingest from the
    # inbox) run one step at a time across all runs.
    default_limit: 1
    granularity: op
telemetry:
  enabled: false
"""


def dagster_home(paths: Paths) -> Path:
    home = paths.data_dir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    return home

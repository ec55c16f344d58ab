"""The one dbt project Dagster knows about (kept alone so prepare-and-package can import it)."""

import os
import shutil
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# dagster-dbt's preparer calls plain `dbt`: make it this environment's when the venv is not activated.
if shutil.which("dbt") is None:
    os.environ["PATH"] = f"{Path(DBT_EXECUTABLE).parent}{os.pathsep}{os.environ.get('PATH', '')}"
# Under `dagster dev` (and `dg`) the manifest is re-parsed so model edits show up; otherwise
# `make setup` (`dbt parse`) has prepared target/manifest.json already.
dbt_project.prepare_if_dev()

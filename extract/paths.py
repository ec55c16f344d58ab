"""Where the repository's own folders are: the one place that knows (the data directory's layout is
`orchestration.settings.Paths` and, inside it, `extract.lake`)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The dbt project: seeds (reference data the extractor and generator read too), generated sources.
DBT_PROJECT_DIR = Path(os.environ.get("STRALEBRUK_DBT_PROJECT_DIR") or PROJECT_ROOT / "dbt_project")

"""Where things live: the data directory's layout (`Paths`), dbt's project, manifest and executable.
One place for every path the orchestration layer hands down, all overridable from the environment."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from extract.paths import DBT_PROJECT_DIR, PROJECT_ROOT

__all__ = ["DBT_EXECUTABLE", "DBT_MANIFEST", "DBT_PROJECT_DIR", "PROJECT_ROOT", "Paths"]
# dbt from the same environment as this interpreter, whether or not the venv is activated.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
# What `dbt parse` (make prepare) writes and dagster-dbt reads; deliveries take each table's grain
# and documentation from it.
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


@dataclass(frozen=True)
class Paths:
    data_dir: Path

    @classmethod
    def from_env(cls, data_dir: str | os.PathLike | None = None) -> Paths:
        chosen = data_dir or os.environ.get("STRALEBRUK_DATA_DIR") or PROJECT_ROOT / "data"
        return cls(Path(chosen).resolve())

    @property
    def inbox(self) -> Path:
        return Path(os.environ.get("STRALEBRUK_INBOX") or self.data_dir / "inbox")

    @property
    def lake(self) -> Path:
        return self.data_dir / "lake"

    @property
    def build_warehouse(self) -> Path:
        """The file only dbt writes."""
        return self.data_dir / "build" / "warehouse.duckdb"

    @property
    def served_warehouse(self) -> Path:
        """The copy readers open, published by atomic rename."""
        return self.data_dir / "warehouse.duckdb"

    @property
    def deliveries(self) -> Path:
        return self.data_dir / "deliveries"

    def dbt_env(self) -> dict[str, str]:
        """Environment dbt reads (profiles.yml and sources use env_var)."""
        return {
            "STRALEBRUK_LAKE_DIR": str(self.lake),
            "STRALEBRUK_BUILD_DB": str(self.build_warehouse),
        }

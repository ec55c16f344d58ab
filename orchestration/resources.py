"""The resources every asset shares: where the data lives, and the dbt CLI."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.settings import Paths


class DataDir(dg.ConfigurableResource):
    """The data directory (and optionally a separate inbox); unset means the environment decides
    (`STRALEBRUK_DATA_DIR`, `STRALEBRUK_INBOX`), read at run time, not at import."""

    data_dir: str | None = None
    inbox: str | None = None

    def paths(self) -> Paths:
        return Paths.from_env(self.data_dir)

    def inbox_dir(self) -> Path:
        return Path(self.inbox).resolve() if self.inbox else self.paths().inbox

"""The project's one copy of national reference data: the dbt seeds.

Code lists, the organisation hierarchy and municipality catchments live in
`dbt_project/seeds/reference/` (their sources are noted in `_reference__seeds.yml`). dbt loads
them into the warehouse; the extractor (code checks) and the generator (real organisations and
codes) read the same files from here, so a new edition is dropped in once.
"""

from __future__ import annotations

import csv

from extract.paths import DBT_PROJECT_DIR

SEEDS_DIR = DBT_PROJECT_DIR / "seeds" / "reference"


def read_seed(name: str, delimiter: str = ";") -> list[dict[str, str]]:
    with (SEEDS_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))

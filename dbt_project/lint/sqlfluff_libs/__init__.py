"""What the dbt context gives the models, for sqlfluff's jinja templater (no database, no dbt).

sqlfluff's `apply_dbt_builtins` stubs ref, source, config, this and return; this library adds the
rest the project uses: the cross-database macros (dbt.*), api.Column.translate_type, exceptions,
and var() reading the real `vars:` of dbt_project.yml (delivery_param needs its defaults). The SQL
they render is what dbt-duckdb renders, so the linted SQL is close to the compiled one.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import yaml

_PROJECT_YML = Path(__file__).resolve().parents[2] / "dbt_project.yml"
_VARS = (yaml.safe_load(_PROJECT_YML.read_text()) or {}).get("vars", {})


def var(name, default=None):
    return _VARS.get(name, default)


def _raise(message):
    raise RuntimeError(message)


dbt = SimpleNamespace(
    safe_cast=lambda field, type_: f"cast({field} as {type_})",
    length=lambda expression: f"length({expression})",
    right=lambda string, length: f"right({string}, {length})",
    concat=lambda parts: " || ".join(parts),
    date_spine=lambda datepart, start_date, end_date: (
        f"select unnest(generate_series(cast({start_date} as date), "
        f"cast({end_date} as date) - interval 1 day, interval 1 {datepart})) as date_{datepart}"
    ),
)
api = SimpleNamespace(Column=SimpleNamespace(translate_type=lambda type_: type_))
exceptions = SimpleNamespace(raise_compiler_error=_raise)
target = SimpleNamespace(schema="main", name="lint", type="duckdb")

"""The dbt sources YAML, the staging models (SQL and YAML) and the npr_modules macro are generated
from the message model: the committed files must match, staging reads only sources, and no model
keeps a module list of its own."""

from __future__ import annotations

import re

import jinja2
import pytest

from extract.model.dbt_sources import (
    DBT_PROJECT_DIR,
    STAGING,
    modules_macro,
    modules_macro_path,
    source_path,
    source_yaml,
    staged_tables,
    staging_model_name,
    staging_path,
    staging_sql,
    staging_yaml,
    staging_yaml_path,
)
from extract.model.messages import MODULES, lake_tables, table_columns


@pytest.mark.parametrize("module", MODULES)
def test_committed_sources_equal_generated(module):
    path = source_path(module)
    assert path.exists(), f"{path} missing: run `python -m extract.model.dbt_sources`"
    assert path.read_text(encoding="utf-8") == source_yaml(module), (
        f"{path} is stale: run `python -m extract.model.dbt_sources`"
    )


@pytest.mark.parametrize("module", MODULES)
def test_sources_list_every_lake_table_and_column(module):
    text = source_yaml(module)
    tables = re.findall(r"^      - name: (\w+)$", text, flags=re.M)
    assert tables == lake_tables(module)
    for table in tables:
        block = text.split(f"      - name: {table}\n", 1)[1].split("\n      - name: ", 1)[0]
        columns = re.findall(r"^          - name: (\w+)$", block, flags=re.M)
        assert columns == [c for c, _ in table_columns(module, table)]
        # every column documented, and no fødselsnummer column ever
        assert block.count("description:") == len(columns) + 1
        assert "fid" not in columns


def test_external_location_globs_the_lake_dir():
    text = source_yaml("rad")
    assert "env_var('STRALEBRUK_LAKE_DIR', '../data/lake')" in text
    # filename: each row's lake part, which incremental staging builds skip once read
    assert "/rad/{name}/*.parquet', union_by_name=true, filename=true)" in text


def test_staging_appends_only_new_lake_parts():
    sql = staging_sql("rad", "dose_indicator")
    assert "parse_filename(filename) as lake_part" in sql
    assert sql.rstrip().endswith("{{ new_lake_parts() }}")


def test_committed_modules_macro_equals_generated():
    path = modules_macro_path()
    assert path.read_text(encoding="utf-8") == modules_macro(), (
        f"{path} is stale: run `python -m extract.model.dbt_sources`"
    )


@pytest.mark.parametrize("table", [None, "institution", "patient", "episode", "dose_event", "person_ident"])
def test_npr_modules_lists_the_modules_whose_lake_has_the_table(table):
    returned: list = []
    env = jinja2.Environment(extensions=["jinja2.ext.do"])
    env.globals["return"] = returned.append  # dbt's return() ends the macro with its value
    macro = env.from_string(modules_macro()).module.npr_modules
    macro() if table is None else macro(table)
    assert returned == [[m for m in MODULES if table is None or table in lake_tables(m)]]
    assert returned[0]  # every table asked for is in some module


def test_no_model_or_macro_keeps_its_own_module_list():
    literal = re.compile(r"\[\s*'(?:" + "|".join(MODULES) + r")'\s*,")
    offenders = [
        str(p.relative_to(DBT_PROJECT_DIR))
        for folder in ("models", "macros")
        for p in sorted((DBT_PROJECT_DIR / folder).rglob("*.sql"))
        if p != modules_macro_path() and literal.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "use npr_modules(<lake table>) instead of a list of modules"


@pytest.mark.parametrize("module", MODULES)
def test_committed_staging_models_equal_generated(module):
    expected = {staging_path(module, t): staging_sql(module, t) for t in staged_tables(module)}
    expected[staging_yaml_path(module)] = staging_yaml(module)
    for path, text in expected.items():
        assert path.exists(), f"{path} missing: run `python -m extract.model.dbt_sources`"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run `python -m extract.model.dbt_sources`"
        )
    # no hand-made or left-over model in a generated staging folder
    committed = set((DBT_PROJECT_DIR / "models" / "staging" / module).glob("*.sql"))
    assert committed == {p for p in expected if p.suffix == ".sql"}


@pytest.mark.parametrize("module", MODULES)
def test_staging_selects_only_from_its_source(module):
    for table in staged_tables(module):
        sql = staging_sql(module, table)
        assert "ref(" not in sql and "join" not in sql and "where" not in sql
        assert sql.count("source(") == 1 and f"source('npr_{module}', '{table}')" in sql
        # every column of the staging model is in its lake table, renamed explicitly
        lake = {c for c, _ in table_columns(module, table)}
        assert {lake_column for _, lake_column, _, _ in STAGING[table].columns} <= lake


def test_every_staging_model_reads_only_sources():
    offenders = [
        str(p.relative_to(DBT_PROJECT_DIR))
        for p in sorted((DBT_PROJECT_DIR / "models" / "staging").rglob("*.sql"))
        if "ref(" in p.read_text(encoding="utf-8")
    ]
    assert offenders == [], "staging reads sources only: move the logic to models/intermediate/"


def test_staging_model_names():
    assert staging_model_name("rad", "dose_indicator") == "stg_npr_rad__dose_indicators"
    assert all(staged_tables(m) for m in MODULES)

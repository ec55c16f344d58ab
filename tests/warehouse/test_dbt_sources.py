"""The dbt sources YAML is generated from the message model: the committed files must match."""

from __future__ import annotations

import re

import pytest

from extract.model.dbt_sources import source_path, source_yaml
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
    assert "/rad/{name}/*.parquet', union_by_name=true)" in text

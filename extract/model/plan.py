"""The message model compiled for the reader: Arrow schemas of the lake tables and, per module and
version, the lookup tables the flattener runs on (tag -> element kind, attribute spellings, carried
keys, where each Arrow column comes from). Derived from `extract.model.messages` only, so the lake
and the checks across pieces can use it without importing the parser."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pyarrow as pa

from extract.model.messages import (
    ELEMENTS,
    LINEAGE_COLUMNS,
    PSEUDONYM_COLUMNS,
    VERSIONS,
    attribute_name,
    carried_columns,
    module_namespace,
    table_columns,
    walk,
)

ARROW_TYPES = {"string": pa.string(), "int": pa.int64(), "date": pa.date32(), "bool": pa.bool_()}


def arrow_schema(module: str, table: str) -> pa.Schema:
    return pa.schema([pa.field(n, ARROW_TYPES[k]) for n, k in table_columns(module, table)])


@dataclass
class TableInfo:
    key: str
    names: tuple[str, ...]  # own attributes, as spelled in the file's version
    ordinal: bool
    carry_idx: tuple[int, ...]  # positions in the own-attribute tuple of the carried attributes
    sensitive_idx: int | None
    child_ordinals: bool
    row_names: list[str]
    schema: pa.Schema
    columns: list[tuple[int, int]]  # (kind of source: -1 lineage else row index) per column
    lineage_idx: list[int]

    def key_names(self) -> list[str]:
        """The names in a record key: the carried parent keys (and ordinal), the first own attribute."""
        return self.row_names[1 : len(self.row_names) - len(self.names) + 1]


@dataclass
class Plan:
    module: str
    version: str
    melding_tag: str
    objektholder_tag: str
    transitions: dict[tuple[str | None, str], str]
    tables: dict[str, TableInfo]


@functools.cache
def plan(module: str, version: str) -> Plan:
    ns = module_namespace(module, version)
    transitions: dict[tuple[str | None, str], str] = {}
    tables: dict[str, TableInfo] = {}
    lineage = [n for n, _ in LINEAGE_COLUMNS if n != "record_no"]
    for el, ancestors in walk(module):
        parent = ancestors[-1].key if ancestors else None
        transitions[(parent, f"{{{ns}}}{el.tag}")] = el.key
        names = tuple(attribute_name(el.tag, a.name, version) for a in el.attrs)
        own: list[str] = []
        sensitive = None
        for i, a in enumerate(el.attrs):
            if a.sensitive:
                sensitive = i
                own.extend(n for n, _ in PSEUDONYM_COLUMNS)
            else:
                own.append(a.name)
        ctx = carried_columns(ancestors)
        row_names = ["record_no", *ctx, *([el.ordinal] if el.ordinal else []), *own]
        attr_names = [a.name for a in el.attrs]
        carry_idx = tuple(attr_names.index(a) for a, _ in el.carry)
        # The flattener takes carried keys as a slice of the attribute tuple.
        assert carry_idx == tuple(range(len(carry_idx))), f"{el.key}: carried attributes must come first"
        cols = table_columns(module, el.key)
        tables[el.key] = TableInfo(
            key=el.key,
            names=names,
            ordinal=el.ordinal is not None,
            carry_idx=carry_idx,
            sensitive_idx=sensitive,
            child_ordinals=any(ELEMENTS[c.element].ordinal for c in el.children_in(module)),
            row_names=row_names,
            schema=arrow_schema(module, el.key),
            columns=[(-1 if n in lineage else row_names.index(n), 0) for n, _ in cols],
            lineage_idx=[lineage.index(n) if n in lineage else -1 for n, _ in cols],
        )
    return Plan(module, version, f"{{{ns}}}Melding", f"{{{ns}}}Objektholder", transitions, tables)


def any_plan(module: str) -> Plan:
    """Tables and their columns are the same in every version (one message model): any version's plan."""
    return plan(module, VERSIONS[0])

"""The one declarative NPR message model (see messages.py)."""

from extract.model.messages import (
    ELEMENTS,
    LINEAGE_COLUMNS,
    MODULES,
    NAMESPACE_PREFIX,
    VERSIONS,
    Attr,
    Child,
    Element,
    attribute_name,
    common_namespace,
    lake_tables,
    module_namespace,
    parse_namespace,
    root,
    table_columns,
)

__all__ = [
    "ELEMENTS",
    "LINEAGE_COLUMNS",
    "MODULES",
    "NAMESPACE_PREFIX",
    "VERSIONS",
    "Attr",
    "Child",
    "Element",
    "attribute_name",
    "common_namespace",
    "lake_tables",
    "module_namespace",
    "parse_namespace",
    "root",
    "table_columns",
]

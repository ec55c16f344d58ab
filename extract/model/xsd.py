"""XSD per module and version, generated from the message model.

The generated files are committed under `extract/xsd/<version>/` (a test checks they equal what
the model generates now); `python -m extract.model.xsd` rewrites them. Each imports the official
NPR common types. `load_schema` compiles one module's schema together with the official KITH
envelope, so the same schema validates a bare `Melding` and one wrapped in `MsgHead`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from extract.model.messages import (
    BUILTIN_TYPES,
    ELEMENTS,
    ENUMERATIONS,
    MODULES,
    PATTERNS,
    ROOT,
    VERSIONS,
    Element,
    attribute_name,
    common_namespace,
    module_namespace,
    walk,
)

XSD_DIR = Path(__file__).resolve().parent.parent / "xsd"
OFFICIAL_DIR = XSD_DIR / "official"
MSGHEAD_NS = "http://www.kith.no/xmlstds/msghead/2006-05-24"
_XMLDSIG_URL = "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"


def module_schema_path(module: str, version: str) -> Path:
    return XSD_DIR / version / f"npr_{module}.xsd"


def common_schema_location(version: str) -> str:
    """Where a module schema of `version` finds the NPR common types (relative to itself)."""
    return "../official/NPR.xsd" if version == "58.0.1" else "NPR.xsd"


def common_schema_text(version: str) -> str:
    """NPR.xsd for a version; only 58.0.1 is published, others differ only in namespace."""
    official = (OFFICIAL_DIR / "NPR.xsd").read_text(encoding="utf-8")
    return official.replace(common_namespace("58.0.1"), common_namespace(version))


def _type_ref(type_name: str) -> str:
    if type_name in ENUMERATIONS or type_name in PATTERNS:
        return f"npr:{type_name}"
    return BUILTIN_TYPES[type_name]


def _simple_types() -> list[str]:
    out = []
    for name, values in ENUMERATIONS.items():
        enums = "".join(f'<enumeration value="{v}"/>' for v in values)
        out.append(
            f'\t<simpleType name="{name}"><restriction base="string">{enums}</restriction></simpleType>'
        )
    for name, pattern in PATTERNS.items():
        out.append(
            f'\t<simpleType name="{name}"><restriction base="string">'
            f"<pattern value={quoteattr(pattern)}/></restriction></simpleType>"
        )
    return out


def _complex_type(el: Element, module: str, version: str) -> str:
    lines = [f'\t<complexType name="{el.key}">']
    lines.append(f"\t\t<annotation><documentation>{escape(el.doc)}</documentation></annotation>")
    children = el.children_in(module)
    if children:
        lines.append("\t\t<sequence>")
        for child in children:
            tag = ELEMENTS[child.element].tag
            max_occurs = "unbounded" if child.max is None else str(child.max)
            lines.append(
                f'\t\t\t<element name="{tag}" type="npr:{child.element}" '
                f'minOccurs="{child.min}" maxOccurs="{max_occurs}"/>'
            )
        lines.append("\t\t</sequence>")
    for attr in el.attrs:
        name = attribute_name(el.tag, attr.name, version)
        use = "required" if attr.is_required(module) else "optional"
        fixed = f' fixed="{version}"' if el.key == ROOT and attr.name == "versjon" else ""
        lines.append(
            f'\t\t<attribute name="{name}" type="{_type_ref(attr.type)}" use="{use}"{fixed}>'
            f"<annotation><documentation>{escape(attr.doc)}</documentation></annotation>"
            f"</attribute>"
        )
    lines.append("\t</complexType>")
    return "\n".join(lines)


def schema_text(module: str, version: str) -> str:
    ns = module_namespace(module, version)
    seen: set[str] = set()
    types = []
    for el, _ in walk(module):
        if el.key not in seen:
            seen.add(el.key)
            types.append(_complex_type(el, module, version))
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f"<!-- NPR module {module}, version {version}. Generated from extract/model/messages.py"
            " by `python -m extract.model.xsd`; do not edit. -->",
            f'<schema targetNamespace="{ns}" elementFormDefault="qualified" version="{version}"'
            f' xmlns="http://www.w3.org/2001/XMLSchema" xmlns:npr="{ns}"'
            f' xmlns:nprx="{common_namespace(version)}">',
            f'\t<import schemaLocation="{common_schema_location(version)}"'
            f' namespace="{common_namespace(version)}"/>',
            f'\t<element name="{ELEMENTS[ROOT].tag}" type="npr:{ROOT}"/>',
            *_simple_types(),
            *types,
            "</schema>",
            "",
        ]
    )


def expected_files() -> dict[Path, str]:
    files = {}
    for version in VERSIONS:
        for module in MODULES:
            files[module_schema_path(module, version)] = schema_text(module, version)
        if common_schema_location(version) == "NPR.xsd":
            files[XSD_DIR / version / "NPR.xsd"] = common_schema_text(version)
    return files


def write_schemas() -> list[Path]:
    written = []
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


class _LocalResolver(etree.Resolver):
    """Serve the W3C signature schema MsgHead.xsd imports from disk; never the network."""

    def resolve(self, url, pubid, context):
        if url == _XMLDSIG_URL:
            return self.resolve_filename(str(OFFICIAL_DIR / "xmldsig-core-schema.xsd"), context)
        return None


@functools.cache
def load_schema(module: str, version: str) -> etree.XMLSchema:
    """Module schema plus the KITH envelope: validates a bare Melding and a MsgHead file."""
    driver = (
        '<schema xmlns="http://www.w3.org/2001/XMLSchema">'
        f'<import namespace="{MSGHEAD_NS}" schemaLocation="{OFFICIAL_DIR / "MsgHead.xsd"}"/>'
        f'<import namespace="{module_namespace(module, version)}"'
        f' schemaLocation="{module_schema_path(module, version)}"/>'
        "</schema>"
    )
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalResolver())
    doc = etree.fromstring(driver.encode(), parser, base_url=str(XSD_DIR / "driver.xsd"))
    return etree.XMLSchema(doc)


if __name__ == "__main__":
    for p in write_schemas():
        print(p.relative_to(XSD_DIR.parent.parent))

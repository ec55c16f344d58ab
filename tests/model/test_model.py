"""The message model is consistent, and the committed XSDs are what it generates."""

import pytest
from lxml import etree

from extract.model import messages as m
from extract.model import xsd


def test_committed_schemas_match_the_model():
    stale = [
        str(path)
        for path, text in xsd.expected_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    assert not stale, f"regenerate with `python -m extract.model.xsd`: {stale}"


@pytest.mark.parametrize("version", m.VERSIONS)
@pytest.mark.parametrize("module", m.MODULES)
def test_every_schema_compiles(module, version):
    assert isinstance(xsd.load_schema(module, version), etree.XMLSchema)


def test_version_difference_is_the_code_system_spelling():
    assert m.attribute_name("Kode", "kodeverk", "57.0.1") == "Kodeverk"
    assert m.attribute_name("Kode", "kodeverk", "58.0.1") == "kodeverk"
    text57 = xsd.schema_text("raa", "57.0.1")
    text58 = xsd.schema_text("raa", "58.0.1")
    assert 'attribute name="Kodeverk"' in text57 and 'attribute name="kodeverk"' not in text57
    assert 'attribute name="kodeverk"' in text58 and 'attribute name="Kodeverk"' not in text58


def test_children_reference_known_elements_and_tables_are_unique_per_module():
    for el in m.ELEMENTS.values():
        for child in el.children:
            assert child.element in m.ELEMENTS, (el.key, child.element)
    for module in m.MODULES:
        tables = m.lake_tables(module)
        assert len(tables) == len(set(tables))


@pytest.mark.parametrize("module", m.MODULES)
def test_lake_columns_are_unique_and_never_hold_a_fodselsnummer(module):
    for table in m.lake_tables(module):
        names = [name for name, _ in m.table_columns(module, table)]
        assert len(names) == len(set(names)), (module, table)
        assert "fid" not in names


def test_module_specific_structure():
    assert "episode" not in m.lake_tables("rad")
    assert "dose_indicator" in m.lake_tables("rad")
    assert "rt_series" in m.lake_tables("str") and "rt_series" not in m.lake_tables("raa")
    assert m.lake_tables("ide") == ["message", "contact_person", "institution", "person_ident"]
    serie = m.ELEMENTS["episode"].attr_by_name["serieID"]
    assert serie.is_required("str") and not serie.is_required("raa")


def test_namespaces_round_trip():
    for module in m.MODULES:
        for version in m.VERSIONS:
            assert m.parse_namespace(m.module_namespace(module, version)) == (version, module)
    assert m.parse_namespace("http://example.org/x") is None


def _minimal_ide(version: str, fid: str = "01010112345") -> bytes:
    ns = m.module_namespace("ide", version)
    return (
        f'<Melding xmlns="{ns}" versjon="{version}" meldingstype="B" fraDatoPeriode="2025-01-01" '
        'tilDatoPeriode="2025-04-30" uttakDato="2025-05-02" leverandor="x" navnEPJ="x" '
        'versjonEPJ="1" versjonUt="1" lopenr="1"><Kontaktperson kontPerson="Åse" meldEpost1="a@b" '
        'typeKontaktperson="1"/><Institusjon institusjonID="974749025">'
        f'<PasientIdent pid="1" fid="{fid}" typeID="1"/></Institusjon></Melding>'
    ).encode()


def test_schema_accepts_valid_and_rejects_invalid_documents():
    schema = xsd.load_schema("ide", "58.0.1")
    assert schema.validate(etree.fromstring(_minimal_ide("58.0.1")))
    assert not schema.validate(etree.fromstring(_minimal_ide("58.0.1", fid="123")))
    # versjon is fixed per schema: a 57.0.1 document fails the 58.0.1 schema
    assert not schema.validate(etree.fromstring(_minimal_ide("57.0.1")))

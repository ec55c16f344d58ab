"""The reader on small hand-built messages: every table, both envelopes, versions and encodings."""

from __future__ import annotations

import gc
import hashlib
import hmac
import weakref
from collections import defaultdict

import pyarrow as pa
import pytest
from lxml import etree

from extract import flatten, reader, sniff
from extract.model import plan
from extract.model.faults import Rejected
from extract.model.messages import (
    ELEMENTS,
    MODULES,
    VERSIONS,
    lake_tables,
    module_namespace,
    table_columns,
    walk,
)
from tests.extract.conftest import TEST_KEY
from tests.extract.xmlbuild import VALID_DNUMBER, build, fid_for


def read_bytes(tmp_path, data: bytes, validate: bool = True):
    path = tmp_path / "m.xml"
    path.write_bytes(data)
    out: dict[str, list[pa.RecordBatch]] = defaultdict(list)
    sn = sniff.sniff(data[: sniff.SNIFF_BYTES])
    res = reader.read_segment(
        reader.Segment(str(path), 0, len(data)),
        sn,
        file_id="f" * 64,
        key=TEST_KEY.encode(),
        sink=lambda t, b: out[t].append(b),
        validate=validate,
    )
    tables = {t: pa.Table.from_batches(bs).to_pylist() for t, bs in out.items()}
    return res, tables


def expected_counts(data: bytes, module: str, version: str) -> dict[str, int]:
    """Count elements with the tree API, by tag under the parent tag, independently of the reader."""
    doc = etree.fromstring(data)
    ns = {"n": module_namespace(module, version)}
    counts = {}
    for el, ancestors in walk(module):
        path = "//" + "/".join(f"n:{a.tag}" for a in (*ancestors[-1:], el))
        counts[el.key] = len(doc.xpath(path, namespaces=ns))
    return counts


@pytest.mark.parametrize("module", MODULES)
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("envelope", [False, True])
@pytest.mark.parametrize("encoding", ["UTF-8", "ISO-8859-1"])
def test_every_table_counted_in_every_variant(tmp_path, module, version, envelope, encoding):
    data = build(module, version, envelope=envelope, encoding=encoding, counts={"institution": 2})
    res, tables = read_bytes(tmp_path, data)
    assert res.module == module and res.version == version
    assert res.envelope == ("MsgHead" if envelope else "Melding")
    assert res.encoding == encoding
    assert res.rows == expected_counts(data, module, version)
    assert set(res.rows) == set(lake_tables(module))
    for name, rows in tables.items():
        assert list(rows[0]) == [c for c, _ in table_columns(module, name)]
    # Norwegian letters survive either encoding.
    assert tables["contact_person"][0]["kontPerson"] == "Åse Ørnes"


def test_lineage_and_carried_keys(tmp_path):
    data = build("raa", counts={"patient_holder": 3, "episode": 2})
    _, tables = read_bytes(tmp_path, data)
    code = [r for r in tables["procedure_code"] if r["pasientNr"] == "P2" and r["episodeID"] == "EP2-1"]
    assert [r["kodeVerdi"] for r in code] == ["SSC0AA", "ZTX0EA"]
    row = code[0]
    assert row["institusjonID"] == "974557740"
    assert (row["message_type"], str(row["period_from"]), str(row["period_to"])) == (
        "B",
        "2025-01-01",
        "2025-01-31",
    )
    assert (str(row["extraction_date"]), row["lopenr"], row["version"]) == ("2025-02-05", "42", "58.0.1")
    assert (row["tjenesteNr"], row["tiltakNr"], row["typeTiltak"], row["prosNr"]) == (1, 1, "2", "1")
    # record_no is the element's position among all start tags of the file.
    doc = etree.fromstring(data)
    elements = list(doc.iter(etree.Element))
    ns = module_namespace("raa", "58.0.1")
    first_code = doc.xpath(
        "//n:Objektholder[@pasientNr='P2']/n:Episode[@episodeID='EP2-1']//n:Kode", namespaces={"n": ns}
    )
    assert row["record_no"] == elements.index(first_code[1]) + 1  # [0] is the condition's Kode


def test_57_spelling_of_kodeverk_lands_in_the_same_column(tmp_path):
    data = build("str", "57.0.1")
    assert b'Kodeverk="M"' in data and b"kodeverk=" not in data
    _, tables = read_bytes(tmp_path, data)
    assert {r["kodeverk"] for r in tables["procedure_code"]} == {"M"}
    assert {r["kodeverk"] for r in tables["condition_code"]} == {"D"}


def test_58_file_with_57_spelling_is_schema_invalid(tmp_path):
    data = build("str", "58.0.1").replace(b"kodeverk=", b"Kodeverk=")
    with pytest.raises(Rejected) as e:
        read_bytes(tmp_path, data)
    assert e.value.reason_class == "schema_invalid"
    line = data[: data.index(b"Kodeverk=")].count(b"\n") + 1
    assert "'Kodeverk' is not allowed" in e.value.reason  # the first error, not a later consequence
    assert e.value.reason.endswith(f"(line {line})")


def test_fid_replaced_by_pseudonym_and_checked(tmp_path):
    def bad_second(key, idx, attrs):
        if key == "person_ident" and idx["person_ident"] == 1:
            attrs["fid"] = attrs["fid"][:10] + str((int(attrs["fid"][10]) + 1) % 10)
        if key == "person_ident" and idx["person_ident"] == 2:
            attrs["fid"], attrs["typeID"] = VALID_DNUMBER, "2"
        return attrs

    data = build("ide", override=bad_second)
    res, tables = read_bytes(tmp_path, data)
    rows = tables["person_ident"]
    assert "fid" not in rows[0]
    expected = hmac.new(TEST_KEY.encode(), fid_for(0).encode(), hashlib.sha256).hexdigest()
    assert rows[0]["person_pseudonym"] == expected
    assert [r["fid_valid"] for r in rows] == [True, False, True]
    assert [f[3] for f in res.findings] == ["invalid_fodselsnummer"]
    assert fid_for(1)[:10] not in repr(res.findings)


def test_without_validation_same_rows(tmp_path):
    data = build("rad", counts={"patient_holder": 3})
    a, ta = read_bytes(tmp_path, data, validate=True)
    b, tb = read_bytes(tmp_path, data, validate=False)
    assert a.rows == b.rows and ta == tb


def test_unknown_element_ignored_without_validation(tmp_path):
    data = build("raa").replace(b"<Kontakt ", b'<Extra a="1"/><Kontakt ')
    res, _ = read_bytes(tmp_path, data, validate=False)
    assert res.rows == expected_counts(build("raa"), "raa", "58.0.1")
    with pytest.raises(Rejected):
        read_bytes(tmp_path, data, validate=True)


def test_model_allows_parsing_without_end_events():
    """The reader finds an element's parent as the latest element of the parent kind; that holds
    only while no kind nests inside itself and kinds sharing a tag have parents that do not nest."""
    for module in MODULES:
        paths = {el.key: [a.key for a in anc] for el, anc in walk(module)}
        for key, ancestors in paths.items():
            assert key not in ancestors, (module, key)
        by_tag: dict[str, list[str]] = defaultdict(list)
        for el, anc in walk(module):
            by_tag[el.tag].append(anc[-1].key if anc else "")
        for parents in by_tag.values():
            for a in parents:
                assert not any(a in paths[b] for b in parents if b != a), (module, parents)


def test_model_tables_match_elements():
    # Every element with a table in a module appears in walk order exactly once per parent.
    for module in MODULES:
        keys = lake_tables(module)
        assert len(keys) == len(set(keys))
        assert all(ELEMENTS[k].table for k in keys)


def test_lineage_is_on_every_row_even_past_the_prebuilt_length():
    # A batch longer than the prebuilt constant arrays (cannot happen while a table gets at most one
    # row per element between flushes, but must not lose lineage if that ever changes).
    info = plan.plan("raa", "58.0.1").tables["episode"]
    n_ctx = len(info.row_names) - 1 - len(info.names)
    rows = [(i, tuple(f"k{j}" for j in range(n_ctx)), tuple("v" for _ in info.names)) for i in range(5)]
    lineage = [pa.array(["f" * 64]), pa.array(["raa"]), pa.array(["58.0.1"]), pa.array(["B"])]
    lineage += [pa.array([None], pa.date32())] * 3 + [pa.array(["7"])]
    batch = flatten.to_batch(info, rows, lineage)
    assert batch.num_rows == 5
    assert batch.column("file_id").to_pylist() == ["f" * 64] * 5
    assert batch.column("record_no").to_pylist() == [0, 1, 2, 3, 4]


def test_a_finished_read_lets_go_of_its_data(tmp_path):
    # lxml's parser and its context form a cycle holding the target until a full cyclic
    # collection; a worker reading piece after piece grew by megabytes a piece while its
    # flattener kept the piece's keys. Without the collector, the result's data must die with it.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        res, _ = read_bytes(tmp_path, build("str", counts={"institution": 2}))
        assert res.cross.episodes  # the flattener filled it
        alive = weakref.ref(res.cross)
        del res
        assert alive() is None
    finally:
        if was_enabled:
            gc.enable()

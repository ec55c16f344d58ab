"""Small, schema-valid NPR messages built from the message model, for the extractor's tests.

Not a generator (that is `synth`): this writes a few deterministic records per element so a
test can count exactly what it wrote, and lets a test change one attribute to make one fault.
The structure comes from `extract.model.messages` (walk, children, attribute spellings).
"""

from __future__ import annotations

from collections.abc import Callable
from xml.sax.saxutils import quoteattr

from extract.model.messages import ELEMENTS, ROOT, attribute_name, module_namespace

MSGHEAD_NS = "http://www.kith.no/xmlstds/msghead/2006-05-24"

# A valid fødselsnummer (mod-11 control digits pass) and a D-number; both made up.
VALID_FID = "01010012356"
VALID_DNUMBER = "41019010110"

# How many of each child to write (default: the child's minimum, at least 1 unless listed as 0).
DEFAULT_COUNTS = {
    "contact_person": 1,
    "institution": 1,
    "unit": 1,
    "equipment": 2,
    "equipment_property": 1,
    "deletion": 0,
    "patient_holder": 2,
    "patient": 1,
    "episode": 2,
    "contact": 1,
    "health_personnel": 1,
    "episode_unit": 1,
    "condition": 1,
    "condition_code": 1,
    "service": 1,
    "measure": 1,
    "procedure": 1,
    "procedure_code": 2,
    "medical_radiation": 1,
    "rt_series": 1,
    "rt_attendance": 2,
    "dose_contribution": 1,
    "reference_volume": 1,
    "dose_event": 2,
    "dose_indicator": 1,
    "radiopharmaceutical": 1,
    "person_ident": 3,
}

_MAIN_CODES = {"str": ("M", "WEOA00"), "raa": ("R", "SSC0AA"), "ord": ("K", "JKA21"), "rad": ("R", "SSC0AA")}
_EXTRA_CODES = {"str": ("M", "WEGT00"), "raa": ("R", "ZTX0EA"), "ord": ("K", "ZXM10"), "rad": ("R", "ZTX0EA")}


def fid_for(i: int) -> str:
    """A made-up fødselsnummer with valid control digits, distinct per i."""
    base = f"{(i % 28) + 1:02d}0{(i // 28) % 10}{80 + (i // 280) % 20:02d}{100 + i % 400:03d}"
    w1, w2 = (3, 7, 6, 1, 8, 9, 4, 5, 2), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    d = [int(c) for c in base]
    k1 = 11 - sum(a * b for a, b in zip(w1, d, strict=True)) % 11
    k1 = 0 if k1 == 11 else k1
    if k1 == 10:
        return fid_for(i + 1000)
    d.append(k1)
    k2 = 11 - sum(a * b for a, b in zip(w2, d, strict=True)) % 11
    k2 = 0 if k2 == 11 else k2
    if k2 == 10:
        return fid_for(i + 1000)
    return base + str(k1) + str(k2)


def _value(module: str, key: str, attr: str, idx: dict[str, int]) -> str:
    """A schema-valid value; keys are unique per position so references can point at them."""
    h = idx.get("patient_holder", 0)
    e = idx.get("episode", 0)
    if key == "procedure_code" or key == "condition_code":
        n = idx.get(key, 0)
        if key == "condition_code":
            system, code = "D", "C504"
        else:
            system, code = (_MAIN_CODES if n == 0 else _EXTRA_CODES)[module]
        return {"kodeNr": str(n + 1), "kodeverk": system, "kodeVersjon": "2025", "kodeVerdi": code}[attr]
    specific = {
        ("message", "meldingstype"): "B",
        ("message", "fraDatoPeriode"): "2025-01-01",
        ("message", "tilDatoPeriode"): "2025-01-31",
        ("message", "uttakDato"): "2025-02-05",
        ("message", "uttakTidspunkt"): "2025-02-05T03:00:00",
        ("message", "lopenr"): "42",
        ("contact_person", "kontPerson"): "Åse Ørnes",
        ("institution", "institusjonID"): f"97455774{idx.get('institution', 0)}",
        ("unit", "enhetID"): f"E{idx.get('unit', 0)}",
        ("unit", "orgNr"): "9745577460",
        (
            "equipment",
            "utstyrID",
        ): f"U{idx.get('institution', 0)}.{idx.get('unit', 0)}-{idx.get('equipment', 0)}",
        ("equipment", "modalitetDICOM"): "RT" if module == "str" else "CT",
        ("patient_holder", "pasientNr"): f"P{h}",
        ("patient", "pasientNr"): f"P{h}",
        ("patient", "kjonn"): "2",
        ("patient", "fodselsar"): "1960",
        ("episode", "episodeID"): f"EP{h}-{e}",
        ("episode", "serieID"): f"S{h}",
        ("episode", "komNrHjem"): "0301",
        ("episode", "omsorgsniva"): "3",
        ("episode_unit", "enhetID"): "E0",
        ("condition", "tilstNr"): "1",
        ("measure", "typeTiltak"): "1" if module in ("str", "ord") else "2",
        ("procedure", "prosNr"): f"{idx.get('procedure', 0) + 1}",
        ("medical_radiation", "medisinskStralingID"): f"MS{h}",
        ("rt_series", "serieID"): f"S{h}",
        ("rt_series", "nyPasient"): "1",
        ("rt_series", "intensjon"): "1",
        ("rt_attendance", "episodeID"): f"EP{h}-{idx.get('rt_attendance', 0)}",
        ("rt_attendance", "refUtstyr"): f"U{idx.get('institution', 0)}.0-0",
        ("dose_contribution", "referansevolumID"): "RV1",
        ("dose_contribution", "planDose"): "2.0",
        ("dose_contribution", "gittDose"): "2.0",
        ("reference_volume", "referansevolumID"): "RV1",
        ("reference_volume", "regionkode"): "10",
        ("reference_volume", "planlagtTotalDose"): "50",
        ("dose_event", "episodeID"): f"EP{h}-{idx.get('dose_event', 0)}",
        ("dose_event", "prosNr"): "1",
        ("dose_event", "refUtstyr"): f"U{idx.get('institution', 0)}.0-0",
        ("dose_indicator", "doseType"): "DAP",
        ("dose_indicator", "verdi"): "1.25",
        ("dose_indicator", "benevning"): "Gy.cm2",
        ("radiopharmaceutical", "kode"): "ZTT0AT",
        ("radiopharmaceutical", "administrertAktivitet"): "7400",
        ("person_ident", "pid"): f"P{idx.get('person_ident', 0)}",
        ("person_ident", "fid"): fid_for(idx.get("person_ident", 0)),
        ("person_ident", "typeID"): "1",
    }
    if (key, attr) in specific:
        return specific[(key, attr)]
    kind = next(a.type for a in ELEMENTS[key].attrs if a.name == attr)
    return {
        "date": "2025-01-15",
        "dateTime": "2025-01-15T08:30:00",
        "decimal": "1.5",
        "int": "1",
        "kommNr": "0301",
        "orgnr": "974557746",
        "siteOrgnr": "974557746",
        "year": "1970",
        "code": "AB1",
        "fodselsnummer": VALID_FID,
    }.get(kind, "1" if kind in ("kjonn", "omsorgsniva", "nyPasient", "intensjon", "typeID") else "x")


Override = Callable[[str, dict[str, int], dict[str, str]], dict[str, str] | None]


def build(
    module: str,
    version: str = "58.0.1",
    *,
    envelope: bool = False,
    encoding: str = "UTF-8",
    counts: dict[str, int] | None = None,
    override: Override | None = None,
) -> bytes:
    """One message as bytes. `override(key, idx, attrs)` may return changed attributes."""
    n_of = {**DEFAULT_COUNTS, **(counts or {})}
    out: list[str] = []

    def emit(key: str, idx: dict[str, int], depth: int) -> None:
        el = ELEMENTS[key]
        attrs = {a.name: _value(module, key, a.name, idx) for a in el.attrs}
        if key == ROOT:
            attrs["versjon"] = version
        if override:
            attrs = override(key, idx, attrs) or attrs
        text = " ".join(
            f"{attribute_name(el.tag, name, version)}={quoteattr(v)}"
            for name, v in attrs.items()
            if v is not None
        )
        ns = f' xmlns="{module_namespace(module, version)}"' if key == ROOT else ""
        children = el.children_in(module)
        pad = "  " * depth
        if not children:
            out.append(f"{pad}<{el.tag}{ns} {text}/>")
            return
        out.append(f"{pad}<{el.tag}{ns} {text}>")
        for child in children:
            for i in range(n_of.get(child.element, max(child.min, 1))):
                emit(child.element, {**idx, child.element: i}, depth + 1)
        out.append(f"{pad}</{el.tag}>")

    emit(ROOT, {}, 2 if envelope else 0)
    body = "\n".join(out)
    if envelope:
        body = (
            f'<MsgHead xmlns="{MSGHEAD_NS}">\n'
            '  <MsgInfo><Type V="XPR" DN="NPR-melding"/><MIGversion>v1.2 2006-05-24</MIGversion>'
            "<GenDate>2025-02-05T03:00:00</GenDate><MsgId>m-1</MsgId>"
            "<Sender><Organisation/></Sender><Receiver><Organisation/></Receiver></MsgInfo>\n"
            '  <Document><RefDoc><MsgType V="XML"/><Content>\n'
            f"{body}\n"
            "  </Content></RefDoc></Document>\n"
            "</MsgHead>"
        )
    head = f'<?xml version="1.0" encoding="{encoding}"?>\n'
    return (head + body + "\n").encode("utf-8" if encoding.upper() == "UTF-8" else "latin-1")

"""The one declarative model of the NPR radiation-use messages.

Everything that knows the message structure derives from this file: the XSD per module and
version (`extract.model.xsd`), the synthetic generator (`synth`), the extractor's plan and
flattening (`extract.model.plan`, `extract.flatten`) and the lake's table layout (`lake_tables`,
`table_columns`), which in turn is what the dbt sources describe.

Marks from the spec (`docs/messages.md`): [C] confirmed, [A] our assumption. Every [A]
choice lives here, so swapping in an official module schema later is a change of this mapping.

Shape of the model:
- `ELEMENTS` maps an element key (also the lake table name) to an `Element`: its XML tag, its
  attributes in 58.0.1 spelling, and its children with cardinality and the modules they occur in.
- `carry` lists attributes copied into every descendant row (the parent keys), so each lake row
  can be joined without the tree; `ordinal` numbers key-less elements (Tjeneste, Tiltak) by position.
- A version difference is one entry in `VERSION_ATTRIBUTE_SPELLINGS`, not a fork of the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

MODULES: tuple[str, ...] = ("str", "raa", "rad", "ord", "ide")
SKELETON_MODULES = frozenset({"str", "raa", "rad", "ord"})
EPISODE_MODULES = frozenset({"str", "raa", "ord"})
VERSIONS: tuple[str, ...] = ("58.0.1", "57.0.1")
CURRENT_VERSION = "58.0.1"
NAMESPACE_PREFIX = "http://www.npr.no/xmlstds/"

# The one structural difference between the accepted versions [C for 57.0.1; A for the change]:
# (element tag, attribute as spelled in 58.0.1) -> spelling in that version.
VERSION_ATTRIBUTE_SPELLINGS: dict[str, dict[tuple[str, str], str]] = {
    "58.0.1": {},
    "57.0.1": {("Kode", "kodeverk"): "Kodeverk"},
}

# Value types. Enumerations and patterns are what the schema enforces; anything the schema lets
# through but the warehouse cannot interpret (unknown unit, unknown code, bad control digits) is a
# record-level finding, not a rejection (docs/messages.md section 9).
ENUMERATIONS: dict[str, tuple[str, ...]] = {
    "meldingstype": ("B", "E"),
    "kjonn": ("0", "1", "2", "9"),
    "omsorgsniva": ("1", "2", "3", "8"),
    "kodeverk": ("D", "K", "M", "R", "Q", "F"),
    "doseType": ("DAP", "DLP", "CTDIVOL", "AGD", "KERMA_REF", "GJENNOMLYSNINGSTID"),
    "nyPasient": ("1", "2"),
    # NPR's own intent list is not public; the Cancer Registry's numbering [A].
    "intensjon": ("1", "2", "3", "4", "5", "9"),
    "typeTiltak": ("1", "2"),
    # 1 fødselsnummer, 2 D-number, 3 H-number (hjelpenummer) [A].
    "typeID": ("1", "2", "3"),
}
PATTERNS: dict[str, str] = {
    "orgnr": r"\d{9}",
    # Site orgnr; radiotherapy units sometimes send the site orgnr followed by an extra 0 [C].
    "siteOrgnr": r"\d{9,10}",
    "fodselsnummer": r"\d{11}",
    "year": r"\d{4}",
    "code": r"[A-Z0-9]{1,10}",
}
# Types that map directly to XSD built-ins or NPR.xsd common types.
BUILTIN_TYPES: dict[str, str] = {
    "string": "string",
    "date": "date",
    "dateTime": "dateTime",
    "decimal": "decimal",
    "int": "positiveInteger",
    "kommNr": "nprx:kommNr",  # 4-character municipality number, from NPR.xsd [C]
}


@dataclass(frozen=True)
class Attr:
    name: str
    type: str = "string"
    required: bool | frozenset[str] = False
    doc: str = ""
    sensitive: bool = False  # never stored: replaced by a keyed pseudonym at parse time

    def is_required(self, module: str) -> bool:
        if isinstance(self.required, frozenset):
            return module in self.required
        return self.required


@dataclass(frozen=True)
class Child:
    element: str
    min: int = 0
    max: int | None = None  # None: unbounded
    modules: frozenset[str] = frozenset(MODULES)


@dataclass(frozen=True)
class Element:
    key: str
    tag: str
    doc: str
    attrs: tuple[Attr, ...] = ()
    children: tuple[Child, ...] = ()
    carry: tuple[tuple[str, str], ...] = ()
    ordinal: str | None = None
    table: bool = True
    attr_by_name: dict[str, Attr] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attr_by_name", {a.name: a for a in self.attrs})

    def children_in(self, module: str) -> tuple[Child, ...]:
        return tuple(c for c in self.children if module in c.modules)


def A(name: str, type: str = "string", required=False, doc: str = "", sensitive=False) -> Attr:
    return Attr(name, type, required, doc, sensitive)


def R(name: str, type: str = "string", doc: str = "", **kw) -> Attr:
    """A required attribute."""
    return Attr(name, type, True, doc, **kw)


_CODE_ATTRS = (
    R("kodeNr", "int", "position of the code in its parent; 1 is the main code"),
    R("kodeverk", "kodeverk", "code system: D ICD-10, K NCSP, M NCMP, R NCRP, Q combined, F ATC"),
    R("kodeVersjon", "string", "code list edition (year)"),
    R("kodeVerdi", "code", "the code without dot (C50.4 is C504)"),
)

_ELEMENT_LIST: tuple[Element, ...] = (
    Element(
        "message",
        "Melding",
        "Melding: one file's header (one module, one period)",
        attrs=(
            R("versjon", doc="information model version, 58.0.1 or 57.0.1"),
            R("meldingstype", "meldingstype", "B batch delivery for the period, E change message"),
            R("fraDatoPeriode", "date", "first day of the period covered"),
            R("tilDatoPeriode", "date", "last day of the period covered"),
            R("uttakDato", "date", "extraction date"),
            A("uttakTidspunkt", "dateTime", doc="extraction time"),
            R("leverandor", doc="EPJ vendor"),
            R("navnEPJ", doc="system name"),
            R("versjonEPJ", doc="system version"),
            R("versjonUt", doc="extraction program version"),
            R("lopenr", doc="sender's sequence number, unique within the year"),
            A("lokalident", doc="sender's own id, often a GUID"),
        ),
        children=(
            Child("contact_person", 1, None),
            Child("institution", 1, None),
        ),
    ),
    Element(
        "contact_person",
        "Kontaktperson",
        "Kontaktperson: who to ask about the file",
        attrs=(
            R("kontPerson", doc="name"),
            R("meldEpost1", doc="e-mail"),
            R("typeKontaktperson", doc="role"),
            A("meldTelefon", doc="phone"),
            A("meldEpost2", doc="second e-mail"),
        ),
    ),
    Element(
        "institution",
        "Institusjon",
        "Institusjon: the reporting legal unit (HF, private institute)",
        attrs=(
            R("institusjonID", "orgnr", "orgnr of the reporting institution (9 digits)"),
            A("foretak", doc="health trust"),
        ),
        children=(
            Child("unit", 1, None, SKELETON_MODULES),
            Child("deletion", 0, None, SKELETON_MODULES),
            Child("patient_holder", 1, None, SKELETON_MODULES),
            Child("person_ident", 1, None, frozenset({"ide"})),
        ),
        carry=(("institusjonID", "institusjonID"),),
    ),
    Element(
        "unit",
        "Enhet",
        "Enhet: a unit of the institution; equipment hangs below it",
        attrs=(
            R("enhetID", doc="local key of the unit"),
            A("orgNr", "siteOrgnr", doc="site orgnr (RT units may send 10 digits)"),
            A("reshID", doc="RESH id"),
            A("offAvdKode", doc="official department code"),
            A("enhetLokal", doc="local unit name"),
            A("sektor", doc="sector"),
        ),
        children=(Child("equipment", 0, None),),
        carry=(("enhetID", "enhetID"),),
    ),
    Element(
        "equipment",
        "Utstyr",
        "Utstyr: one piece of equipment (X-ray unit, CT, linac)",
        attrs=(
            R("utstyrID", doc="equipment id, unique in the message"),
            R("typeUtstyr", doc="equipment type"),
            A("modalitetDICOM", doc="DICOM modality: CT, DX, CR, RF, XA, MG, NM, PT, MR, US, IO, RT"),
            R("produsent", doc="manufacturer"),
            A("modell", doc="model"),
            A("lokaltNavnUtstyr", doc="local name"),
            A("plassering", doc="location"),
            A("statusUtstyr", doc="status"),
            A("oppgradert", doc="upgrade year or note"),
        ),
        children=(Child("equipment_property", 0, None),),
        carry=(("utstyrID", "utstyrID"),),
    ),
    Element(
        "equipment_property",
        "Utstyrsegenskaper",
        "Utstyrsegenskaper: a property of equipment",
        attrs=(R("egenskapType"), R("verdi"), A("benevning", doc="unit of the value")),
    ),
    Element(
        "deletion",
        "Slett",
        "Slett: withdraws an episode (change messages only) [A]",
        attrs=(R("episodeID", doc="the withdrawn episode"),),
    ),
    Element(
        "patient_holder",
        "Objektholder",
        "Objektholder: everything about one patient in the file",
        attrs=(R("pasientNr", doc="patient key local to the sender; links to NPR-IDE pid"),),
        children=(
            Child("patient", 0, 1),
            Child("referral_period", 0, None, EPISODE_MODULES),
            Child("episode", 0, None, EPISODE_MODULES),
            Child("medical_radiation", 0, None, frozenset({"str", "rad"})),
        ),
        carry=(("pasientNr", "pasientNr"),),
    ),
    Element(
        "patient",
        "Pasient",
        "Pasient: sex and birth year",
        attrs=(
            R("pasientNr"),
            R("kjonn", "kjonn", "sex: 0 unknown, 1 male, 2 female, 9 not applicable"),
            R("fodselsar", "year", "birth year"),
        ),
    ),
    # Referral data for waiting times (docs/messages.md section 10) [A]: the module schemas are not
    # public, so where referral data sits is assumed, in one entry: a Henvisningsperiode under
    # Objektholder in str, raa and ord (both versions, no spelling difference), sent along with the
    # episodes that point to it by Episode/@henvisningsperiodeID (the attribute below).
    Element(
        "referral_period",
        "Henvisningsperiode",
        "Henvisningsperiode: a referral period, the start of a waiting time [A]",
        attrs=(
            R(
                "henvisningsperiodeID",
                doc="unique per institution; Episode/@henvisningsperiodeID points to it",
            ),
            R("mottattDato", "date", "date this institution received the referral"),
            R(
                "ansiennitetsdato",
                "date",
                "seniority date: the day waiting is counted from (a forwarded referral keeps the first one)",
            ),
            A("henvType", doc="referral type [A: NPR's list not public]"),
            A("fraInstitusjonID", "orgnr", doc="orgnr of the referring institution, if one"),
        ),
    ),
    Element(
        "episode",
        "Episode",
        "Episode: one contact (a visit; in str one attendance or planning contact)",
        attrs=(
            R("episodeID", doc="unique per institution"),
            A("episodeGUID"),
            A("serieID", required=frozenset({"str"}), doc="treatment series (str)"),
            R("innDatoTid", "dateTime", "start"),
            A("utDatoTid", "dateTime", doc="end"),
            R("debitor", doc="payer"),
            R("komNrHjem", "kommNr", "home municipality, 4 characters with leading zero"),
            R("inntilstand"),
            R("innmateHast"),
            R(
                "omsorgsniva",
                "omsorgsniva",
                "care level: 1 inpatient, 2 day, 3 outpatient, 8 outpatient contact for an inpatient",
            ),
            A("fraSted"),
            A("tilSted"),
            A("utTilstand"),
            A(
                "henvisningsperiodeID",
                doc="-> Henvisningsperiode/@henvisningsperiodeID of the same Objektholder; none for "
                "activity without a referral (emergencies, inpatients) [A]",
            ),
        ),
        children=(
            Child("contact", 1, 1),
            Child("episode_unit", 0, None),
            Child("condition", 0, None),
            Child("service", 0, None),
        ),
        carry=(("episodeID", "episodeID"),),
    ),
    Element(
        "contact",
        "Kontakt",
        "Kontakt: type and place of the contact",
        attrs=(R("kontaktType"), R("stedAktivitet")),
        children=(Child("health_personnel", 0, None),),
    ),
    Element(
        "health_personnel",
        "Helseperson",
        "Helseperson: staff involved",
        attrs=(
            R("polUtforende", doc="profession: 16 radiographer, 29 radiation therapist, 1 doctor"),
            A("spesialist"),
            A("rolle"),
        ),
    ),
    Element(
        "episode_unit",
        "RefEnhet",
        "RefEnhet: a unit the episode refers to",
        attrs=(R("enhetID", doc="-> Enhet/@enhetID"), R("typeEnhet")),
    ),
    Element(
        "condition",
        "Tilstand",
        "Tilstand: a condition (diagnosis)",
        attrs=(R("tilstNr", "int", "1 is the main condition"),),
        children=(Child("condition_code", 1, None),),
        carry=(("tilstNr", "tilstNr"),),
    ),
    Element("condition_code", "Kode", "Kode of a condition (ICD-10)", attrs=_CODE_ATTRS),
    Element(
        "service",
        "Tjeneste",
        "Tjeneste: a service within the episode",
        attrs=(R("startDatoTid", "dateTime"), A("sluttDatoTid", "dateTime")),
        children=(Child("measure", 0, None),),
        carry=(("startDatoTid", "tjenesteStartDatoTid"),),
        ordinal="tjenesteNr",
    ),
    Element(
        "measure",
        "Tiltak",
        "Tiltak: a measure; typeTiltak 2 is imaging",
        attrs=(
            R("typeTiltak", "typeTiltak", "1 medical/surgical, 2 imaging"),
            A("startDatoTid", "dateTime"),
            A("sluttDatoTid", "dateTime"),
        ),
        children=(Child("procedure", 0, None),),
        carry=(("typeTiltak", "typeTiltak"), ("startDatoTid", "tiltakStartDatoTid")),
        ordinal="tiltakNr",
    ),
    Element(
        "procedure",
        "Prosedyre",
        "Prosedyre: one examination or procedure",
        attrs=(R("prosNr", "int", "order within the episode"), A("tilstNr", "int")),
        children=(Child("procedure_code", 1, None),),
        carry=(("prosNr", "prosNr"),),
    ),
    Element(
        "procedure_code",
        "Kode",
        "Kode of a procedure: main code first, then additional codes (ZXM, ZTX)",
        attrs=_CODE_ATTRS,
    ),
    Element(
        "medical_radiation",
        "MedisinskStraling",
        "MedisinskStraling: the radiation part",
        attrs=(R("medisinskStralingID"), A("tilleggsopplysninger")),
        children=(
            Child("rt_series", 0, None, frozenset({"str"})),
            Child("reference_volume", 0, None, frozenset({"str"})),
            Child("dose_event", 1, None, frozenset({"rad"})),
        ),
        carry=(("medisinskStralingID", "medisinskStralingID"),),
    ),
    Element(
        "rt_series",
        "Behandlingsserie",
        "Behandlingsserie: a radiotherapy treatment series",
        attrs=(
            R("serieID", doc="= Episode/@serieID"),
            A("behandlingsserieNavn"),
            A("intensjon", "intensjon", doc="intent: 1 curative, 2 palliative, ... [A]"),
            R("nyPasient", "nyPasient", "new patient: 1 yes, 2 no"),
            A("datoForste", "date", doc="date of first attendance"),
        ),
        children=(Child("rt_attendance", 1, None),),
        carry=(("serieID", "serieID"),),
    ),
    Element(
        "rt_attendance",
        "ApparatFremmote",
        "ApparatFremmote (str): an attendance on a machine",
        attrs=(R("episodeID", doc="-> Episode"), R("refUtstyr", doc="-> Utstyr/@utstyrID")),
        children=(Child("dose_contribution", 0, None),),
        carry=(("episodeID", "episodeID"), ("refUtstyr", "refUtstyr")),
    ),
    Element(
        "dose_contribution",
        "Dosebidrag",
        "Dosebidrag: dose to one reference volume, one fraction",
        attrs=(
            R("referansevolumID", doc="-> Referansevolum"),
            R("planDose", "decimal", "planned dose this fraction (Gy)"),
            R("gittDose", "decimal", "delivered dose this fraction (Gy)"),
        ),
    ),
    Element(
        "reference_volume",
        "Referansevolum",
        "Referansevolum: a target volume with its plan",
        attrs=(
            R("referansevolumID"),
            R("referansevolumNavn", doc="e.g. CTV_Breast"),
            R("regionkode", "int", "anatomical region (rt_regionkoder)"),
            A("regionNavn"),
            R("planlagtTotalDose", "decimal", "planned total dose (Gy)"),
            R("dosekorreksjon", doc="dose correction [A: meaning not public]"),
            A("merknad"),
        ),
    ),
    Element(
        "dose_event",
        "ApparatFremmote",
        "ApparatFremmote (rad): one exposure of an examination",
        attrs=(
            R("episodeID", doc="-> the examination's episode in raa or ord"),
            R("prosNr", "int", "-> Prosedyre/@prosNr"),
            R("refUtstyr", doc="-> Utstyr/@utstyrID"),
            R("startDatoTid", "dateTime"),
        ),
        children=(Child("dose_indicator", 0, None), Child("radiopharmaceutical", 0, None)),
        carry=(("episodeID", "episodeID"), ("prosNr", "prosNr"), ("refUtstyr", "refUtstyr")),
    ),
    Element(
        "dose_indicator",
        "Doseindikator",
        "Doseindikator: one dose quantity as sent [A]",
        attrs=(
            R("doseType", "doseType", "DAP, DLP, CTDIVOL, AGD, KERMA_REF, GJENNOMLYSNINGSTID"),
            R("verdi", "decimal", "value as sent"),
            R("benevning", doc="unit as sent"),
        ),
    ),
    Element(
        "radiopharmaceutical",
        "Radiofarmakon",
        "Radiofarmakon: administered activity [A]",
        attrs=(
            R("kode", "code", "NCRP ZTX6../ZTT.. code"),
            R("administrertAktivitet", "decimal", "MBq"),
        ),
    ),
    Element(
        "person_ident",
        "PasientIdent",
        "PasientIdent (ide): links pasientNr to the person",
        attrs=(
            R("pid", doc="= pasientNr in the institution's other messages"),
            R("fid", "fodselsnummer", "fødselsnummer or D-number; never stored", sensitive=True),
            R("typeID", "typeID", "1 fødselsnummer, 2 D-number, 3 H-number [A]"),
        ),
    ),
)

ELEMENTS: dict[str, Element] = {e.key: e for e in _ELEMENT_LIST}
ROOT = "message"

# Lineage columns on every lake row, before the carried keys and the element's own attributes.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("file_id", "string"),  # SHA-256 of the file's bytes
    ("module", "string"),
    ("version", "string"),
    ("message_type", "string"),
    ("period_from", "date"),
    ("period_to", "date"),
    ("extraction_date", "date"),
    ("lopenr", "string"),
    ("record_no", "int"),  # position of the element in the file (document order)
)
# Where a sensitive attribute stood, the lake has these instead.
PSEUDONYM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("person_pseudonym", "string"),  # HMAC-SHA256 of the identifier
    ("fid_valid", "bool"),  # mod-11 control digits passed
)


def module_namespace(module: str, version: str) -> str:
    return f"{NAMESPACE_PREFIX}{version.replace('.', '_')}_{module}"


def common_namespace(version: str) -> str:
    return f"{NAMESPACE_PREFIX}{version.replace('.', '_')}"


def parse_namespace(namespace: str) -> tuple[str, str] | None:
    """`http://www.npr.no/xmlstds/58_0_1_str` -> ("58.0.1", "str"); None if not an NPR module."""
    if not namespace.startswith(NAMESPACE_PREFIX):
        return None
    rest = namespace[len(NAMESPACE_PREFIX) :]
    version, _, module = rest.rpartition("_")
    if not version or not module:
        return None
    return version.replace("_", "."), module


def attribute_name(tag: str, name: str, version: str) -> str:
    """How attribute `name` (58.0.1 spelling) of element `tag` is spelled in `version`."""
    return VERSION_ATTRIBUTE_SPELLINGS.get(version, {}).get((tag, name), name)


def root() -> Element:
    return ELEMENTS[ROOT]


def walk(module: str) -> Iterator[tuple[Element, tuple[Element, ...]]]:
    """Every element of a module, depth first in document order, with its ancestors."""

    def visit(el: Element, ancestors: tuple[Element, ...]):
        yield el, ancestors
        for child in el.children_in(module):
            yield from visit(ELEMENTS[child.element], (*ancestors, el))

    yield from visit(root(), ())


def carried_columns(ancestors: tuple[Element, ...]) -> list[str]:
    cols: list[str] = []
    for anc in ancestors:
        if anc.ordinal:
            cols.append(anc.ordinal)
        cols.extend(column for _, column in anc.carry)
    return cols


def lake_tables(module: str) -> list[str]:
    """The lake tables of a module (= dbt source tables of `npr_<module>`)."""
    return [el.key for el, _ in walk(module) if el.table]


def table_columns(module: str, table: str) -> list[tuple[str, str]]:
    """Columns of one lake table: lineage, carried parent keys, own attributes.

    Kinds: string, date, int, bool. Attribute values stay strings as sent (schema-valid already;
    typing is staging's job) so that nothing is lost or reinterpreted on the way into the lake.
    """
    for el, ancestors in walk(module):
        if el.key != table:
            continue
        cols: list[tuple[str, str]] = list(LINEAGE_COLUMNS)
        seen = {name for name, _ in cols}
        for name in carried_columns(ancestors):
            kind = "int" if name in _ordinals() else "string"
            if name not in seen:
                cols.append((name, kind))
                seen.add(name)
        if el.ordinal and el.ordinal not in seen:
            cols.append((el.ordinal, "int"))
            seen.add(el.ordinal)
        for attr in el.attrs:
            if attr.sensitive:
                cols.extend(c for c in PSEUDONYM_COLUMNS if c[0] not in seen)
                seen.update(c[0] for c in PSEUDONYM_COLUMNS)
            elif attr.name not in seen:
                cols.append((attr.name, "string"))
                seen.add(attr.name)
        return cols
    raise KeyError(f"module {module!r} has no table {table!r}")


def _ordinals() -> set[str]:
    return {e.ordinal for e in ELEMENTS.values() if e.ordinal}

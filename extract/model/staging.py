"""The staging layer, declared: which lake tables the warehouse stages, under which English names,
with which casts. `extract.model.dbt_sources` writes the staging SQL and YAML from this table (the
Norwegian attribute names stay in the column descriptions)."""

from __future__ import annotations

from dataclasses import dataclass

from extract.model.messages import lake_tables

# Staging: one model per lake table the warehouse uses. Each column: (English name, lake column,
# type or None, description). Types: cast(... as <type>); "date" from a dateTime attribute is the
# date of its timestamp. Staging only renames and types: no filter, no join, no rule.


@dataclass(frozen=True)
class Staged:
    name: str  # model stg_npr_<module>__<name>
    grain: str  # "Grain: ..." sentence, first in the model's description
    columns: tuple[tuple[str, str, str | None, str], ...]


_FILE = ("file_id", "file_id", None, "SHA-256 of the file the row comes from (-> the ledger)")
_RECORD = ("record_no", "record_no", None, "position of the element in that file (document order)")
_MODULE = ("module", "module", None, "message module of the file")
_INSTITUTION = (
    "institution_orgnr",
    "institusjonID",
    None,
    "Institusjon/@institusjonID, the sending legal unit",
)
_EPISODE = ("episode_id", "episodeID", None, "Episode/@episodeID, unique per institution")
_PATIENT = ("patient_local_id", "pasientNr", None, "Objektholder/@pasientNr, local to the sender")
_RADIATION = (
    _FILE,
    _RECORD,
    _INSTITUTION,
    _PATIENT,
    ("medical_radiation_id", "medisinskStralingID", None, "MedisinskStraling/@medisinskStralingID"),
)
_DOSE_EVENT = (
    *_RADIATION,
    (
        "episode_id",
        "episodeID",
        None,
        "ApparatFremmote/@episodeID (-> the examination's episode in raa or ord)",
    ),
    ("procedure_no", "prosNr", "integer", "ApparatFremmote/@prosNr (-> Prosedyre/@prosNr)"),
    ("equipment_local_id", "refUtstyr", None, "ApparatFremmote/@refUtstyr (-> Utstyr/@utstyrID)"),
)
_CODE = (
    ("code_no", "kodeNr", "integer", "Kode/@kodeNr: position of the code (1 the main code)"),
    (
        "code_system",
        "kodeverk",
        None,
        "Kode/@kodeverk (Kodeverk in 57.0.1): D ICD-10, K NCSP, M NCMP, R NCRP, Q combined, F ATC",
    ),
    ("code_version", "kodeVersjon", None, "Kode/@kodeVersjon"),
    ("code", "kodeVerdi", None, "Kode/@kodeVerdi, without dot"),
)

STAGING: dict[str, Staged] = {
    "institution": Staged(
        "institutions",
        "Grain: one Institusjon of one file (a file's sending legal unit, with the file's lineage).",
        (
            _FILE,
            _RECORD,
            _MODULE,
            _INSTITUTION,
            (
                "message_type",
                "message_type",
                None,
                "Melding/@meldingstype: B batch delivery, E change message",
            ),
            ("period_from", "period_from", None, "Melding/@fraDatoPeriode, first day the file covers"),
            ("period_to", "period_to", None, "Melding/@tilDatoPeriode, last day the file covers"),
            ("extraction_date", "extraction_date", None, "Melding/@uttakDato, extraction date"),
            ("lopenr", "lopenr", None, "Melding/@lopenr, the sender's sequence number (as sent)"),
        ),
    ),
    "deletion": Staged(
        "deletions",
        "Grain: one Slett (withdrawal of an episode by a change message) in one file.",
        (
            _FILE,
            _RECORD,
            _MODULE,
            _INSTITUTION,
            ("episode_id", "episodeID", None, "Slett/@episodeID, the episode withdrawn"),
        ),
    ),
    "episode": Staged(
        "episodes",
        "Grain: one Episode as one file sent it (every version).",
        (
            _FILE,
            _RECORD,
            _MODULE,
            _INSTITUTION,
            _EPISODE,
            _PATIENT,
            ("episode_guid", "episodeGUID", None, "Episode/@episodeGUID"),
            ("series_local_id", "serieID", None, "Episode/@serieID (str: the treatment series)"),
            ("started_at", "innDatoTid", "timestamp", "Episode/@innDatoTid"),
            ("ended_at", "utDatoTid", "timestamp", "Episode/@utDatoTid"),
            ("episode_date", "innDatoTid", "date", "date of Episode/@innDatoTid"),
            ("payer", "debitor", None, "Episode/@debitor"),
            ("home_municipality", "komNrHjem", None, "Episode/@komNrHjem, 4 characters"),
            ("admission_status", "inntilstand", None, "Episode/@inntilstand"),
            ("admission_urgency", "innmateHast", None, "Episode/@innmateHast"),
            (
                "care_level",
                "omsorgsniva",
                "integer",
                "Episode/@omsorgsniva: 1 inpatient, 2 day, 3 outpatient, "
                "8 outpatient contact for an inpatient",
            ),
            ("came_from", "fraSted", None, "Episode/@fraSted"),
            ("went_to", "tilSted", None, "Episode/@tilSted"),
            ("discharge_status", "utTilstand", None, "Episode/@utTilstand"),
            (
                "referral_local_id",
                "henvisningsperiodeID",
                None,
                "Episode/@henvisningsperiodeID (-> Henvisningsperiode); none without a referral",
            ),
        ),
    ),
    "referral_period": Staged(
        "referral_periods",
        "Grain: one Henvisningsperiode (institution, henvisningsperiodeID) as one file sent it (every "
        "file's version).",
        (
            _FILE,
            _RECORD,
            _MODULE,
            _INSTITUTION,
            _PATIENT,
            (
                "referral_local_id",
                "henvisningsperiodeID",
                None,
                "Henvisningsperiode/@henvisningsperiodeID, unique per institution",
            ),
            ("received_date", "mottattDato", "date", "Henvisningsperiode/@mottattDato, referral received"),
            (
                "seniority_date",
                "ansiennitetsdato",
                "date",
                "Henvisningsperiode/@ansiennitetsdato, the day waiting is counted from",
            ),
            ("referral_type", "henvType", None, "Henvisningsperiode/@henvType"),
            (
                "from_institution_orgnr",
                "fraInstitusjonID",
                None,
                "Henvisningsperiode/@fraInstitusjonID, the referring institution",
            ),
        ),
    ),
    "episode_unit": Staged(
        "episode_units",
        "Grain: one RefEnhet (a unit the episode took place at) of an Episode as one file sent it.",
        (
            _FILE,
            _RECORD,
            _INSTITUTION,
            _EPISODE,
            ("unit_id", "enhetID", None, "RefEnhet/@enhetID (-> Enhet/@enhetID)"),
            ("unit_type", "typeEnhet", None, "RefEnhet/@typeEnhet"),
        ),
    ),
    "condition_code": Staged(
        "condition_codes",
        "Grain: one Tilstand/Kode (diagnosis code) of an Episode as one file sent it.",
        (
            _FILE,
            _RECORD,
            _INSTITUTION,
            _EPISODE,
            ("condition_no", "tilstNr", "integer", "Tilstand/@tilstNr, 1 the main condition"),
            *_CODE,
        ),
    ),
    "procedure_code": Staged(
        "procedure_codes",
        "Grain: one Prosedyre/Kode (procedure code) of an Episode as one file sent it.",
        (
            _FILE,
            _RECORD,
            _INSTITUTION,
            _EPISODE,
            ("service_no", "tjenesteNr", None, "position of the Tjeneste in the episode"),
            ("service_started_at", "tjenesteStartDatoTid", "timestamp", "Tjeneste/@startDatoTid"),
            ("measure_no", "tiltakNr", None, "position of the Tiltak in the Tjeneste"),
            ("measure_type", "typeTiltak", "integer", "Tiltak/@typeTiltak: 1 medical/surgical, 2 imaging"),
            ("measure_started_at", "tiltakStartDatoTid", "timestamp", "Tiltak/@startDatoTid"),
            ("procedure_no", "prosNr", "integer", "Prosedyre/@prosNr, order within the episode"),
            *_CODE,
        ),
    ),
    "unit": Staged(
        "units",
        "Grain: one Enhet (institution, enhetID) as one file sent it (every file's version).",
        (
            _FILE,
            _RECORD,
            _INSTITUTION,
            ("unit_id", "enhetID", None, "Enhet/@enhetID, local key"),
            (
                "site_orgnr_as_sent",
                "orgNr",
                None,
                "Enhet/@orgNr as sent (RT units may send 10 digits: int_units resolves it)",
            ),
            ("resh_id", "reshID", None, "Enhet/@reshID"),
            ("department_code", "offAvdKode", None, "Enhet/@offAvdKode"),
            ("unit_local_name", "enhetLokal", None, "Enhet/@enhetLokal"),
            ("sector", "sektor", None, "Enhet/@sektor"),
        ),
    ),
    "equipment": Staged(
        "equipment",
        "Grain: one Utstyr (institution, utstyrID) as one file sent it (every file's version).",
        (
            _FILE,
            _RECORD,
            _INSTITUTION,
            ("unit_id", "enhetID", None, "Enhet/@enhetID the equipment hangs below"),
            ("equipment_local_id", "utstyrID", None, "Utstyr/@utstyrID, local key"),
            ("equipment_type", "typeUtstyr", None, "Utstyr/@typeUtstyr"),
            ("dicom_modality", "modalitetDICOM", None, "Utstyr/@modalitetDICOM"),
            ("manufacturer", "produsent", None, "Utstyr/@produsent"),
            ("model", "modell", None, "Utstyr/@modell"),
            ("local_name", "lokaltNavnUtstyr", None, "Utstyr/@lokaltNavnUtstyr"),
            ("location", "plassering", None, "Utstyr/@plassering"),
            ("status", "statusUtstyr", None, "Utstyr/@statusUtstyr"),
            ("upgraded", "oppgradert", None, "Utstyr/@oppgradert"),
        ),
    ),
    "patient": Staged(
        "patients",
        "Grain: one Pasient (institution, pasientNr) as one file sent it (every file's version).",
        (
            _FILE,
            _RECORD,
            _INSTITUTION,
            _PATIENT,
            ("sex", "kjonn", None, "Pasient/@kjonn: 0 not known, 1 male, 2 female, 9 not specified"),
            ("birth_year", "fodselsar", "integer", "Pasient/@fodselsar"),
        ),
    ),
    "rt_series": Staged(
        "rt_series",
        "Grain: one Behandlingsserie (institution, serieID) as one file sent it (every file's version).",
        (
            *_RADIATION,
            ("series_local_id", "serieID", None, "Behandlingsserie/@serieID"),
            ("series_name", "behandlingsserieNavn", None, "Behandlingsserie/@behandlingsserieNavn"),
            (
                "intent_code",
                "intensjon",
                None,
                "Behandlingsserie/@intensjon: 1 curative, 2 palliative, 3 local "
                "control, 4 prophylactic, 5 other, 9 unknown",
            ),
            ("new_patient_code", "nyPasient", None, "Behandlingsserie/@nyPasient: 1 yes, 2 no"),
            ("first_attendance_date", "datoForste", "date", "Behandlingsserie/@datoForste"),
        ),
    ),
    "rt_attendance": Staged(
        "rt_attendances",
        "Grain: one ApparatFremmote (attendance on a machine) of a str episode as one file sent it.",
        (
            *_RADIATION,
            ("series_local_id", "serieID", None, "Behandlingsserie/@serieID"),
            ("episode_id", "episodeID", None, "ApparatFremmote/@episodeID (-> Episode)"),
            ("equipment_local_id", "refUtstyr", None, "ApparatFremmote/@refUtstyr (-> Utstyr/@utstyrID)"),
        ),
    ),
    "dose_contribution": Staged(
        "dose_contributions",
        "Grain: one Dosebidrag (dose to one reference volume in one fraction) as one file sent it.",
        (
            *_RADIATION,
            ("series_local_id", "serieID", None, "Behandlingsserie/@serieID"),
            ("episode_id", "episodeID", None, "ApparatFremmote/@episodeID"),
            ("equipment_local_id", "refUtstyr", None, "ApparatFremmote/@refUtstyr"),
            (
                "reference_volume_id",
                "referansevolumID",
                None,
                "Dosebidrag/@referansevolumID (-> Referansevolum)",
            ),
            (
                "planned_dose_gy",
                "planDose",
                "double",
                "Dosebidrag/@planDose, planned dose this fraction (Gy)",
            ),
            (
                "delivered_dose_gy",
                "gittDose",
                "double",
                "Dosebidrag/@gittDose, delivered dose this fraction (Gy)",
            ),
        ),
    ),
    "reference_volume": Staged(
        "reference_volumes",
        "Grain: one Referansevolum (institution, medisinskStralingID, referansevolumID) as one file sent it.",
        (
            *_RADIATION,
            ("reference_volume_id", "referansevolumID", None, "Referansevolum/@referansevolumID"),
            (
                "reference_volume_name",
                "referansevolumNavn",
                None,
                "Referansevolum/@referansevolumNavn (e.g. CTV_Breast)",
            ),
            ("region_code", "regionkode", "integer", "Referansevolum/@regionkode (rt_region_codes)"),
            ("region_name", "regionNavn", None, "Referansevolum/@regionNavn"),
            (
                "planned_total_dose_gy",
                "planlagtTotalDose",
                "double",
                "Referansevolum/@planlagtTotalDose (Gy)",
            ),
            (
                "dose_correction",
                "dosekorreksjon",
                None,
                "Referansevolum/@dosekorreksjon (meaning not public)",
            ),
            ("remark", "merknad", None, "Referansevolum/@merknad"),
        ),
    ),
    "dose_event": Staged(
        "dose_events",
        "Grain: one rad ApparatFremmote (one exposure of an examination) as one file sent it.",
        (*_DOSE_EVENT, ("started_at", "startDatoTid", "timestamp", "ApparatFremmote/@startDatoTid")),
    ),
    "dose_indicator": Staged(
        "dose_indicators",
        "Grain: one Doseindikator as one file sent it, value and unit as sent (canonical units: "
        "int_imaging__dose_indicators).",
        (
            *_DOSE_EVENT,
            ("dose_type", "doseType", None, "Doseindikator/@doseType"),
            ("value_as_sent", "verdi", "double", "Doseindikator/@verdi"),
            ("unit_as_sent", "benevning", None, "Doseindikator/@benevning"),
        ),
    ),
    "radiopharmaceutical": Staged(
        "radiopharmaceuticals",
        "Grain: one Radiofarmakon (administered activity) of a rad dose event as one file sent it.",
        (
            *_DOSE_EVENT,
            ("radiopharmaceutical_code", "kode", None, "Radiofarmakon/@kode (NCRP ZTX6../ZTT..)"),
            (
                "administered_activity_mbq",
                "administrertAktivitet",
                "double",
                "Radiofarmakon/@administrertAktivitet (MBq)",
            ),
        ),
    ),
    "person_ident": Staged(
        "person_idents",
        "Grain: one PasientIdent (institution, pid) as one ide file sent it. The fødselsnummer itself never "
        "reaches the lake: only its keyed pseudonym.",
        (
            _FILE,
            _RECORD,
            _INSTITUTION,
            (
                "patient_local_id",
                "pid",
                None,
                "PasientIdent/@pid (= pasientNr in the institution's other messages)",
            ),
            ("person_pseudonym", "person_pseudonym", None, "HMAC pseudonym of PasientIdent/@fid"),
            ("is_fid_valid", "fid_valid", None, "the fødselsnummer passed its mod-11 control digits"),
            (
                "id_type",
                "typeID",
                None,
                "PasientIdent/@typeID: 1 fødselsnummer, 2 D-number, 3 H-number (hjelpenummer)",
            ),
        ),
    ),
}


def staged_tables(module: str) -> list[str]:
    """The lake tables of `module` that have a staging model, in lake-table order."""
    return [t for t in lake_tables(module) if t in STAGING]


def staging_model_name(module: str, table: str) -> str:
    return f"stg_npr_{module}__{STAGING[table].name}"

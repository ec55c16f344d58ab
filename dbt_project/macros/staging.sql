{#- The staging of lake tables that several modules share (the skeleton of docs/messages.md section 3):
    each module's staging model is one call, so the typing and English names live here once. -#}

{% macro stg_episodes(module) -%}
with current_rows as ({{ current_episode_rows(module, 'episode') }})

select
    file_id,
    record_no,
    '{{ module }}' as module,
    version_date,
    institusjonID as institution_orgnr,
    episodeID as episode_id,
    pasientNr as patient_local_id,
    episodeGUID as episode_guid,
    serieID as series_local_id,
    {{ as_timestamp('innDatoTid') }} as started_at,
    {{ as_timestamp('utDatoTid') }} as ended_at,
    {{ as_date('innDatoTid') }} as episode_date,
    debitor as payer,
    komNrHjem as home_municipality,
    inntilstand as admission_status,
    innmateHast as admission_urgency,
    {{ as_int('omsorgsniva') }} as care_level,
    fraSted as came_from,
    tilSted as went_to,
    utTilstand as discharge_status
from current_rows
{%- endmacro %}

{% macro stg_episode_units(module) -%}
with current_rows as ({{ current_episode_rows(module, 'episode_unit') }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    episodeID as episode_id,
    enhetID as unit_id,
    typeEnhet as unit_type
from current_rows
{%- endmacro %}

{% macro stg_condition_codes(module) -%}
with current_rows as ({{ current_episode_rows(module, 'condition_code') }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    episodeID as episode_id,
    {{ as_int('tilstNr') }} as condition_no,
    {{ code_columns() }}
from current_rows
{%- endmacro %}

{% macro stg_procedure_codes(module) -%}
with current_rows as ({{ current_episode_rows(module, 'procedure_code') }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    episodeID as episode_id,
    tjenesteNr as service_no,
    {{ as_timestamp('tjenesteStartDatoTid') }} as service_started_at,
    tiltakNr as measure_no,
    {{ as_int('typeTiltak') }} as measure_type,
    {{ as_timestamp('tiltakStartDatoTid') }} as measure_started_at,
    {{ as_int('prosNr') }} as procedure_no,
    {{ code_columns() }}
from current_rows
{%- endmacro %}

{% macro stg_units(module) -%}
with current_rows as ({{ current_context_rows(module, 'unit', ['enhetID']) }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    enhetID as unit_id,
    orgNr as site_orgnr_as_sent,
    {{ site_orgnr('orgNr') }} as site_orgnr,
    reshID as resh_id,
    offAvdKode as department_code,
    enhetLokal as unit_local_name,
    sektor as sector
from current_rows
{%- endmacro %}

{% macro stg_equipment(module) -%}
with current_rows as ({{ current_context_rows(module, 'equipment', ['utstyrID']) }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    enhetID as unit_id,
    utstyrID as equipment_local_id,
    typeUtstyr as equipment_type,
    modalitetDICOM as dicom_modality,
    produsent as manufacturer,
    modell as model,
    lokaltNavnUtstyr as local_name,
    plassering as location,
    statusUtstyr as status,
    oppgradert as upgraded
from current_rows
{%- endmacro %}

{% macro stg_patients(module) -%}
with current_rows as ({{ current_context_rows(module, 'patient', ['pasientNr']) }})

select
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    pasientNr as patient_local_id,
    kjonn as sex,
    {{ as_int('fodselsar') }} as birth_year
from current_rows
{%- endmacro %}

{#- The keys every row below a MedisinskStraling carries (str Behandlingsserie subtree; rad dose events). -#}
{% macro radiation_keys() -%}
    file_id,
    record_no,
    institusjonID as institution_orgnr,
    pasientNr as patient_local_id,
    medisinskStralingID as medical_radiation_id
{%- endmacro %}

{#- ... and those below a rad ApparatFremmote. -#}
{% macro dose_event_keys() -%}
    {{ radiation_keys() }},
    episodeID as episode_id,
    {{ as_int('prosNr') }} as procedure_no,
    refUtstyr as equipment_local_id
{%- endmacro %}

{% macro code_columns() -%}
{#- The four attributes of a Kode, under a Tilstand or a Prosedyre alike. -#}
{{ as_int('kodeNr') }} as code_no,
    kodeverk as code_system,
    kodeVersjon as code_version,
    kodeVerdi as code
{%- endmacro %}

{{ config(**incremental_by_year(stage='imaging')) }}
{#- One row per dose indicator (rad Doseindikator, canonical units) or administered activity
    (rad Radiofarmakon, MBq) of an examination, linked to activity by (institution, episodeID,
    prosNr; a raa examination before an ord procedure of the same key). Dose without matching activity
    is kept and flagged (completeness, docs/domain.md §4). exclusion_reason says why a record must not
    enter a median, a DRL or the population dose: the extractor's implausible_dose finding on the
    record, a value not above zero, or a unit that could not be interpreted. Partitioned by the year
    of the episode group (int_imaging__episode_groups), which the examination shares. -#}
with indicators as (
    select
        file_id,
        record_no,
        institution_orgnr,
        episode_id,
        procedure_no,
        equipment_local_id,
        dose_type,
        value,
        unit,
        value_as_sent,
        unit_as_sent,
        is_unit_known,
        cast(null as {{ api.Column.translate_type('string') }}) as radiopharmaceutical_code,
        year
    from {{ build_partition_input('int_imaging__dose_indicators') }}
),

activities as (
    select
        file_id,
        record_no,
        institution_orgnr,
        episode_id,
        procedure_no,
        equipment_local_id,
        'ADMINISTERED_ACTIVITY' as dose_type,
        administered_activity_mbq as value,
        'MBq' as unit,
        administered_activity_mbq as value_as_sent,
        'MBq' as unit_as_sent,
        true as is_unit_known,
        radiopharmaceutical_code,
        year
    from ({{ current_imaging_rows('rad', 'radiopharmaceuticals') }}) as current_activities
),

doses as (
    select * from indicators
    union all
    select * from activities
),

examinations as (
    -- one examination per (institution, episode, procedure): raa before ord
    select *
    from {{ build_partition_input('int_imaging__examinations') }}
    qualify row_number() over (
            partition by institution_orgnr, episode_id, procedure_no order by source_module desc
        ) = 1
),

dose_findings as (
    select file_id, record_no
    from {{ ref('stg_lake__findings') }}
    where
        module = 'rad'
        and lake_table in ('dose_indicator', 'radiopharmaceutical')
        and finding_class = 'implausible_dose'
    group by file_id, record_no
),

event_dates as (
    select institution_orgnr, episode_id, procedure_no, min(cast(started_at as date)) as dose_date
    from ({{ current_imaging_rows('rad', 'dose_events') }}) as current_events
    group by institution_orgnr, episode_id, procedure_no
)

select
    {{ natural_key(['d.institution_orgnr', 'd.episode_id', 'd.procedure_no', 'd.dose_type', 'd.record_no']) }}
        as dose_id,
    coalesce(
        e.examination_id,
        {{ natural_key(["'rad'", 'd.institution_orgnr', 'd.episode_id', 'd.procedure_no']) }}
    ) as examination_id,
    d.institution_orgnr,
    d.episode_id,
    d.procedure_no,
    {{ natural_key(['d.institution_orgnr', 'd.equipment_local_id']) }} as equipment_id,
    d.dose_type,
    d.value,
    d.unit,
    d.value_as_sent,
    d.unit_as_sent,
    d.is_unit_known,
    d.radiopharmaceutical_code,
    ev.dose_date,
    e.examination_id is not null as has_activity,
    case
        when f.file_id is not null then 'implausible_dose'
        when d.value <= 0 then 'non_positive_dose'
        when d.value is null and not d.is_unit_known then 'unknown_unit'
    end as exclusion_reason,
    d.file_id,
    d.year
from doses as d
left join examinations as e
    on
        e.institution_orgnr = d.institution_orgnr
        and e.episode_id = d.episode_id
        and e.procedure_no = d.procedure_no
left join dose_findings as f on f.file_id = d.file_id and f.record_no = d.record_no
left join event_dates as ev
    on
        ev.institution_orgnr = d.institution_orgnr
        and ev.episode_id = d.episode_id
        and ev.procedure_no = d.procedure_no

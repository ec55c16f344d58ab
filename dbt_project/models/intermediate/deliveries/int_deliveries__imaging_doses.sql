{#- One row per dose indicator or administered activity (fct_imaging_dose) with its examination's
    attributes. A dose record that points to no examination keeps null examination attributes; it is
    placed in the month its file's period starts (the mart carries no date of its own for it). -#}
with doses as (
    select
        d.*,
        -- the dose of a double-reported procedure belongs to the examination that is kept
        coalesce(x.double_report_of, d.examination_id) as counted_examination_id
    from {{ ref('fct_imaging_dose') }} as d
    left join {{ ref('fct_imaging_examination') }} as x on x.examination_id = d.examination_id
),

file_periods as (
    select file_id, institution_orgnr, min(period_from) as period_from
    from {{ ref('int_files') }}
    where module = 'rad'
    group by file_id, institution_orgnr
)

select
    d.dose_id,
    d.counted_examination_id as examination_id,
    d.dose_type,
    -- a zero or negative dose is a data-quality finding, never a dose: it must not pull a facility
    -- median or the collective dose down (the record still counts as reported for completeness)
    case when d.value > 0 then cast(d.value as double) end as value,
    d.unit,
    d.unit_as_sent,
    coalesce(d.is_unit_known, d.unit is not null) as is_unit_known,
    d.radiopharmaceutical_code,
    coalesce(d.has_activity, false) and e.examination_id is not null as has_activity,
    coalesce(e.year, cast(extract(year from f.period_from) as integer)) as year,
    coalesce(e.month, cast(extract(month from f.period_from) as integer)) as month,
    coalesce(e.institution_orgnr, d.institution_orgnr) as institution_orgnr,
    e.facility_id,
    e.procedure_code,
    e.modality,
    e.is_interventional,
    e.is_standard_adult,
    e.person_key
from doses as d
left join {{ ref('int_deliveries__imaging_examinations') }} as e
    on e.examination_id = d.counted_examination_id
left join file_periods as f on f.file_id = d.source_file_id and f.institution_orgnr = d.institution_orgnr

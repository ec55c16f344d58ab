{#- One row per dose indicator or administered activity (fct_imaging_dose) with its examination's
    attributes. A dose record that points to no examination keeps null examination attributes and is
    dated by its own dose event (fct_imaging_dose.dose_date), never by its file's period. value is null
    for a record with an exclusion_reason (implausible, not above zero, unknown unit): such a record
    counts as reported (completeness) but never enters a median, a DRL or the population dose. -#}
with doses as (
    select
        d.*,
        -- the dose of a double-reported procedure belongs to the examination that is kept
        coalesce(x.double_report_of, d.examination_id) as counted_examination_id
    from {{ ref('fct_imaging_dose') }} as d
    left join {{ ref('fct_imaging_examination') }} as x on x.examination_id = d.examination_id
)

select
    d.dose_id,
    d.counted_examination_id as examination_id,
    d.dose_type,
    case when d.exclusion_reason is null and d.value > 0 then cast(d.value as double) end as value,
    case
        when d.exclusion_reason is not null then d.exclusion_reason
        when d.value <= 0 then 'non_positive_dose'
    end as exclusion_reason,
    d.unit,
    d.unit_as_sent,
    coalesce(d.is_unit_known, d.unit is not null) as is_unit_known,
    d.radiopharmaceutical_code,
    coalesce(d.has_activity, false) and e.examination_id is not null as has_activity,
    d.dose_date,
    coalesce(e.year, cast(extract(year from d.dose_date) as integer)) as year,
    coalesce(e.month, cast(extract(month from d.dose_date) as integer)) as month,
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

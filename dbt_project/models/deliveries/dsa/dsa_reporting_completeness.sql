{{ config(**incremental_by_year()) }}
{#- One row per year x month x institution: how completely the institution reports ionising activity
    and its dose (docs/domain.md section 4). Institution-level quality figures, not patient counts: not
    suppressed. -#}
with examinations as (
    -- every examination: an unknown code is classed non-ionising, so it is counted before that filter
    select * from {{ build_partition_input('int_deliveries__imaging_examinations') }}
),

doses as (
    select * from {{ build_partition_input('int_deliveries__imaging_doses') }}
),

with_dose as (
    select distinct examination_id from doses where has_activity and value is not null
),

activity as (
    select
        e.year,
        e.month,
        e.institution_orgnr,
        count(*) filter (where e.is_ionising) as n_ionising_procedures,
        count(*) filter (where e.is_ionising and e.source_module = 'ord') as n_zxm_procedures,
        count(w.examination_id) filter (where e.is_ionising) as n_with_dose,
        count(*) filter (where coalesce(e.modality, 'unknown') = 'unknown') as n_uninterpretable_codes
    from examinations as e
    left join with_dose as w on w.examination_id = e.examination_id
    group by e.year, e.month, e.institution_orgnr
),

dose_quality as (
    select
        year,
        month,
        institution_orgnr,
        count(*) filter (where not has_activity) as n_dose_without_activity,
        count(*) filter (where not is_unit_known) as n_uninterpretable_units
    from {{ build_partition_input('int_deliveries__dose_records') }}
    group by year, month, institution_orgnr
),

reused_ids as (
    -- sender errors: an episode id used again for another patient or period (both counted)
    select
        cast(extract(year from episode_date) as integer) as year,
        cast(extract(month from episode_date) as integer) as month,
        institution_orgnr,
        count(*) as n_reused_episode_ids
    from {{ build_partition_input('int_episode_id_reuses', 'extract(year from episode_date)') }}
    group by all
),

quality as (
    select
        coalesce(d.year, r.year) as year,
        coalesce(d.month, r.month) as month,
        coalesce(d.institution_orgnr, r.institution_orgnr) as institution_orgnr,
        d.n_dose_without_activity,
        d.n_uninterpretable_units,
        r.n_reused_episode_ids
    from dose_quality as d
    full outer join reused_ids as r
        on r.year = d.year and r.month = d.month and r.institution_orgnr = d.institution_orgnr
)

select
    coalesce(a.year, q.year) as year,
    coalesce(a.month, q.month) as month,
    coalesce(a.institution_orgnr, q.institution_orgnr) as institution_orgnr,
    coalesce(a.n_ionising_procedures, 0) as n_ionising_procedures,
    coalesce(a.n_zxm_procedures, 0) as n_zxm_procedures,
    coalesce(a.n_with_dose, 0) as n_with_dose,
    a.n_with_dose / nullif(a.n_ionising_procedures, 0) as share_with_dose,
    coalesce(q.n_dose_without_activity, 0) as n_dose_without_activity,
    coalesce(q.n_uninterpretable_units, 0) as n_uninterpretable_units,
    coalesce(a.n_uninterpretable_codes, 0) as n_uninterpretable_codes,
    coalesce(q.n_reused_episode_ids, 0) as n_reused_episode_ids,
    {{ is_provisional('coalesce(a.year, q.year)') }} as is_provisional
from activity as a
full outer join quality as q
    on q.year = a.year and q.month = a.month and q.institution_orgnr = a.institution_orgnr

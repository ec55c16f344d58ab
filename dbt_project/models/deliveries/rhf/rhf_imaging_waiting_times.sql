{{ config(**incremental_by_year()) }}
{#- One row per year x month x RHF x HF x modality of the reporting institution (as
    rhf_imaging_activity's 'provider' rows): waiting times for radiology (docs/domain.md section 8),
    the days from the examination's referral period's ansiennitetsdato to the examination date
    (int_referrals__examination_waits). Radiology is the raa examinations; the ZXM image-guided
    procedures in ord are surgical procedures with a wait of their own: they are in no figure and
    are the hidden remainder of rhf_imaging_activity's n_examinations (n_other_procedures).
    Examinations without a usable referral period (emergencies, inpatients, none sent) are counted
    apart (n_examinations_without_referral) and are in no figure.
    Median and 80th percentile by linear interpolation (quantile_cont); shares within 14 and 28 days.
    Every count is suppressed on its own patients (suppress_small_cells), with secondary suppression
    as in rhf_rt_waiting_times (with, without and the ord remainder add up to rhf_imaging_activity's
    provider n_examinations). A share is blanked with n_examinations or its "within" count; median
    and P80 only when the examinations behind them rest on too few patients. -#}
{%- set keys = ['year', 'month', 'rhf_name', 'hf_name', 'modality'] -%}
{%- set threshold = delivery_param('small_cell_max_patients') -%}
with examinations as (
    select
        e.year,
        e.month,
        e.rhf_name,
        e.hf_name,
        coalesce(e.modality, 'unknown') as modality,
        e.source_module,
        e.person_key,
        w.wait_days
    from {{ build_partition_input('int_deliveries__imaging_examinations') }} as e
    left join {{ ref('int_referrals__examination_waits') }} as w on w.examination_id = e.examination_id
),

other_procedures as (
    select
        {{ keys | join(', ') }},
        count(*) as n_other_procedures,
        count(distinct person_key) as n_other_procedures__patients
    from examinations
    where source_module <> 'raa'
    group by {{ keys | join(', ') }}
),

radiology as (
    select
        {{ keys | join(', ') }},
        count(*) filter (where wait_days is not null) as n_examinations,
        count(distinct person_key) filter (where wait_days is not null) as n_examinations__patients,
        count(distinct person_key) filter (where wait_days is not null) as figures__patients,
        count(*) filter (where wait_days is null) as n_examinations_without_referral,
        count(distinct person_key) filter (where wait_days is null)
            as n_examinations_without_referral__patients,
        count(*) filter (where wait_days <= 14) as n_examinations_within_14_days,
        count(distinct person_key) filter (where wait_days <= 14) as n_examinations_within_14_days__patients,
        count(*) filter (where wait_days > 14) as n_examinations_beyond_14_days,
        count(distinct person_key) filter (where wait_days > 14) as n_examinations_beyond_14_days__patients,
        count(*) filter (where wait_days <= 28) as n_examinations_within_28_days,
        count(distinct person_key) filter (where wait_days <= 28) as n_examinations_within_28_days__patients,
        count(*) filter (where wait_days > 28) as n_examinations_beyond_28_days,
        count(distinct person_key) filter (where wait_days > 28) as n_examinations_beyond_28_days__patients,
        quantile_cont(wait_days, 0.5) as median_days,
        quantile_cont(wait_days, 0.8) as p80_days,
        count(*) filter (where wait_days <= 14) / nullif(count(wait_days), 0) as share_within_14_days,
        count(*) filter (where wait_days <= 28) / nullif(count(wait_days), 0) as share_within_28_days
    from examinations
    where source_module = 'raa'
    group by {{ keys | join(', ') }}
),

cells as (
    select
        r.*,
        coalesce(o.n_other_procedures, 0) as n_other_procedures,
        coalesce(o.n_other_procedures__patients, 0) as n_other_procedures__patients
    from radiology as r
    -- a cell is radiology's: ord procedures only enter as the remainder of a cell with examinations
    left join other_procedures as o using ({{ keys | join(', ') }})
),

{{ suppress_small_cells('cells', keys,
    measures={
        'n_examinations': 'n_examinations__patients',
        'n_examinations_without_referral': 'n_examinations_without_referral__patients',
        'n_examinations_within_14_days': 'n_examinations_within_14_days__patients',
        'n_examinations_beyond_14_days': 'n_examinations_beyond_14_days__patients',
        'n_examinations_within_28_days': 'n_examinations_within_28_days__patients',
        'n_examinations_beyond_28_days': 'n_examinations_beyond_28_days__patients',
        'n_other_procedures': 'n_other_procedures__patients'},
    hidden=['n_examinations_beyond_14_days', 'n_examinations_beyond_28_days', 'n_other_procedures'],
    margins=[
        ['year', 'month', 'rhf_name', 'hf_name', 'measure'],
        ['year', 'month', 'rhf_name', 'modality', 'measure'],
        ['year', 'month', 'measure'],
        keys + ["case when measure in ('n_examinations', 'n_examinations_without_referral', 'n_other_procedures') then 1 end"],
        keys + ["case when measure in ('n_examinations', 'n_examinations_within_14_days', 'n_examinations_beyond_14_days') then 1 end"],
        keys + ["case when measure in ('n_examinations', 'n_examinations_within_28_days', 'n_examinations_beyond_28_days') then 1 end"]],
    dependents={
        'share_within_14_days': ['n_examinations', 'n_examinations_within_14_days'],
        'share_within_28_days': ['n_examinations', 'n_examinations_within_28_days']}) }}

select
    * exclude (median_days, p80_days, figures__patients),
    -- a percentile reveals no count: blanked only when its own patients are too few
    case when not figures__patients between 1 and {{ threshold }} then median_days end as median_days,
    case when not figures__patients between 1 and {{ threshold }} then p80_days end as p80_days,
    {{ is_provisional('year') }} as is_provisional
from published

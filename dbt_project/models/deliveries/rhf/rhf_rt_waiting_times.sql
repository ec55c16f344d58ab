{#- One row per year x RHF x hospital (HF) of treatment x diagnosis group x intent: waiting times for
    radiotherapy (docs/domain.md section 8), series counted in the year they start like
    rhf_rt_activity. The wait is the days from the series' referral period's ansiennitetsdato to its
    first treatment fraction (int_referrals__rt_series_waits); series without a usable referral
    period are counted apart (n_series_without_referral) and are in no figure.
    Median and 80th percentile by linear interpolation (quantile_cont); shares of series started
    within 14 and 28 days. Every count is suppressed on its own patients (suppress_small_cells), with
    secondary suppression: with and without referral add up to rhf_rt_activity's n_series, and each
    "within" count and its hidden remainder beyond the limit add up to n_series. A share is blanked
    with n_series or its "within" count (share x n_series would reveal it); median and P80 reveal
    no count and are blanked only when the series behind them rest on too few patients. -#}
{%- set keys = ['year', 'rhf_name', 'hf_name', 'diagnosis_group', 'intent'] -%}
{%- set threshold = delivery_param('small_cell_max_patients') -%}
with series as (
    select
        s.year,
        s.rhf_name,
        s.hf_name,
        s.diagnosis_group,
        s.intent,
        s.person_key,
        w.wait_days
    from {{ ref('int_deliveries__rt_series') }} as s
    left join {{ ref('int_referrals__rt_series_waits') }} as w on w.series_id = s.series_id
),

cells as (
    select
        {{ keys | join(', ') }},
        count(*) filter (where wait_days is not null) as n_series,
        count(distinct person_key) filter (where wait_days is not null) as n_series__patients,
        count(*) filter (where wait_days is null) as n_series_without_referral,
        count(distinct person_key) filter (where wait_days is null) as n_series_without_referral__patients,
        count(*) filter (where wait_days <= 14) as n_series_within_14_days,
        count(distinct person_key) filter (where wait_days <= 14) as n_series_within_14_days__patients,
        count(*) filter (where wait_days > 14) as n_series_beyond_14_days,
        count(distinct person_key) filter (where wait_days > 14) as n_series_beyond_14_days__patients,
        count(*) filter (where wait_days <= 28) as n_series_within_28_days,
        count(distinct person_key) filter (where wait_days <= 28) as n_series_within_28_days__patients,
        count(*) filter (where wait_days > 28) as n_series_beyond_28_days,
        count(distinct person_key) filter (where wait_days > 28) as n_series_beyond_28_days__patients,
        count(distinct person_key) filter (where wait_days is not null) as figures__patients,
        quantile_cont(wait_days, 0.5) as median_days,
        quantile_cont(wait_days, 0.8) as p80_days,
        count(*) filter (where wait_days <= 14) / nullif(count(wait_days), 0) as share_within_14_days,
        count(*) filter (where wait_days <= 28) / nullif(count(wait_days), 0) as share_within_28_days
    from series
    group by {{ keys | join(', ') }}
),

{{ suppress_small_cells('cells', keys,
    measures={
        'n_series': 'n_series__patients',
        'n_series_without_referral': 'n_series_without_referral__patients',
        'n_series_within_14_days': 'n_series_within_14_days__patients',
        'n_series_beyond_14_days': 'n_series_beyond_14_days__patients',
        'n_series_within_28_days': 'n_series_within_28_days__patients',
        'n_series_beyond_28_days': 'n_series_beyond_28_days__patients'},
    hidden=['n_series_beyond_14_days', 'n_series_beyond_28_days'],
    margins=[
        ['year', 'rhf_name', 'hf_name', 'measure'],
        ['year', 'rhf_name', 'diagnosis_group', 'measure'],
        ['year', 'measure'],
        keys + ["case when measure in ('n_series', 'n_series_without_referral') then 1 end"],
        keys + ["case when measure in ('n_series', 'n_series_within_14_days', 'n_series_beyond_14_days') then 1 end"],
        keys + ["case when measure in ('n_series', 'n_series_within_28_days', 'n_series_beyond_28_days') then 1 end"]],
    dependents={
        'share_within_14_days': ['n_series', 'n_series_within_14_days'],
        'share_within_28_days': ['n_series', 'n_series_within_28_days']}) }}

select
    * exclude (median_days, p80_days, figures__patients),
    -- a percentile reveals no count: blanked only when its own patients are too few
    case when not figures__patients between 1 and {{ threshold }} then median_days end as median_days,
    case when not figures__patients between 1 and {{ threshold }} then p80_days end as p80_days,
    {{ is_provisional('year') }} as is_provisional
from published

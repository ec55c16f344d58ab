{#- One row per year x RHF x hospital (HF) of treatment x fractionation quality indicator (docs/domain.md
    section 3; the indicators and their thresholds: seed rt_fractionation_indicators). Each indicator
    is a share of the series of one diagnosis group and intent started in the year (as rhf_rt_activity
    counts series): n_series those with a prescribed schedule, n_series_meeting those whose prescribed
    fractions and dose per fraction meet it. Series without a schedule (no planned total dose or dose
    per fraction) are in no indicator.
    Every count is suppressed on its own patients (suppress_small_cells), with secondary suppression
    within the row (n_series = meeting + not meeting), within the diagnosis group and intent (its
    series = the indicators' counts + the series meeting none; indicators of one group never
    overlap), and against rhf_rt_activity's n_series of the same cell (= n_series + the series
    without a schedule): n_series is blanked wherever rhf_rt_activity blanks that number. The two
    rows of breast (and of prostate) repeat one n_series; every rule blanks it alike in both. A row
    left with its n_series blanked and no series meeting is removed. -#}
{%- set keys = ['year', 'rhf_name', 'hf_name', 'diagnosis_group', 'intent', 'indicator', 'indicator_rank'] -%}
{%- set denominator = ['year', 'rhf_name', 'hf_name', 'diagnosis_group', 'intent'] -%}
{%- set counts = ['n_series_meeting', 'n_series_not_meeting', 'n_series_other', 'n_series_without_schedule'] -%}
with indicators as (
    select
        *,
        -- the first indicator of its diagnosis group and intent carries the group's remainders
        row_number() over (partition by diagnosis_group, intent order by indicator) as indicator_rank
    from {{ ref('rt_fractionation_indicators') }}
),

series as (
    select
        s.*,
        i.indicator,
        i.indicator_rank,
        i.definition,
        s.has_schedule
        and s.prescribed_fractions
        between coalesce(i.fractions_min, 1) and coalesce(i.fractions_max, s.prescribed_fractions)
        and round(s.dose_per_fraction_gy, 2)
        between coalesce(i.dose_per_fraction_min_gy, 0)
        and coalesce(i.dose_per_fraction_max_gy, s.dose_per_fraction_gy) as meets
    from {{ ref('int_deliveries__rt_series_doses') }} as s
    inner join indicators as i on i.diagnosis_group = s.diagnosis_group and i.intent = s.intent
),

classified as (
    select
        *,
        has_schedule and not meets as is_not_meeting,
        -- a series of the diagnosis group and intent that meets none of its indicators
        has_schedule and not bool_or(meets) over (partition by series_id) as is_other
    from series
),

counted as (
    select
        {{ keys | join(', ') }},
        definition,
        count(*) filter (where has_schedule) as n_series,
        count(distinct person_key) filter (where has_schedule) as n_series__all_patients,
        count(*) filter (where meets) as n_series_meeting,
        count(distinct person_key) filter (where meets) as n_series_meeting__patients,
        count(*) filter (where is_not_meeting) as n_series_not_meeting,
        count(distinct person_key) filter (where is_not_meeting) as n_series_not_meeting__patients,
        -- the series meeting none of the group's indicators: on its first indicator's row only
        case when indicator_rank = 1 then count(*) filter (where is_other) else 0 end as n_series_other,
        case when indicator_rank = 1 then count(distinct person_key) filter (where is_other) else 0 end
            as n_series_other__patients,
        count(*) filter (where not has_schedule) as n_series_without_schedule,
        count(distinct person_key) filter (where not has_schedule) as n_series_without_schedule__patients,
        count(*) filter (where meets) / nullif(count(*) filter (where has_schedule), 0) as share
    from classified
    group by {{ keys | join(', ') }}, definition
),

activity as (
    {{ rt_activity_published_series() }}
),

cells as (
    select
        {% for k in keys %}c.{{ k }},
        {% endfor -%}
        c.definition,
        {% for m in counts -%}
        c.{{ m }},
        c.{{ m }}__patients,
        {% endfor -%}
        c.share,
        c.n_series,
        {{ patients_unless_blanked_in_activity('c.n_series__all_patients', 'c.n_series', 'a.is_published') }}
            as n_series__patients
    from counted as c
    left join activity as a using ({{ denominator | join(', ') }})
),

{{ suppress_small_cells('cells', keys,
    measures={
        'n_series': 'n_series__patients',
        'n_series_meeting': 'n_series_meeting__patients',
        'n_series_not_meeting': 'n_series_not_meeting__patients',
        'n_series_other': 'n_series_other__patients',
        'n_series_without_schedule': 'n_series_without_schedule__patients'},
    hidden=['n_series_not_meeting', 'n_series_other', 'n_series_without_schedule'],
    margins=[
        keys + ["case when measure in ('n_series', 'n_series_meeting', 'n_series_not_meeting') then 1 end"],
        denominator + ["case when measure = 'n_series_meeting' or (indicator_rank = 1 and measure in ('n_series', 'n_series_other')) then 1 end"],
        keys + ["case when measure in ('n_series', 'n_series_without_schedule') then 1 end"]],
    dependents={'share': ['n_series', 'n_series_meeting']}) }}

select
    * exclude (indicator_rank),
    {{ is_provisional('year') }} as is_provisional
from published
-- a row with its denominator blanked and no series meeting tells only that the cell exists
where n_series is not null or n_series_meeting <> 0

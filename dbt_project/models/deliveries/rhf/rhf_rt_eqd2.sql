{#- One row per year x RHF x hospital (HF) of treatment x diagnosis group x intent (rhf_rt_activity's
    cells): the EQD2 of the series started in the year (fct_rt_series.eqd2_gy: planned total dose in
    2 Gy fractions, linear-quadratic model, alpha/beta of the tumour from seed lq_alpha_beta), its
    median and quartiles (linear interpolation, quantile_cont). n_series counts the series with a
    schedule (an EQD2); those without are the unpublished rest of rhf_rt_activity's n_series.
    n_series is suppressed on its own patients (suppress_small_cells) and blanked wherever
    rhf_rt_activity blanks the cell's n_series, or where the series without a schedule rest on 1 to 4
    patients (rhf_rt_activity's n_series minus this one would reveal them). A percentile reveals no
    count: blanked only when the series behind it rest on 1 to 4 patients, and a cell whose n_series
    is blanked keeps its row when its percentiles are published. -#}
{%- set keys = ['year', 'rhf_name', 'hf_name', 'diagnosis_group', 'intent'] -%}
{%- set threshold = delivery_param('small_cell_max_patients') -%}
with counted as (
    select
        {{ keys | join(', ') }},
        count(*) filter (where has_schedule) as n_series,
        count(distinct person_key) filter (where has_schedule) as figures__patients,
        count(*) filter (where not has_schedule) as n_series_without_schedule,
        count(distinct person_key) filter (where not has_schedule) as n_series_without_schedule__patients,
        quantile_cont(eqd2_gy, 0.5) filter (where has_schedule) as median_eqd2_gy,
        quantile_cont(eqd2_gy, 0.25) filter (where has_schedule) as p25_eqd2_gy,
        quantile_cont(eqd2_gy, 0.75) filter (where has_schedule) as p75_eqd2_gy
    from {{ ref('int_deliveries__rt_series_doses') }}
    group by all
),

activity as (
    {{ rt_activity_published_series() }}
),

cells as (
    select
        c.*,
        {{ patients_unless_blanked_in_activity('c.figures__patients', 'c.n_series', 'a.is_published') }}
            as n_series__patients
    from counted as c
    left join activity as a using ({{ keys | join(', ') }})
),

{{ suppress_small_cells('cells', keys,
    measures={
        'n_series': 'n_series__patients',
        'n_series_without_schedule': 'n_series_without_schedule__patients'},
    hidden=['n_series_without_schedule'],
    margins=[keys + ["case when measure in ('n_series', 'n_series_without_schedule') then 1 end"]]) }}

{#- the cells published by suppress_small_cells, and those it removed (n_series blanked) whose figures
    rest on more than small_cell_max_patients patients: a percentile reveals no count -#}
{%- set shown = "not c.figures__patients between 1 and " ~ threshold %}
select
    {% for k in keys %}c.{{ k }},
    {% endfor -%}
    p.n_series,
    case when {{ shown }} then c.median_eqd2_gy end as median_eqd2_gy,
    case when {{ shown }} then c.p25_eqd2_gy end as p25_eqd2_gy,
    case when {{ shown }} then c.p75_eqd2_gy end as p75_eqd2_gy,
    -- per year, as suppress_small_cells reports it
    max(p.datatap) over (partition by c.year) as datatap,
    max(p.n_cells_suppressed) over (partition by c.year) as n_cells_suppressed,
    max(p.n_cells_total) over (partition by c.year) as n_cells_total,
    {{ is_provisional('c.year') }} as is_provisional
from cells as c
left join published as p using ({{ keys | join(', ') }})
where p.n_cells_total is not null or (c.n_series > 0 and {{ shown }})

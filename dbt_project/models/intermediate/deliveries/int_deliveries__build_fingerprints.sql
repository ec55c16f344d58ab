{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
{#- One row per build x input x year: the number of rows and an order-free fingerprint (the sum of
    the rows' hashes) of each row-level input of the year-partitioned delivery tables
    (macro build_year_inputs), and one row per year ('delivery_state') fingerprinting what else a
    year's published rows depend on: whether it is provisional, how many of its months have ended by
    the cut date (the time series' changes) and the delivery parameters. A full
    refresh starts again at build 1; each incremental build appends its rows as the next build_no.
    Macro build_years compares the last two builds. -#}
{%- set inputs = build_year_inputs() %}

{%- set previous_build_no = '(select max(build_no) from ' ~ this ~ ')' if is_incremental() else 'null' %}

with this_build as (
    select coalesce({{ previous_build_no }}, 0) + 1 as build_no
),

row_inputs as (
    {%- for name, year in inputs.items() %}
    select
        '{{ name }}' as input_name,
        cast({{ year }} as integer) as year,
        count(*) as n_rows,
        -- hash(t): of the whole row
        sum(cast(hash(t) as hugeint)) as row_hash
    from {{ ref(name) }} as t  -- noqa: AL05
    group by all
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

input_years as (
    select distinct year from row_inputs where year is not null
),

parameters as (
    select string_agg(parameter || '=' || value_json, ';' order by parameter) as parameter_values
    from {{ ref('delivery_parameters') }}
),

delivery_state as (
    select
        'delivery_state' as input_name,
        y.year,
        0 as n_rows,
        -- and which of its months have ended by the cut (a time series gives no change for a period
        -- still running: period_is_over)
        cast(hash(
            {{ is_provisional('y.year') }},
            p.parameter_values,
            (select count(*) from range(1, 13) as m (month) where {{ period_is_over('y.year', 'm.month') }})
        ) as hugeint) as row_hash
    from input_years as y
    cross join parameters as p
),

fingerprints as (
    select * from row_inputs
    union all
    select * from delivery_state
)

select b.build_no, f.input_name, f.year, f.n_rows, f.row_hash
from fingerprints as f
cross join this_build as b

{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
{#- One row per build x input x year: the number of rows and an order-free fingerprint of each
    row-level input of the year-partitioned delivery tables (stage 'deliveries' of macro
    build_stages), and one row per year ('delivery_state') fingerprinting what else a year's
    published rows depend on: whether it is provisional, how many of its months have ended by the
    cut date (the time series' changes) and the delivery parameters. Macro build_partitions compares the
    last two builds. -#}
{% call build_fingerprints('deliveries') -%}
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
    from (select distinct year from row_inputs where year is not null) as y
    cross join (
        select string_agg(parameter || '=' || value_json, ';' order by parameter) as parameter_values
        from {{ ref('delivery_parameters') }}
    ) as p
{%- endcall %}

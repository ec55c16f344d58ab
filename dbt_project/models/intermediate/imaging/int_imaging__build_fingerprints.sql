{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
{#- One row per build x input x year: the number of rows and an order-free fingerprint of each
    row-level input of the year-partitioned imaging tables (stage 'imaging' of macro build_stages):
    the current raa/ord/rad versions by the year of their episode group, the patients those groups
    use, and, without a year (a change rebuilds every year), the units and the procedure codes (an
    unlisted code's class depends on every module's use of it). Macro build_partitions compares
    the last two builds. -#}
{{ build_fingerprints('imaging') }}

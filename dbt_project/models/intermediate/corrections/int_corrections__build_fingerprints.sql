{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
{#- One row per build x input x institution: the number of rows and an order-free fingerprint of each
    row-level input of the correction tables partitioned by institution (stage 'corrections' of macro
    build_stages): the loaded files, the episodes and Slett they deliver, the Pasient and
    PasientIdent records. Macro build_partitions compares the last two builds. -#}
{{ build_fingerprints('corrections') }}

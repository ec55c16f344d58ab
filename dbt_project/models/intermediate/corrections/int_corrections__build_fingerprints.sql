{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
{#- One row per build x input x institution: the number of rows and an order-free fingerprint of each
    row-level input of the tables partitioned by institution (stage 'corrections' of macro
    build_stages: the episode versions, the patient keys, the imaging episode groups, the referral
    chain): the loaded files, the
    episodes and Slett they deliver, the Pasient, PasientIdent and Henvisningsperiode records. Macro
    build_partitions compares the last two builds. -#}
{{ build_fingerprints('corrections') }}

{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
{#- One row per build x input x year: the number of rows and an order-free fingerprint of each
    row-level input of the imaging facts and their double reports (stage 'imaging_facts' of macro
    build_stages): the examinations by the year of their date, the doses by the year of theirs and,
    without a year, the procedure codes (which of them are interventions). Macro build_partitions
    compares the last two builds. -#}
{{ build_fingerprints('imaging_facts') }}

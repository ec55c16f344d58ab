{{ config(**incremental_by_year(stage='imaging_facts', column=examination_year('dose_date'))) }}
{#- One row per dose indicator (rad Doseindikator) or administered activity (rad Radiofarmakon) of
    an examination, current version after corrections; canonical units, with the value as sent.
    Partitioned by the year of dose_date (stage imaging_facts). -#}
select
    cast(d.dose_id as varchar) as dose_id,
    cast(d.examination_id as varchar) as examination_id,
    cast(d.has_activity as boolean) as has_activity,
    cast(d.dose_date as date) as dose_date,
    cast(d.institution_orgnr as varchar) as institution_orgnr,
    cast(d.episode_id as varchar) as episode_id,
    cast(d.procedure_no as integer) as procedure_no,
    cast(d.equipment_id as varchar) as equipment_id,
    cast(d.dose_type as varchar) as dose_type,
    cast(d.value as double) as value,
    cast(d.unit as varchar) as unit,
    cast(d.value_as_sent as double) as value_as_sent,
    cast(d.unit_as_sent as varchar) as unit_as_sent,
    cast(d.is_unit_known as boolean) as is_unit_known,
    cast(d.radiopharmaceutical_code as varchar) as radiopharmaceutical_code,
    cast(d.exclusion_reason as varchar) as exclusion_reason,
    cast(d.file_id as varchar) as source_file_id
from {{ build_partition_input('int_imaging__doses', column=examination_year('dose_date')) }} as d

{{ config(**incremental_by_year()) }}
{#- One row per year x facility x examination code x dose type: the facility's typical value and
    whether it exceeds DSA's published national reference value. Cells on <= 4 patients are removed. -#}
with typical as (
    select * from {{ build_partition_input('int_deliveries__facility_typical_values') }}
),

reference as (
    select procedure_code, dose_type, national_reference_value
    from {{ ref('dsa_reference_values') }}
    where procedure_code is not null
),

cells as (
    select
        t.year,
        t.facility_id,
        t.institution_orgnr,
        t.procedure_code,
        t.dose_type,
        t.unit,
        t.n_examinations,
        t.n_patients,
        t.median,
        t.meets_minimum,
        r.national_reference_value,
        case when r.national_reference_value is not null
                then t.median > r.national_reference_value
        end as exceeds_reference
    from typical as t
    left join reference as r
        on r.procedure_code = t.procedure_code and r.dose_type = t.dose_type
    -- a facility whose every examination of the code was excluded has no typical value
    where t.n_examinations > 0
),

{#- no margin: a facility's examinations add up to no published total (dsa_drl sums only facilities
    with the minimum sample, which are never small) -#}
{{ suppress_small_cells('cells', ['year', 'facility_id', 'procedure_code', 'dose_type'],
    measures={'n_examinations': 'n_patients', 'n_patients': 'n_patients'}, margins=[]) }}

select *, {{ is_provisional('year') }} as is_provisional
from published

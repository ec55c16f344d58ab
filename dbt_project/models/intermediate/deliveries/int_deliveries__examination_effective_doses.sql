{{ config(**incremental_by_year()) }}
{#- One row per ionising examination (int_deliveries__imaging_examinations, is_ionising): its effective
    dose by the EU RP 154 method and where the value comes from (docs/domain.md section 6). Precedence,
    first that applies:
      1. measured: the examination's dose of a quantity (int_deliveries__examination_doses, excluded
         records never enter) x the per-quantity coefficient for its code (seed
         effective_dose_coefficients: DLP, DAP, administered activity); where two quantities have one,
         the first coefficient_id;
      2. measured: administered activity x the radiopharmaceutical's mSv/MBq (seed
         radiopharmaceutical_dose_coefficients, ICRP 128 and others), matched by the
         radiopharmaceutical's ZTX code, else by the examination code;
      3. imputed: a code with a per-quantity coefficient but no usable measured dose takes its code's
         mean measured effective dose of the year;
      4. typical: the typical effective dose per examination of its group (seed
         typical_effective_doses, RP 154/RP 180 top-20 groups and national surveys);
      5. none: counted, no dose.
    examination_group is the typical_effective_doses group the code falls in ('other' when none).
    A year's rows depend only on that year's examinations and doses (the imputed mean is per year):
    partitioned by year (macros/build_partitions.sql). -#}
with examinations as (
    select * from {{ build_partition_input('int_deliveries__imaging_examinations') }} where is_ionising
),

codes as (
    select distinct procedure_code from examinations
),

code_coefficients as (
    -- match the (few) distinct codes, not every examination, against the patterns
    select c.procedure_code, k.coefficient_id, k.dose_type, k.coefficient
    from codes as c
    inner join
        {{ ref('effective_dose_coefficients') }} as k
        on regexp_matches(c.procedure_code, k.procedure_code_regex)
),

code_typical as (
    select procedure_code, examination_group, effective_dose_msv as typical_effective_dose_msv
    from (
        select
            c.procedure_code,
            t.examination_group,
            t.effective_dose_msv,
            row_number() over (partition by c.procedure_code order by t.examination_group) as preference
        from codes as c
        inner join {{ ref('typical_effective_doses') }} as t
            on regexp_matches(c.procedure_code, t.procedure_code_regex)
    ) as ranked
    where preference = 1
),

doses as (
    select d.*, e.procedure_code
    from {{ build_partition_input('int_deliveries__examination_doses') }} as d
    inner join examinations as e on e.examination_id = d.examination_id
),

by_coefficient as (
    select d.examination_id, k.coefficient_id as preference, d.value * k.coefficient as effective_dose_msv
    from doses as d
    inner join code_coefficients as k on k.procedure_code = d.procedure_code and k.dose_type = d.dose_type
    where d.value is not null
),

by_radiopharmaceutical as (
    select
        d.examination_id,
        'z:'
        || case when r.ztx_code = d.radiopharmaceutical_code then '1' else '2' end
        || r.radiopharmaceutical
            as preference,
        d.value * r.msv_per_mbq as effective_dose_msv
    from doses as d
    inner join {{ ref('radiopharmaceutical_dose_coefficients') }} as r
        on
            r.ztx_code = d.radiopharmaceutical_code
            or (
                r.procedure_code_regex is not null
                and regexp_matches(d.procedure_code, r.procedure_code_regex)
            )
    where d.dose_type = 'ADMINISTERED_ACTIVITY' and d.value is not null
),

measured as (
    -- one estimate per examination: effective_dose_coefficients ('<id>') before radiopharmaceuticals ('z:')
    select examination_id, effective_dose_msv
    from (
        select *, row_number() over (partition by examination_id order by preference) as rank_of_estimate
        from (
            select * from by_coefficient
            union all
            select * from by_radiopharmaceutical
        ) as estimates
    ) as ranked
    where rank_of_estimate = 1
),

with_measured as (
    select
        e.examination_id,
        e.year,
        e.procedure_code,
        e.modality_group,
        coalesce(t.examination_group, 'other') as examination_group,
        k.procedure_code is not null as has_coefficient,
        m.effective_dose_msv as measured_msv,
        t.typical_effective_dose_msv
    from examinations as e
    left join
        (select distinct procedure_code from code_coefficients) as k
        on k.procedure_code = e.procedure_code
    left join code_typical as t on t.procedure_code = e.procedure_code
    left join measured as m on m.examination_id = e.examination_id
),

estimated as (
    select
        *,
        avg(measured_msv) over (partition by year, procedure_code) as code_mean_msv
    from with_measured
)

select
    examination_id,
    year,
    examination_group,
    has_coefficient or measured_msv is not null as has_coefficient,
    measured_msv is not null as has_measured_dose,
    case
        when measured_msv is not null then measured_msv
        when has_coefficient and code_mean_msv is not null then code_mean_msv
        else typical_effective_dose_msv
    end as effective_dose_msv,
    case
        when measured_msv is not null then 'measured'
        when has_coefficient and code_mean_msv is not null then 'imputed'
        when typical_effective_dose_msv is not null then 'typical'
        else 'none'
    end as dose_source
from estimated

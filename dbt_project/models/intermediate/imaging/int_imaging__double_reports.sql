{{ config(**incremental_by_year(stage='imaging_facts')) }}
{#- One row per image-guided procedure reported twice (docs/domain.md section 4): an NCRP intervention
    examination in raa and an NCSP/NCMP procedure with a ZXM code in ord, same institution, same
    person, same day, and the same procedure: the NCRP code without its guidance letter equals the
    NCSP code, or ncrp_ncsp_equivalents maps one to the other. Pairs are one-to-one (the first
    candidate on each side in key order). The raa examination is kept; the ord one is flagged.
    Partitioned by the year of the examinations' day (stage imaging_facts): a pair lies within one. -#}
with examinations as (
    select *
    from
        {{ build_partition_input('int_imaging__examinations', column=examination_year('examination_date')) }}
),

interventions as (
    select e.*
    from examinations as e
    inner join {{ ref('int_procedure_codes') }} as c
        on c.procedure_code = e.procedure_code and c.is_intervention_code
    where e.source_module = 'raa'
),

guided as (
    select * from examinations where source_module = 'ord'
),

candidates as (
    select
        r.examination_id as kept_examination_id,
        o.examination_id as double_examination_id,
        r.institution_orgnr,
        {{ examination_year('r.examination_date') }} as year
    from interventions as r
    inner join guided as o
        on
            o.institution_orgnr = r.institution_orgnr
            and o.person_key = r.person_key
            and o.examination_date = r.examination_date
    left join {{ ref('ncrp_ncsp_equivalents') }} as m
        on m.ncrp_code = r.procedure_code and m.ncsp_code = o.procedure_code
    where substring(r.procedure_code, 1, 5) = o.procedure_code or m.ncrp_code is not null
),

ranked as (
    select
        *,
        row_number() over (partition by kept_examination_id order by double_examination_id) as rank_kept,
        row_number() over (partition by double_examination_id order by kept_examination_id) as rank_double
    from candidates
)

select institution_orgnr, kept_examination_id, double_examination_id, year
from ranked
where rank_kept = 1 and rank_double = 1

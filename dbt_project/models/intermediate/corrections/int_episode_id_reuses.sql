{#- Finding episode_id_reused (docs/messages.md section 8): one row per later incarnation of an
    episode id, i.e. a delivery that came back for another patient, or in a file whose period does not
    cover the earlier version's day. A sender error, counted in the completeness delivery; both
    incarnations count (int_episode_versions). -#}
with versions as (
    select * from {{ ref('int_episode_versions') }}
),

first_deliveries as (
-- the delivery that started each incarnation
    {{ keep_first('versions',
        ['module', 'institution_orgnr', 'episode_id', 'incarnation_no'], ['file_seq']) }}
)

select
    n.module,
    n.institution_orgnr,
    n.episode_id,
    n.incarnation_no,
    n.episode_key,
    n.file_id,
    n.episode_date,
    p.file_id as previous_file_id,
    p.episode_date as previous_episode_date,
    'episode_id_reused' as finding_class,
    case
        when coalesce(n.patient_local_id, '') <> coalesce(p.patient_local_id, '') then 'another_patient'
        else 'outside_period'
    end as reuse_kind
from first_deliveries as n
inner join first_deliveries as p
    on
        p.module = n.module and p.institution_orgnr = n.institution_orgnr
        and p.episode_id = n.episode_id and p.incarnation_no = n.incarnation_no - 1
where n.incarnation_no > 1

{#- Shared rules of the radiotherapy quality tables (rhf_rt_fractionation, rhf_rt_eqd2): they publish
    numbers of series that are part of a number rhf_rt_activity publishes. -#}

{#- The unique patients behind a count of series (`patients`, the count `value`) of a cell of
    rhf_rt_activity's grain, for suppress_small_cells: where rhf_rt_activity blanked that cell's
    n_series (or removed the cell) while the count is not zero, 1 instead, so the count is protected
    (1 is always within 1..small_cell_max_patients when suppression is on) and takes its margins
    with it. `published` is true where rhf_rt_activity publishes the cell's n_series (macro
    rt_activity_published_series). A count equal to a blanked number of the same delivery must be
    blanked too, or it reveals it (docs/domain.md section 7). -#}
{% macro patients_unless_blanked_in_activity(patients, value, published) -%}
    case when coalesce({{ published }}, false) or {{ value }} = 0 then {{ patients }} else 1 end
{%- endmacro %}

{#- rhf_rt_activity's cells (year x RHF x HF x diagnosis group x intent) with whether their n_series is
    published. Emits a select statement. -#}
{% macro rt_activity_published_series() -%}
    select year, rhf_name, hf_name, diagnosis_group, intent, n_series is not null as is_published
    from {{ ref('rhf_rt_activity') }}
{%- endmacro %}

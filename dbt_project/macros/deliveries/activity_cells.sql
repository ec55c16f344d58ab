{#- The cells (unsuppressed numbers with the unique patients behind each) of the activity tables, at
    any grain: one definition for the table of the detail and the table of its trend. -#}

{#- Imaging activity (docs/domain.md section 1) grouped by `keys`, a subset of year, month,
    region_basis, rhf_name, hf_name, is_private_provider, modality. region_basis 'provider': every
    examination under the RHF and HF of the reporting institution; 'residence': the private
    institutes' examinations again, under the patient's RHF of residence. Non-ionising examinations
    are the hidden remainder of n_examinations. In a year-partitioned model, the cells of its build
    years widened by years_before/years_after (build_partition_input). Emits a select statement. -#}
{% macro imaging_activity_cells(keys, years_before=0, years_after=0) -%}
    select
        {{ keys | join(', ') }},
        count(*) as n_examinations,
        count(*) filter (where is_ionising) as n_ionising_examinations,
        count(distinct person_key) filter (where is_ionising) as n_ionising_examinations__patients,
        count(*) filter (where not is_ionising) as n_non_ionising_examinations,
        count(distinct person_key) filter (where not is_ionising) as n_non_ionising_examinations__patients,
        count(distinct person_key) as n_patients
    from (
        select
            year,
            month,
            'provider' as region_basis,
            rhf_name,
            hf_name,
            is_private_provider,
            modality,
            is_ionising,
            person_key
        from {{ build_partition_input('int_deliveries__imaging_examinations', years_before=years_before, years_after=years_after) }}
        union all
        select
            year,
            month,
            'residence' as region_basis,
            residence_rhf_name as rhf_name,
            hf_name,
            is_private_provider,
            modality,
            is_ionising,
            person_key
        from {{ build_partition_input('int_deliveries__imaging_examinations', years_before=years_before, years_after=years_after) }}
        where is_private_provider
    ) as examinations
    group by {{ keys | join(', ') }}
{%- endmacro %}

{#- The measures of imaging_activity_cells for suppress_small_cells. -#}
{% macro imaging_activity_measures() -%}
    {{ return({
        'n_examinations': 'n_patients',
        'n_ionising_examinations': 'n_ionising_examinations__patients',
        'n_non_ionising_examinations': 'n_non_ionising_examinations__patients',
        'n_patients': 'n_patients'}) }}
{%- endmacro %}

{#- The margins of imaging activity per `period` (['year', 'month'] or ['year']), `keys` the cells' keys:
    each HF's modalities, each RHF's HFs per modality, the whole period, a private institute's
    'residence' rows (adding up to its 'provider' row), and within the row the ionising examinations
    and their non-ionising remainder. -#}
{% macro imaging_activity_margins(period, keys) -%}
    {%- set examinations = "case when measure like 'n_%examinations' then 1 end" -%}
    {{ return([
        period + ['region_basis', 'rhf_name', 'hf_name', 'measure'],
        period + ['region_basis', 'rhf_name', 'modality', 'measure'],
        period + ['region_basis', 'measure'],
        period + ['case when is_private_provider then hf_name end', 'modality', 'measure'],
        keys + [examinations]]) }}
{%- endmacro %}

{#- The margin of a year's months: a cell's examinations over the months of the year add up to the
    yearly number that rhf_imaging_activity_trend publishes (patients do not add up over months). -#}
{% macro imaging_activity_year_margin() -%}
    {{ return(['year', 'region_basis', 'rhf_name', 'hf_name', 'modality', 'measure',
        "case when measure like 'n_%examinations' then 1 end"]) }}
{%- endmacro %}

{#- Radiotherapy activity (Helsedirektoratet's overall activity, docs/domain.md section 3) grouped by
    `keys`, a subset of year, rhf_name, hf_name, diagnosis_group, intent. Patients count once per year
    (by series start) and diagnosis, in the cell of their first series; a patient number at a coarser
    grain is the sum of the detail cells' (a person in two cells counts in both), and its __patients
    column the unique persons behind it. Series in the year they start; attendances (WEOA/WEOB/WEOC) in
    the year they happen, by care level (3 outpatient, 8 outpatient contact for an inpatient); not-new
    patients and attendances of other care levels are the hidden remainders. Emits a select statement. -#}
{% macro rt_activity_cells(keys) -%}
    {%- set cell = "row(person_key, hf_name, diagnosis_group, intent)" -%}
    {%- set patient_counts = {
        'n_patients': 'counts_as_patient',
        'n_new_patients': 'counts_as_patient and is_new_patient',
        'n_not_new_patients': 'counts_as_patient and not is_new_patient'} -%}
    {%- set attendance_counts = {
        'n_attendances': 'true',
        'n_attendances_outpatient': "care_level = '3'",
        'n_attendances_inpatient': "care_level = '8'",
        'n_attendances_other': "care_level not in ('3', '8') or care_level is null"} -%}
    select
        {% for k in keys %}coalesce(s.{{ k }}, a.{{ k }}) as {{ k }},
        {% endfor -%}
        {%- for name in patient_counts %}
        coalesce(s.{{ name }}, 0) as {{ name }},
        coalesce(s.{{ name }}__patients, 0) as {{ name }}__patients,
        {%- endfor %}
        coalesce(s.n_series, 0) as n_series,
        coalesce(s.n_series__patients, 0) as n_series__patients,
        {%- for name in attendance_counts %}
        coalesce(a.{{ name }}, 0) as {{ name }},
        coalesce(a.{{ name }}__patients, 0) as {{ name }}__patients{% if not loop.last %},{% endif %}
        {%- endfor %}
    from (
        select
            {{ keys | join(', ') }},
            {%- for name, condition in patient_counts.items() %}
            count(distinct {{ cell }}) filter (where {{ condition }}) as {{ name }},
            count(distinct person_key) filter (where {{ condition }}) as {{ name }}__patients,
            {%- endfor %}
            count(*) as n_series,
            count(distinct person_key) as n_series__patients
        from {{ ref('int_deliveries__rt_series') }}
        group by {{ keys | join(', ') }}
    ) as s
    full outer join (
        select
            {{ keys | join(', ') }},
            {%- for name, condition in attendance_counts.items() %}
            count(*) filter (where {{ condition }}) as {{ name }},
            count(distinct person_key) filter (where {{ condition }}) as {{ name }}__patients{% if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ ref('int_deliveries__rt_attendances') }}
        group by {{ keys | join(', ') }}
    ) as a using ({{ keys | join(', ') }})
{%- endmacro %}

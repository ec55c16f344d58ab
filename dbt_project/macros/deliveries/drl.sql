{#- The diagnostic reference level method of ICRP Publication 135 (docs/domain.md section 5), one place for
    every DRL table (dsa_drl: standard adults; dsa_drl_paediatric: by age band). -#}

{#- Emits CTE definitions (to follow `with`, or a CTE and a comma) ending in a CTE named `name`: one row
    per group of `keys` (e.g. year x examination code x dose type) of the facility typical values in
    `facility_values` (one row per facility and group with unit, facility_id, n_examinations, median,
    meets_minimum, n_examinations_excluded, n_records_excluded_implausible; as
    int_deliveries__facility_typical_values), with
      n_facilities, n_examinations      the facilities that meet the minimum sample and the
                                         examinations behind their medians;
      n_facilities_below_minimum        the facilities with a typical value but too small a sample;
      p25, p50, p75                      of the qualifying facilities' medians (quantile_cont: linear
                                         interpolation); P75 is the national DRL, P50 the achievable dose;
      p75_ci_low, p75_ci_high            a percentile bootstrap 95 % interval for P75:
                                         delivery_param('drl_bootstrap_resamples') resamples of the
                                         facility medians, each draw's index from an md5 hash of (seed,
                                         group, resample, draw), so the interval is the same for the same
                                         inputs and seed;
      is_published                       n_facilities >= delivery_param('drl_min_facilities'); below it the
                                         row is kept with the percentiles and the interval null;
      n_examinations_excluded, n_records_excluded_implausible
                                         over every facility of the group (never in a median);
      min_facilities, bootstrap_resamples, bootstrap_seed
                                         the parameters the build used.
    A group has a row when a facility meets the minimum; with keep_groups_without_facilities, every
    group with a facility typical value has one (n_facilities 0, unpublished). -#}
{% macro drl_national(facility_values, keys, name='drl', keep_groups_without_facilities=false) -%}
    {%- set resamples = delivery_param('drl_bootstrap_resamples') -%}
    {%- set seed = delivery_param('drl_bootstrap_seed') -%}
    {%- set min_facilities = delivery_param('drl_min_facilities') -%}
    {%- set group_by = keys | join(', ') -%}
    drl_facilities as (
        select
            {{ group_by }}, unit, facility_id, n_examinations, median,
            row_number() over (partition by {{ group_by }} order by facility_id) - 1 as idx
        from {{ facility_values }}
        where meets_minimum
    ),

    drl_percentiles as (
        select
            {{ group_by }},
            min(unit) as unit,
            count(*) as n_facilities,
            sum(n_examinations) as n_examinations,
            quantile_cont(median, 0.25) as p25,
            quantile_cont(median, 0.50) as p50,
            quantile_cont(median, 0.75) as p75
        from drl_facilities
        group by {{ group_by }}
    ),

    drl_draw_slots as (
        select
            {% for k in keys %}g.{{ k }}, {% endfor %}g.n_facilities, r.resample,
            unnest(range(g.n_facilities)) as draw
        from drl_percentiles as g
        cross join range({{ resamples }}) as r (resample)
    ),

    drl_draws as (
        -- pseudo-random index in [0, n): the first 12 hex digits of an md5, reduced modulo n
        select
            {{ group_by }}, resample,
            cast(('0x' || left(md5(concat_ws(
                '|', '{{ seed }}', {{ group_by }}, resample, draw
            )), 12)) as bigint) % n_facilities as idx
        from drl_draw_slots
    ),

    drl_resampled as (
        select {% for k in keys %}dr.{{ k }}, {% endfor %}dr.resample, quantile_cont(f.median, 0.75) as p75
        from drl_draws as dr
        inner join drl_facilities as f
            on {% for k in keys %}f.{{ k }} = dr.{{ k }} and {% endfor %}f.idx = dr.idx
        group by {% for k in keys %}dr.{{ k }}, {% endfor %}dr.resample
    ),

    drl_interval as (
        select
            {{ group_by }},
            quantile_cont(p75, 0.025) as p75_ci_low,
            quantile_cont(p75, 0.975) as p75_ci_high
        from drl_resampled
        group by {{ group_by }}
    ),

    drl_groups as (
        -- every facility of the group, qualifying or not: what it leaves out of the medians
        select
            {{ group_by }},
            min(unit) as unit,
            count(*) filter (where not meets_minimum) as n_facilities_below_minimum,
            sum(n_examinations_excluded) as n_examinations_excluded,
            sum(n_records_excluded_implausible) as n_records_excluded_implausible
        from {{ facility_values }}
        group by {{ group_by }}
    ),

    {{ name }} as (
        select
            {{ group_by }},
            coalesce(n.unit, x.unit) as unit,
            coalesce(n.n_facilities, 0) as n_facilities,
            coalesce(x.n_facilities_below_minimum, 0) as n_facilities_below_minimum,
            coalesce(n.n_examinations, 0) as n_examinations,
            coalesce(n.n_facilities, 0) >= {{ min_facilities }} as is_published,
            case when n.n_facilities >= {{ min_facilities }} then n.p25 end as p25,
            case when n.n_facilities >= {{ min_facilities }} then n.p50 end as p50,
            case when n.n_facilities >= {{ min_facilities }} then n.p75 end as p75,
            case when n.n_facilities >= {{ min_facilities }} then i.p75_ci_low end as p75_ci_low,
            case when n.n_facilities >= {{ min_facilities }} then i.p75_ci_high end as p75_ci_high,
            {{ min_facilities }} as min_facilities,
            coalesce(x.n_examinations_excluded, 0) as n_examinations_excluded,
            coalesce(x.n_records_excluded_implausible, 0) as n_records_excluded_implausible,
            {{ resamples }} as bootstrap_resamples,
            {{ seed }} as bootstrap_seed
        {%- if keep_groups_without_facilities %}
        from drl_groups as x
        left join drl_percentiles as n using ({{ group_by }})
        {%- else %}
        from drl_percentiles as n
        left join drl_groups as x using ({{ group_by }})
        {%- endif %}
        left join drl_interval as i using ({{ group_by }})
    )
{%- endmacro %}

{#- One row per facility x `keys` (year, examination code, dose type and any band of `examinations`)
    of the examinations in `examinations` (columns of int_deliveries__imaging_examinations, filtered
    to the population of the DRL): the facility's typical value, the median over its examinations of
    each examination's dose (the sum of its records of the quantity: int_deliveries__examination_doses),
    and whether it has the minimum sample to enter the national value (delivery_param
    'drl_min_patients', or 'drl_min_patients_interventional' for interventions). An examination
    whose dose of the quantity has an excluded record stays out of the median and is counted in
    n_examinations_excluded. Emits a select statement. -#}
{% macro drl_facility_typical_values(examinations, doses, keys=['year', 'procedure_code', 'dose_type']) -%}
    {%- set min_patients = delivery_param('drl_min_patients') -%}
    {%- set min_patients_interventional = delivery_param('drl_min_patients_interventional') -%}
    {%- set group_by = (keys[:1] + ['facility_id'] + keys[1:]) | join(', ') -%}
    select
        {{ group_by }},
        min(institution_orgnr) as institution_orgnr,
        min(unit) as unit,
        bool_or(is_interventional) as is_interventional,
        count(*) filter (where value is not null) as n_examinations,
        count(distinct person_key) filter (where value is not null) as n_patients,
        count(*) filter (where value is null) as n_examinations_excluded,
        coalesce(sum(n_records_implausible), 0) as n_records_excluded_implausible,
        quantile_cont(value, 0.5) as median,
        case when bool_or(is_interventional) then {{ min_patients_interventional }}
            else {{ min_patients }}
        end as min_patients,
        count(distinct person_key) filter (where value is not null)
        >= case when bool_or(is_interventional) then {{ min_patients_interventional }}
            else {{ min_patients }}
        end as meets_minimum
    from (
        select
            e.*,
            d.dose_type,
            d.unit,
            d.value,
            d.n_records_implausible
        from {{ doses }} as d
        inner join {{ examinations }} as e on e.examination_id = d.examination_id
    ) as examination_doses
    group by {{ group_by }}
{%- endmacro %}

{#- The paediatric age band of an age (years: year of activity - birth year), from the delivery parameter
    drl_paediatric_age_bands, a list of [first, last] age pairs (default 0, 1-4, 5-9, 10-14): '0' for
    a band of one year, else '<first>-<last>'; null outside every band. -#}
{% macro paediatric_age_band(age) -%}
    {%- set bands = delivery_param('drl_paediatric_age_bands') -%}
    {%- set ns = namespace(previous=-1) -%}
    {%- for band in bands -%}
        {%- if band | length != 2 or band[0] > band[1] or band[0] <= ns.previous -%}
            {{ exceptions.raise_compiler_error(
                "drl_paediatric_age_bands must be ascending, non-overlapping [first, last] age pairs, got "
                ~ bands) }}
        {%- endif -%}
        {%- set ns.previous = band[1] -%}
    {%- endfor -%}
    case
    {%- for band in bands %}
        when {{ age }} between {{ band[0] }} and {{ band[1] }}
            then '{{ band[0] if band[0] == band[1] else band[0] ~ "-" ~ band[1] }}'
    {%- endfor %}
    end
{%- endmacro %}


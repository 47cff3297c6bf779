{#-
    disclosure_visit: one visit of one additive group in secondary suppression (docs/indicators.md), as two CTEs
    <name>_1 and <name>_2 over the CTE `previous`. `previous` holds one row per cell of ENT_RD_EXPENDITURE /
    ENT_RD_PERSONNEL with indicator_code, period, region_code, dimension, member, value, conf_status, the boolean
    columns in_street_group and in_industry_group, protection_percent (the disclosure_rules seed) and is_picked
    (true for the cell the visit before picked: it becomes `D` here). <name>_2 has the same columns, with is_picked
    true for the one cell this visit withholds (disclosure_apply turns it into `D` after the last visit).

    A group (per indicator and year) needs one more withheld cell when it has exactly one withheld cell (the
    target), or when a primary cell (A/O) is worth more than 100 / protection_percent times the sum of the
    group's other withheld cells: v × p > (S − v) × 100, i.e. v × (p + 100) > S × 100 with S the sum of the
    group's withheld cells, which holds for some primary cell exactly when it holds for the largest (the target).
    It then withholds the smallest free cell worth at least protection_percent % of the target, or failing that
    the largest free cell; ties by region_code, then member.
    Two CTEs, each reading only the one before it, so an unrolled chain of visits stays linear and shallow (Spark's
    analyser resolves a plan in a bounded number of passes).
-#}
{% macro disclosure_visit(name, previous, group_column) %}
{{ name }}_1 as (
    select
        indicator_code,
        period,
        region_code,
        dimension,
        member,
        value,
        case when is_picked then 'D' else conf_status end as conf_status,
        in_street_group,
        in_industry_group,
        protection_percent,
        sum(case when {{ group_column }} and (is_picked or conf_status <> 'F') then 1 else 0 end) over (
            partition by indicator_code, period, {{ group_column }}
        ) as group_withheld_cells,
        sum(case when {{ group_column }} and (is_picked or conf_status <> 'F') then value else 0 end) over (
            partition by indicator_code, period, {{ group_column }}
        ) as group_withheld_sum,
        max(case when {{ group_column }} and conf_status in ('A', 'O') then value end) over (
            partition by indicator_code, period, {{ group_column }}
        ) as group_largest_primary
    from {{ previous }}
),

{{ name }}_2 as (
    select
        indicator_code,
        period,
        region_code,
        dimension,
        member,
        value,
        conf_status,
        in_street_group,
        in_industry_group,
        protection_percent,
        {%- set target %}
            case
                when group_withheld_cells = 1 then group_withheld_sum
                when group_largest_primary * (protection_percent + 100) > group_withheld_sum * 100
                    then group_largest_primary
            end
        {%- endset %}
        {%- set is_candidate = group_column ~ " and conf_status = 'F' and " ~ target ~ " is not null" %}
        coalesce({{ is_candidate }}, false)
        -- candidates worth at least protection_percent % of the target first, smallest first; else largest first
        and row_number() over (
            partition by indicator_code, period, coalesce({{ is_candidate }}, false)
            order by
                case when value * 100 >= {{ target }} * protection_percent then 0 else 1 end,
                case when value * 100 >= {{ target }} * protection_percent then value else -value end,
                region_code,
                member
        ) = 1 as is_picked
    from {{ name }}_1
)
{% endmacro %}

{#- disclosure_apply: the state after the last visit, its picked cell withheld as `D` -#}
{% macro disclosure_apply(previous) %}
    select
        indicator_code,
        period,
        region_code,
        dimension,
        member,
        value,
        case when is_picked then 'D' else conf_status end as conf_status
    from {{ previous }}
{% endmacro %}

{#- disclosure_rounds: rounds first … last of secondary suppression (each the street group's visit, then the industry
    group's) over the CTE `start`, as CTEs followed by a comma; the last state is round_<last>_industry_2 -#}
{% macro disclosure_rounds(start, first, last) %}
    {%- for round in range(first, last + 1) %}
        {%- set before = start if round == first else 'round_' ~ (round - 1) ~ '_industry_2' %}
        {{ disclosure_visit('round_' ~ round ~ '_street', before, 'in_street_group') }},
        {{ disclosure_visit('round_' ~ round ~ '_industry', 'round_' ~ round ~ '_street_2', 'in_industry_group') }},
    {%- endfor %}
{% endmacro %}

{#- disclosure_state: the cells of `relation` (key, value, conf_status of ENT_RD_EXPENDITURE / ENT_RD_PERSONNEL)
    as the state a visit reads: the two groups (the district total is in both), the protection from `rules`, and
    nothing picked yet -#}
{% macro disclosure_state(relation, rules) %}
    {%- set district_code = var('district_code', '430406') %}
    select
        cells.indicator_code,
        cells.period,
        cells.region_code,
        cells.dimension,
        cells.member,
        cells.value,
        cells.conf_status,
        cells.dimension = 'total' as in_street_group,
        cells.region_code = '{{ district_code }}' as in_industry_group,
        rules.protection_percent,
        false as is_picked
    from {{ relation }} as cells
    cross join {{ rules }} as rules
    where cells.indicator_code in ('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL')
{% endmacro %}

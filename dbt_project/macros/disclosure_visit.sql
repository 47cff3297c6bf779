{#-
    disclosure_visit: one visit of one additive group in secondary suppression (docs/indicators.md), as a chain of
    CTEs named <name>_1 … <name>_4 over the CTE `previous`; <name>_4 is the new state, with the columns of `previous`.
    `previous` holds one row per cell of ENT_RD_EXPENDITURE / ENT_RD_PERSONNEL with indicator_code, period,
    region_code, dimension, member, value, conf_status and the boolean columns in_street_group, in_industry_group;
    `protection_percent` is a column of it too (from the disclosure_rules seed).
    A group (per indicator and year) needs one more withheld cell when it has exactly one withheld cell (the
    target), or when a primary cell (A/O) is worth more than 100 / protection_percent times the sum of the group's
    other withheld cells (the target is the largest such cell). It then withholds, as `D`, the smallest free cell
    worth at least protection_percent % of the target, or failing that the largest free cell; ties by
    region_code, then member. Each CTE reads only the one before it, so a chain of visits stays linear.
-#}
{% macro disclosure_visit(name, previous, group_column) %}
{{ name }}_1 as (
    select
        *,
        sum(case when {{ group_column }} and conf_status <> 'F' then 1 else 0 end) over (
            partition by indicator_code, period, {{ group_column }}
        ) as group_withheld_cells,
        sum(case when {{ group_column }} and conf_status <> 'F' then value else 0 end) over (
            partition by indicator_code, period, {{ group_column }}
        ) as group_withheld_sum
    from {{ previous }}
),

{{ name }}_2 as (
    select
        *,
        case
            when group_withheld_cells = 1 then group_withheld_sum
            else max(
                case
                    when
                        {{ group_column }}
                        and conf_status in ('A', 'O')
                        and value * protection_percent > (group_withheld_sum - value) * 100
                        then value
                end
            ) over (partition by indicator_code, period, {{ group_column }})
        end as group_target_value
    from {{ name }}_1
),

{{ name }}_3 as (
    select
        *,
        {{ group_column }} and conf_status = 'F' and group_target_value is not null as is_candidate,
        -- candidates worth at least protection_percent % of the target first, smallest first; else largest first
        row_number() over (
            partition by
                indicator_code,
                period,
                {{ group_column }} and conf_status = 'F' and group_target_value is not null
            order by
                case when value * 100 >= group_target_value * protection_percent then 0 else 1 end,
                case when value * 100 >= group_target_value * protection_percent then value else -value end,
                region_code,
                member
        ) as candidate_rank
    from {{ name }}_2
),

{{ name }}_4 as (
    select
        indicator_code,
        period,
        region_code,
        dimension,
        member,
        value,
        case when is_candidate and candidate_rank = 1 then 'D' else conf_status end as conf_status,
        in_street_group,
        in_industry_group,
        protection_percent
    from {{ name }}_3
)
{% endmacro %}

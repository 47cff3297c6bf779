-- int_plan_target_actuals.sql: the annual actual of every measure a plan target can be compared with, per
-- region and year: the current annual total/total value of each statistics, derived and ENT_* indicator, and
-- INNOVATIVE_BACKBONE_ENTERPRISES. Built from the int_ models, not marts.indicator_values, to avoid a cycle.
-- RF04 is waived inline: value, source and level are column names fixed by the published contract.
{#- 创新型骨干企业 (innovative backbone enterprise), our measurable reading of the plan's term: certified high-tech,
    研发费用 of at least 300万元, and 研发费用 at least 3% of 主营业务收入 (the lowest 高企认定 intensity band). #}
{%- set backbone_min_rd_expense_wan_yuan = 300 %}
{%- set backbone_min_rd_intensity = 0.03 %}

with indicator_values as (
    select * from {{ ref('int_indicator_values__statistics') }}
    union all
    select * from {{ ref('int_indicator_values__derived_ratios') }}
    union all
    select * from {{ ref('int_indicator_values__enterprise_rd') }}
),

indicator_actuals as (
    select
        indicator_code as measure_code,
        region_code,
        period,
        value,
        unit
    from indicator_values
    where
        period_type = 'year'
        and dimension = 'total'
        and member = 'total'
),

-- 创新型骨干企业: an enterprise whose current filing of the year holds a high-tech certificate, reports R&D
-- expense of at least 300万元 and R&D expense of at least 3% of main business revenue (revenue > 0).
-- Counted for the district, over all its streets.
backbone_enterprises as (
    select
        'INNOVATIVE_BACKBONE_ENTERPRISES' as measure_code,
        '{{ var("district_code", "430406") }}' as region_code,
        cast(filing_year as {{ dbt.type_string() }}) as period,
        cast(count(distinct case
            when
                has_ht_certificate
                and rd_expense_wan_yuan >= {{ backbone_min_rd_expense_wan_yuan }}
                and revenue_wan_yuan > 0
                and rd_expense_wan_yuan >= {{ backbone_min_rd_intensity }} * revenue_wan_yuan
                then credit_code
        end) as double) as value,  -- noqa: RF04
        'count' as unit
    from {{ ref('int_rd_filings_current') }}
    group by filing_year
),

actuals as (
    select * from indicator_actuals
    union all
    select * from backbone_enterprises
),

final as (
    select
        cast(measure_code as {{ dbt.type_string() }}) as measure_code,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(period as {{ dbt.type_string() }}) as period,
        cast(value as double) as value,  -- noqa: RF04
        cast(unit as {{ dbt.type_string() }}) as unit
    from actuals
)

select * from final

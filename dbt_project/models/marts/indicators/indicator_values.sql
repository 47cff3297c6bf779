-- indicator_values.sql: the published figures, one row per indicator, region, period and breakdown.
-- Each area computes its own indicators in an int_indicator_values__<area> model of one shared shape;
-- this mart only stacks them, so every definition lives next to the data it is computed from.
with stacked as (
    select * from {{ ref('int_indicator_values__statistics') }}
    union all
    select * from {{ ref('int_indicator_values__derived_ratios') }}
    union all
    select * from {{ ref('int_indicator_values__enterprise_rd') }}
    union all
    select * from {{ ref('int_indicator_values__gov_services') }}
    union all
    select * from {{ ref('int_indicator_values__security') }}
),

typed as (
    select
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(period as {{ dbt.type_string() }}) as period,
        cast(period_type as {{ dbt.type_string() }}) as period_type,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(member as {{ dbt.type_string() }}) as member,
        cast(value as double) as value,
        cast(unit as {{ dbt.type_string() }}) as unit,
        -- SDMX CONF_STATUS (PUBLISHING.md §1): F free; A, O, D withheld. Disclosure control sets the codes.
        cast('F' as {{ dbt.type_string() }}) as conf_status
    from stacked
    -- a ratio with a zero or missing denominator is not published; nor is anything not finite
    where value is not null and {{ is_finite('value') }}
)

select * from typed

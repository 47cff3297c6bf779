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

-- disclosure control (docs/indicators.md): the code of every cell under control; every other cell is free
disclosure as (select * from {{ ref('int_disclosure_status') }}),

published as (
    select stacked.*
    from stacked
    -- a ratio with a zero or missing denominator is not published; nor is anything not finite
    where stacked.value is not null and {{ is_finite('stacked.value') }}
),

typed as (
    select
        cast(published.indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(published.region_code as {{ dbt.type_string() }}) as region_code,
        cast(published.period as {{ dbt.type_string() }}) as period,
        cast(published.period_type as {{ dbt.type_string() }}) as period_type,
        cast(published.dimension as {{ dbt.type_string() }}) as dimension,
        cast(published.member as {{ dbt.type_string() }}) as member,
        -- a withheld cell keeps its row, without its value
        cast(
            case when coalesce(disclosure.conf_status, 'F') = 'F' then published.value end as double
        ) as value,  -- noqa: RF04
        cast(published.unit as {{ dbt.type_string() }}) as unit,
        -- SDMX CONF_STATUS (PUBLISHING.md §1): F free; A (fewer than 3 enterprises), O (one enterprise over 85 %),
        -- D (secondary: withheld so that no other can be computed)
        cast(coalesce(disclosure.conf_status, 'F') as {{ dbt.type_string() }}) as conf_status
    from published
    left join disclosure
        on
            published.indicator_code = disclosure.indicator_code
            and published.region_code = disclosure.region_code
            and published.period = disclosure.period
            and published.dimension = disclosure.dimension
            and published.member = disclosure.member
)

select * from typed

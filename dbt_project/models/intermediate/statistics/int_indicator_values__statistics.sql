-- int_indicator_values__statistics.sql: the 13 statistics indicators as current values in the common
-- indicator_values shape. Annual and monthly periods as delivered: monthly flow values stay cumulative from
-- January (年初累计), never de-cumulated; stock values are month-end levels.
with current_values as (select * from {{ ref('int_statistics_values_current') }}),

shaped as (
    select
        indicator_code,
        region_code,
        period,
        period_type,
        cast('total' as {{ dbt.type_string() }}) as dimension,
        cast('total' as {{ dbt.type_string() }}) as member,
        value,
        unit
    from current_values
)

select * from shaped

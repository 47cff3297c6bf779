-- int_statistics_values_current.sql: the current value of each statistics key (region, indicator, period):
-- its latest delivered non-null value, with every column of int_statistics_vintages. A key whose every delivery
-- is "not available" has no row.
with vintages as (select * from {{ ref('int_statistics_vintages') }}),

current_values as (
    select * from vintages
    where is_current
)

select * from current_values

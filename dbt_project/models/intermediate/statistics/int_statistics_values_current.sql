-- int_statistics_values_current.sql: the current value of each statistics key (region, indicator, period):
-- its latest delivered non-null value. A key whose every delivery is "not available" has no row.
with vintages as (select * from {{ ref('int_statistics_vintages') }}),

current_values as (
    select
        region_code,
        indicator_code,
        period,
        period_type,
        value,
        unit,
        status,
        delivered_at,
        source_file,
        source_row,
        delivery_rank
    from vintages
    where is_current
)

select * from current_values

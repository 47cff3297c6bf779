-- indicator_vintages.sql: every value ever delivered for a statistics indicator (also repeats of the same
-- value and "not available" deliveries, as null), in base units, so one can see what was published when.
with vintages as (select * from {{ ref('int_statistics_vintages') }}),

final as (
    select
        indicator_code,
        region_code,
        period,
        value,
        status,
        delivered_at,
        source_file,
        period_type,
        source_row,
        delivery_rank,
        is_current,
        source_sheet,
        unit,
        period_delivered,
        value_delivered,
        unit_delivered
    from vintages
)

select * from final

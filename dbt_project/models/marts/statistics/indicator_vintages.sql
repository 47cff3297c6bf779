-- indicator_vintages.sql: every value ever delivered for a statistics indicator (also repeats of the same
-- value and "not available" deliveries, as null), in base units, so one can see what was published when.
-- Every column of int_statistics_vintages but is_latest_delivery; the published names, types and order are the
-- enforced contract in _statistics__models.yml (a contracted table is written in the contract's column order).
{%- set all_vintages = ref('int_statistics_vintages') %}

with vintages as (select * from {{ all_vintages }}),

final as (
    select {{ columns_of(all_vintages, except=['is_latest_delivery']) }}
    from vintages
)

select * from final

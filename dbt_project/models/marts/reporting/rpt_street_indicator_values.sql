-- rpt_street_indicator_values.sql: the street and town rows of rpt_indicator_values, with its columns and the
-- region named street_name (street_label: with a withheld cell's reason). Superset's row-level security limits a
-- street official to their street (region_code).
with indicator_values as (select * from {{ ref('rpt_indicator_values') }}),

final as (
    select * rename (region_name as street_name, region_label as street_label)
    from indicator_values
    where region_level in ('street', 'town')
)

select * from final  -- noqa: AM04

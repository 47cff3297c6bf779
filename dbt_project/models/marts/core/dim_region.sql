-- dim_region.sql: every region code a feed may use, with its level and parent, from the regions seed.
-- RF04 is waived inline: value, source and level are column names fixed by the published contract.
with regions as (select * from {{ ref('regions') }}),

final as (
    select
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(name_zh as {{ dbt.type_string() }}) as name_zh,
        cast(name_en as {{ dbt.type_string() }}) as name_en,
        cast(level as {{ dbt.type_string() }}) as level,  -- noqa: RF04
        cast(parent_code as {{ dbt.type_string() }}) as parent_code
    from regions
)

select * from final

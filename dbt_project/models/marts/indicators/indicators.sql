-- indicators.sql: the published catalogue of every indicator code, from the indicator_catalogue seed.
-- RF04 is waived inline: value, source and level are column names fixed by the published contract.
with catalogue as (select * from {{ ref('indicator_catalogue') }}),

final as (
    select
        cast(code as {{ dbt.type_string() }}) as code,
        cast(name_zh as {{ dbt.type_string() }}) as name_zh,
        cast(name_en as {{ dbt.type_string() }}) as name_en,
        cast(unit as {{ dbt.type_string() }}) as unit,
        cast(frequency as {{ dbt.type_string() }}) as frequency,
        cast(definition as {{ dbt.type_string() }}) as definition,
        cast(source as {{ dbt.type_string() }}) as source  -- noqa: RF04
    from catalogue
)

select * from final

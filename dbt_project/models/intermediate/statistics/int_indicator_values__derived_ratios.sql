-- int_indicator_values__derived_ratios.sql: the four year ratios derived from current annual statistics
-- values, for every region and year that has both parts. A missing part, or a zero denominator, gives no row.
-- RF04 is waived inline: value, source and level are column names fixed by the published contract.
with annual_values as (
    select * from {{ ref('int_statistics_values_current') }}
    where period_type = 'year'
),

parts as (
    select
        region_code,
        period,
        max(case when indicator_code = 'GDP' then value end) as gdp,
        max(case when indicator_code = 'RD_EXPENDITURE' then value end) as rd_expenditure,
        max(case when indicator_code = 'HT_VALUE_ADDED' then value end) as ht_value_added,
        max(case when indicator_code = 'INVENTION_PATENTS' then value end) as invention_patents,
        max(case when indicator_code = 'POPULATION' then value end) as population,
        max(case when indicator_code = 'FISCAL_ST_EXPENDITURE' then value end) as fiscal_st_expenditure,
        max(case when indicator_code = 'FISCAL_EXPENDITURE' then value end) as fiscal_expenditure
    from annual_values
    group by region_code, period
),

ratios as (
    select
        'RD_INTENSITY' as indicator_code,
        region_code,
        period,
        rd_expenditure / nullif(gdp, 0) as value,  -- noqa: RF04
        'ratio' as unit
    from parts

    union all

    select
        'HT_VA_SHARE' as indicator_code,
        region_code,
        period,
        ht_value_added / nullif(gdp, 0) as value,  -- noqa: RF04
        'ratio' as unit
    from parts

    union all

    select
        'PATENTS_PER_10K' as indicator_code,
        region_code,
        period,
        invention_patents / nullif(population / 10000.0, 0) as value,  -- noqa: RF04
        'per_10k' as unit
    from parts

    union all

    select
        'FISCAL_ST_SHARE' as indicator_code,
        region_code,
        period,
        fiscal_st_expenditure / nullif(fiscal_expenditure, 0) as value,  -- noqa: RF04
        'ratio' as unit
    from parts
),

shaped as (
    select
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        region_code,
        period,
        cast('year' as {{ dbt.type_string() }}) as period_type,
        cast('total' as {{ dbt.type_string() }}) as dimension,
        cast('total' as {{ dbt.type_string() }}) as member,
        cast(value as double) as value,  -- noqa: RF04
        cast(unit as {{ dbt.type_string() }}) as unit
    from ratios
    where value is not null
)

select * from shaped

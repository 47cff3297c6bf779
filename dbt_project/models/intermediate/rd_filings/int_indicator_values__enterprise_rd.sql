-- int_indicator_values__enterprise_rd.sql: the four ENT_* indicators over current filings, per 年度, for the
-- district total (district code, total/total), by street (the current filing's street code, total/total) and by
-- industry (district code, industry/所属产业). No street × industry cross.
-- RF04 is waived inline: value, source and level are column names fixed by the published contract.
{%- set district_code = var('district_code', '430406') %}

with current_filings as (select * from {{ ref('int_rd_filings_current') }}),

-- each current filing three times: in the district total, under its street, and under its industry
breakdowns as (
    select
        *,
        '{{ district_code }}' as region_code,
        'total' as dimension,
        'total' as member
    from current_filings

    union all

    select
        *,
        street_code as region_code,
        'total' as dimension,
        'total' as member
    from current_filings

    union all

    select
        *,
        '{{ district_code }}' as region_code,
        'industry' as dimension,
        industry as member
    from current_filings
),

-- money is summed as exact decimals (万元 with up to 6 decimals), so a total does not depend on summing order
aggregated as (
    select
        filing_year,
        region_code,
        dimension,
        member,
        sum(cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000) as rd_expense_yuan,
        sum(rd_personnel) as rd_personnel,
        sum(
            case when revenue_wan_yuan > 0 then cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000 end
        ) as intensity_rd_expense_yuan,
        sum(
            case when revenue_wan_yuan > 0 then cast(revenue_wan_yuan as decimal(38, 6)) * 10000 end
        ) as intensity_revenue_yuan,
        count(distinct case when has_ht_certificate then credit_code end) as certified_enterprises
    from breakdowns
    group by filing_year, region_code, dimension, member
),

indicators as (
    select
        'ENT_RD_EXPENDITURE' as indicator_code,
        filing_year,
        region_code,
        dimension,
        member,
        cast(rd_expense_yuan as double) as value,  -- noqa: RF04
        'yuan' as unit
    from aggregated

    union all

    select
        'ENT_RD_PERSONNEL' as indicator_code,
        filing_year,
        region_code,
        dimension,
        member,
        cast(rd_personnel as double) as value,  -- noqa: RF04
        'persons' as unit
    from aggregated

    union all

    select
        'ENT_RD_INTENSITY' as indicator_code,
        filing_year,
        region_code,
        dimension,
        member,
        cast(intensity_rd_expense_yuan as double)
        / nullif(cast(intensity_revenue_yuan as double), 0) as value,  -- noqa: RF04
        'ratio' as unit
    from aggregated

    union all

    select
        'ENT_HT_CERTIFIED' as indicator_code,
        filing_year,
        region_code,
        dimension,
        member,
        cast(certified_enterprises as double) as value,  -- noqa: RF04
        'count' as unit
    from aggregated
),

shaped as (
    select
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(filing_year as {{ dbt.type_string() }}) as period,
        cast('year' as {{ dbt.type_string() }}) as period_type,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(member as {{ dbt.type_string() }}) as member,
        value,
        cast(unit as {{ dbt.type_string() }}) as unit
    from indicators
    where value is not null
)

select * from shaped

-- int_disclosure_primary.sql: primary suppression (PUBLISHING.md §1, docs/indicators.md) of every cell under
-- disclosure control: ENT_RD_EXPENDITURE, ENT_RD_PERSONNEL and ENT_RD_INTENSITY, per 年度, for the district total,
-- by street and by industry (the cells of int_indicator_values__enterprise_rd). The contributors of a cell are the
-- enterprises whose current filing falls in it (for intensity only those with revenue > 0); a contribution is the
-- enterprise's 研发费用 (personnel: 研发人员). Fewer than min_contributors → `A`; else the dominance_n largest
-- contributions over dominance_k_percent % of the cell's sum → `O` (a sum of 0 is never `O`); else `F`.
{%- set district_code = var('district_code', '430406') %}

with current_filings as (select * from {{ ref('int_rd_filings_current') }}),

rules as (select * from {{ ref('disclosure_rules') }}),

-- each current filing in the district total, under its street, and under its industry (as the indicators do)
breakdowns as (
    select
        credit_code,
        filing_year,
        rd_expense_wan_yuan,
        rd_personnel,
        revenue_wan_yuan,
        '{{ district_code }}' as region_code,
        'total' as dimension,
        'total' as member
    from current_filings

    union all

    select
        credit_code,
        filing_year,
        rd_expense_wan_yuan,
        rd_personnel,
        revenue_wan_yuan,
        street_code as region_code,
        'total' as dimension,
        'total' as member
    from current_filings

    union all

    select
        credit_code,
        filing_year,
        rd_expense_wan_yuan,
        rd_personnel,
        revenue_wan_yuan,
        '{{ district_code }}' as region_code,
        'industry' as dimension,
        industry as member
    from current_filings
),

-- one row per contributor of a cell, its contribution as an exact decimal (money in yuan, personnel in persons)
contributions as (
    select
        'ENT_RD_EXPENDITURE' as indicator_code,
        filing_year,
        region_code,
        dimension,
        member,
        credit_code,
        cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000 as contribution
    from breakdowns

    union all

    select
        'ENT_RD_PERSONNEL' as indicator_code,
        filing_year,
        region_code,
        dimension,
        member,
        credit_code,
        cast(rd_personnel as decimal(38, 6)) as contribution
    from breakdowns

    union all

    select
        'ENT_RD_INTENSITY' as indicator_code,
        filing_year,
        region_code,
        dimension,
        member,
        credit_code,
        cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000 as contribution
    from breakdowns
    where revenue_wan_yuan > 0
),

-- largest first; equal contributions in a fixed order, so the n largest are always the same enterprises
ranked as (
    select
        *,
        row_number() over (
            partition by indicator_code, filing_year, region_code, dimension, member
            order by coalesce(contribution, 0) desc, credit_code asc
        ) as contribution_rank
    from contributions
),

cells as (
    select
        ranked.indicator_code,
        ranked.filing_year,
        ranked.region_code,
        ranked.dimension,
        ranked.member,
        cast(count(distinct ranked.credit_code) as bigint) as contributors,
        coalesce(sum(ranked.contribution), 0) as contribution_sum,
        coalesce(
            sum(case when ranked.contribution_rank <= rules.dominance_n then ranked.contribution end), 0
        ) as largest_contributions_sum,
        max(rules.min_contributors) as min_contributors,
        max(rules.dominance_k_percent) as dominance_k_percent
    from ranked
    cross join rules
    group by ranked.indicator_code, ranked.filing_year, ranked.region_code, ranked.dimension, ranked.member
),

classified as (
    select
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast(region_code as {{ dbt.type_string() }}) as region_code,
        cast(filing_year as {{ dbt.type_string() }}) as period,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(member as {{ dbt.type_string() }}) as member,
        contributors,
        cast(contribution_sum as double) as contribution_sum,
        cast(largest_contributions_sum as double) as largest_contributions_sum,
        cast(
            case
                when contributors < min_contributors then 'A'
                -- exact: n largest × 100 > k × sum, on decimals (k may carry decimals)
                when
                    largest_contributions_sum * 100
                    > cast(dominance_k_percent as decimal(9, 4)) * contribution_sum
                    then 'O'
                else 'F'
            end as {{ dbt.type_string() }}
        ) as primary_status
    from cells
)

select * from classified

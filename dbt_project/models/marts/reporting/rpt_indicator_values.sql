-- rpt_indicator_values.sql: every published indicator value with its Chinese indicator and region names, the
-- period as a date and year, the Chinese label of a breakdown member, and a ratio's change from the prior year in
-- percentage points. Values stay in base units (yuan, ratio 0–1, count): Superset's metrics convert them.
with indicator_values as (select * from {{ ref('indicator_values') }}),

indicators as (select * from {{ ref('indicators') }}),

regions as (select * from {{ ref('dim_region') }}),

member_labels as (
    {{ labels_of('incident_category') }}
),

named as (
    select
        indicator_values.indicator_code,
        indicators.name_zh as indicator_name,
        indicator_values.region_code,
        regions.name_zh as region_name,
        regions.level as region_level,
        indicator_values.period,
        indicator_values.period_type,
        substr(indicator_values.period, 1, 4) as year,  -- noqa: RF04
        case
            when indicator_values.period_type = 'month' then cast(substr(indicator_values.period, 6, 2) as integer)
        end as month_of_year,
        case
            when indicator_values.period_type = 'month' then cast(indicator_values.period || '-01' as date)
            else cast(indicator_values.period || '-01-01' as date)
        end as period_start,
        indicator_values.dimension,
        indicator_values.member,
        coalesce(member_labels.name_zh, indicator_values.member) as member_name,
        indicator_values.value,
        indicator_values.unit
    from indicator_values
    inner join indicators on indicator_values.indicator_code = indicators.code
    inner join regions on indicator_values.region_code = regions.region_code
    left join member_labels
        on indicator_values.dimension = 'category' and indicator_values.member = member_labels.code
),

final as (
    select
        *,
        -- a ratio's change from the prior year in percentage points (0.030 → 0.032 is +0.2 points, not +6.7 %);
        -- null without a value for the year before
        case
            when
                unit = 'ratio' and period_type = 'year'
                and lag(period) over prior = cast(cast(period as integer) - 1 as varchar)
                then (value - lag(value) over prior) * 100
        end as change_pp_from_prior_year
    from named
    window prior as (partition by indicator_code, region_code, period_type, dimension, member order by period)
)

select * from final

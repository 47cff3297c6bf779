-- int_indicator_values__gov_services.sql: the GS_* indicators in the shape of marts.indicator_values.
-- Month grain, region 430406 (the platform covers the whole district). Every indicator is published as a
-- district total and broken down by the department of the case's `submitted` event (dimension `department`);
-- a case without a known department counts in the total only. A ratio with a zero denominator gives no row.
with cases as (select * from {{ ref('int_gov_service_cases_assembled') }}),

-- Each statistic once per month for the district total and once per (month, department): a rollup reads the
-- cases once, where stacking every case twice (total, department) and aggregating the stack made DuckDB
-- materialise both copies with all their columns (3.2 s against 0.9 s of a city's daily run). The rollup's
-- grand total (no month) is dropped, and so are the department rows of cases without a department: in a select
-- around the rollup, since Spark cannot resolve grouping() in a `having`.
submitted_rollup as (
    select
        submitted_month as period,
        grouping(submitted_month) as month_rolled_up,
        case when grouping(department) = 1 then 'total' else 'department' end as dimension,
        case when grouping(department) = 1 then 'total' else department end as member,
        count(*) as cases_submitted,
        sum(case when is_online then 1 else 0 end) as cases_online
    from cases
    where submitted_at is not null
    group by rollup(submitted_month, department)
),

submitted_stats as (
    select * from submitted_rollup
    where month_rolled_up = 0 and member is not null
),

completed_rollup as (
    select
        completed_month as period,
        grouping(completed_month) as month_rolled_up,
        case when grouping(department) = 1 then 'total' else 'department' end as dimension,
        case when grouping(department) = 1 then 'total' else department end as member,
        count(*) as cases_completed,
        -- a completed case without `visits` stays in the denominator of both visit rates
        sum(case when is_one_visit then 1 else 0 end) as cases_one_visit,
        sum(case when is_zero_visit then 1 else 0 end) as cases_zero_visit,
        sum(case when is_on_time is not null then 1 else 0 end) as cases_deadline_known,
        sum(case when is_on_time then 1 else 0 end) as cases_on_time,
        avg(cast(processing_days as double)) as avg_processing_days,
        sum(case when has_rating then 1 else 0 end) as cases_rated,
        sum(case when rating >= 4 then 1 else 0 end) as cases_satisfied
    from cases
    where completed_at is not null
    group by rollup(completed_month, department)
),

completed_stats as (
    select * from completed_rollup
    where month_rolled_up = 0 and member is not null
),

indicator_values as (
    select
        'GS_CASES_SUBMITTED' as indicator_code,
        period,
        dimension,
        member,
        cast(cases_submitted as double) as metric_value,
        'count' as unit
    from submitted_stats
    union all
    select
        'GS_ONLINE_SHARE' as indicator_code,
        period,
        dimension,
        member,
        cast(cases_online as double) / nullif(cases_submitted, 0) as metric_value,
        'ratio' as unit
    from submitted_stats
    where cases_submitted > 0
    union all
    select
        'GS_CASES_COMPLETED' as indicator_code,
        period,
        dimension,
        member,
        cast(cases_completed as double) as metric_value,
        'count' as unit
    from completed_stats
    union all
    select
        'GS_ONE_VISIT_RATE' as indicator_code,
        period,
        dimension,
        member,
        cast(cases_one_visit as double) / nullif(cases_completed, 0) as metric_value,
        'ratio' as unit
    from completed_stats
    where cases_completed > 0
    union all
    select
        'GS_ZERO_VISIT_RATE' as indicator_code,
        period,
        dimension,
        member,
        cast(cases_zero_visit as double) / nullif(cases_completed, 0) as metric_value,
        'ratio' as unit
    from completed_stats
    where cases_completed > 0
    union all
    select
        'GS_ON_TIME_RATE' as indicator_code,
        period,
        dimension,
        member,
        cast(cases_on_time as double) / nullif(cases_deadline_known, 0) as metric_value,
        'ratio' as unit
    from completed_stats
    where cases_deadline_known > 0
    union all
    select
        'GS_AVG_PROCESSING_DAYS' as indicator_code,
        period,
        dimension,
        member,
        avg_processing_days as metric_value,
        'days' as unit
    from completed_stats
    where avg_processing_days is not null
    union all
    select
        'GS_SATISFACTION_RATE' as indicator_code,
        period,
        dimension,
        member,
        cast(cases_satisfied as double) / nullif(cases_rated, 0) as metric_value,
        'ratio' as unit
    from completed_stats
    where cases_rated > 0
),

final as (
    select
        cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
        cast('430406' as {{ dbt.type_string() }}) as region_code,
        cast(period as {{ dbt.type_string() }}) as period,
        cast('month' as {{ dbt.type_string() }}) as period_type,
        cast(dimension as {{ dbt.type_string() }}) as dimension,
        cast(member as {{ dbt.type_string() }}) as member,
        cast(metric_value as double) as value,  -- noqa: RF04
        cast(unit as {{ dbt.type_string() }}) as unit
    from indicator_values
)

select * from final

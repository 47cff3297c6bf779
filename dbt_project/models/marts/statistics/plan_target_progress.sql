-- plan_target_progress.sql: each plan target against its actual for every plan year from start_period to the
-- target year. Actuals are current annual values; achievement_ratio is actual / target for at_least targets
-- and target / actual for at_most ones (1 or more = reached); no ratio without an actual. gap_closed_ratio is
-- (actual - baseline) / (target - baseline), the baseline being the plan's figure or else the delivered actual.
with targets as (select * from {{ ref('plan_targets') }}),

actuals as (select * from {{ ref('int_plan_target_actuals') }}),

year_offsets as (
    {{ dbt.generate_series(50) }}
),

target_years as (
    select
        targets.*,
        cast(
            cast(targets.start_period as integer) + cast(year_offsets.generated_number as integer) - 1
            as {{ dbt.type_string() }}
        ) as actual_period
    from targets
    cross join year_offsets
    where
        cast(targets.start_period as integer) + cast(year_offsets.generated_number as integer) - 1
        <= cast(targets.period as integer)
),

compared as (
    select
        target_years.target_code,
        target_years.indicator_code,
        target_years.measure_code,
        target_years.region_code,
        target_years.actual_period as period,
        target_years.period as target_period,
        target_years.comparison,
        target_years.unit,
        cast(target_years.target_value as double) as target_value,
        actuals.value as actual_value,
        target_years.baseline_period,
        cast(target_years.baseline_value as double) as baseline_value,
        baseline_actuals.value as baseline_actual_value,
        target_years.name_zh,
        target_years.note
    from target_years
    left join actuals
        on
            target_years.measure_code = actuals.measure_code
            and target_years.region_code = actuals.region_code
            and target_years.actual_period = actuals.period
    left join actuals as baseline_actuals
        on
            target_years.measure_code = baseline_actuals.measure_code
            and target_years.region_code = baseline_actuals.region_code
            and target_years.baseline_period = baseline_actuals.period
),

final as (
    select
        target_code,
        indicator_code,
        measure_code,
        region_code,
        period,
        target_period,
        period = target_period as is_target_year,
        comparison,
        unit,
        target_value,
        actual_value,
        case
            when comparison = 'at_least' then actual_value / nullif(target_value, 0)
            when comparison = 'at_most' then target_value / nullif(actual_value, 0)
        end as achievement_ratio,
        case
            when actual_value is null then null
            when comparison = 'at_least' then actual_value >= target_value
            when comparison = 'at_most' then actual_value <= target_value
        end as is_achieved,
        baseline_period,
        baseline_value,
        baseline_actual_value,
        case
            -- only meaningful when the target lies beyond the baseline in the target's direction
            when
                (comparison = 'at_least' and target_value > coalesce(baseline_value, baseline_actual_value))
                or (comparison = 'at_most' and target_value < coalesce(baseline_value, baseline_actual_value))
                then
                    (actual_value - coalesce(baseline_value, baseline_actual_value))
                    / nullif(target_value - coalesce(baseline_value, baseline_actual_value), 0)
        end as gap_closed_ratio,
        name_zh,
        note
    from compared
)

select * from final
